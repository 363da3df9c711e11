// Istio 1.26 control plane and ingress gateway as Kubeflow 1.10 installs it (common/istio),
// plus the kubeflow namespace and its kubeflow-gateway: istio is the root of the component graph.
local k = import 'k.libsonnet';
local crds = import 'crds.libsonnet';
local mesh = import 'mesh.libsonnet';
local proxy = import 'proxy.libsonnet';
local cni = import 'cni.libsonnet';

local fieldEnv(name, path) = { name: name, valueFrom: { fieldRef: { fieldPath: path } } };
local istioGroups = ['networking.istio.io', 'security.istio.io', 'telemetry.istio.io', 'extensions.istio.io'];

local noSidecar = { spec+: { template+: { metadata+: { annotations+: { 'sidecar.istio.io/inject': 'false' } } } } };

local istiodRbac(ns) = [
  k.serviceAccount('istiod', ns),
  k.clusterRole('istiod-clusterrole-' + ns, [
    k.rule(['admissionregistration.k8s.io'], ['mutatingwebhookconfigurations'], ['get', 'list', 'watch', 'update', 'patch']),
    k.rule(['admissionregistration.k8s.io'], ['validatingwebhookconfigurations'], ['get', 'list', 'watch', 'update']),
    k.rule(istioGroups, ['*'], k.readVerbs),
    k.rule(istioGroups, ['*/status'], ['get', 'update', 'patch']),
    k.rule(['apiextensions.k8s.io'], ['customresourcedefinitions'], k.readVerbs),
    k.rule([''], ['pods', 'nodes', 'services', 'namespaces', 'endpoints'], k.readVerbs),
    k.rule(['discovery.k8s.io'], ['endpointslices'], k.readVerbs),
    k.rule(['networking.k8s.io'], ['ingresses', 'ingressclasses'], k.readVerbs),
    k.rule(['networking.k8s.io'], ['ingresses/status'], ['*']),
    k.rule([''], ['configmaps'], ['create', 'get', 'list', 'watch', 'update']),
    k.rule(['certificates.k8s.io'], ['certificatesigningrequests'], ['update', 'create', 'get', 'delete', 'watch']),
    k.rule(['certificates.k8s.io'], ['certificatesigningrequests/approval', 'certificatesigningrequests/status'], ['update', 'patch']),
    k.rule(['authentication.k8s.io'], ['tokenreviews'], ['create']),
    k.rule(['authorization.k8s.io'], ['subjectaccessreviews'], ['create']),
    k.rule(['gateway.networking.k8s.io'], ['*'], k.readVerbs),
    k.rule(['gateway.networking.k8s.io'], ['*/status'], ['update', 'patch']),
    k.rule([''], ['secrets'], ['get', 'watch', 'list']),
    k.rule([''], ['serviceaccounts'], k.readVerbs),
  ]),
  k.clusterRoleBinding('istiod-clusterrole-' + ns, 'istiod-clusterrole-' + ns, [k.saSubject('istiod', ns)]),
  k.role('istiod', ns, [
    k.rule([''], ['configmaps'], ['create', 'get', 'list', 'watch', 'update', 'delete']),
    k.rule([''], ['secrets'], ['create', 'get', 'watch', 'list', 'update', 'delete']),
    k.rule(['coordination.k8s.io'], ['leases'], ['get', 'update', 'patch', 'create']),
  ]),
  k.roleBinding('istiod', ns, 'istiod', [k.saSubject('istiod', ns)]),
];

local istiod(params) =
  local ns = params.namespace;
  local c = k.container('discovery', params.hub + '/pilot:' + params.istioVersion,
                        ports=[k.port('http-debug', 8080), k.port('grpc-xds', 15010), k.port('tls-xds', 15012),
                               k.port('https-webhooks', 15017), k.port('http-monitoring', 15014)],
                        args=['discovery', '--monitoringAddr=:15014', '--log_output_level=default:info',
                              '--domain', params.clusterDomain, '--keepaliveMaxServerConnectionAge', '30m'],
                        env=[k.env('ENABLE_NATIVE_SIDECARS', 'true'), k.env('ENABLE_DEBUG_ON_HTTP', 'false'),
                             k.env('PILOT_ENABLE_ANALYSIS', 'false'), k.env('ISTIO_CNI_ENABLED', params.istioCni),
                             k.env('REVISION', 'default'), k.env('PILOT_CERT_PROVIDER', 'istiod'),
                             fieldEnv('POD_NAME', 'metadata.name'), fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
                             fieldEnv('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
                             k.env('ISTIOD_ADDR', 'istiod.' + ns + '.svc:15012'), k.env('CLUSTER_ID', 'Kubernetes'),
                             k.env('INJECTION_WEBHOOK_CONFIG_NAME', 'istio-sidecar-injector')],
                        resources=k.resources('200m', '512Mi'),
                        securityContext=k.hardened(),
                        volumeMounts=[{ name: 'config-volume', mountPath: '/etc/istio/config' },
                                      { name: 'inject', mountPath: '/var/lib/istio/inject', readOnly: true },
                                      { name: 'istio-token', mountPath: '/var/run/secrets/tokens', readOnly: true },
                                      { name: 'local-certs', mountPath: '/var/run/secrets/istio-dns' },
                                      { name: 'cacerts', mountPath: '/etc/cacerts', readOnly: true }])
            + { readinessProbe: k.httpProbe('/ready', 8080, 1) + { periodSeconds: 3, timeoutSeconds: 5 },
                securityContext+: { readOnlyRootFilesystem: true } };
  [
    k.deployment('istiod', ns, [c], params.replicas, 'istiod', volumes=[
      { name: 'config-volume', configMap: { name: 'istio' } },
      { name: 'inject', configMap: { name: 'istio-sidecar-injector' } },
      { name: 'local-certs', emptyDir: { medium: 'Memory' } },
      std.filter(function(v) v.name == 'istio-token', proxy.volumes)[0],
      // A CA of your own (plug-in certificates); istiod signs with a self-generated root without it.
      { name: 'cacerts', secret: { secretName: 'cacerts', optional: true } },
    ], labels={ app: 'istiod', istio: 'pilot' }, podExtra={
      tolerations: [{ key: 'cni.istio.io/not-ready', operator: 'Exists' }],
    }) + noSidecar,
    k.service('istiod', ns, [
      k.servicePort('grpc-xds', 15010), k.servicePort('https-dns', 15012),
      k.servicePort('https-webhook', 443, 'https-webhooks'), k.servicePort('http-monitoring', 15014),
    ]),
  ];

// The gateway is an istio-agent + envoy pod of its own (no injection), so it carries the same
// token, root certificate and bootstrap volumes as an injected sidecar.
local ingressGateway(params) =
  local ns = params.namespace;
  local name = 'istio-ingressgateway';
  local sa = name + '-service-account';
  local certs(n) = { name: n, secret: { secretName: 'istio-' + n, optional: true } };
  local c = k.container('istio-proxy', params.hub + '/proxyv2:' + params.istioVersion,
                        ports=[k.port('status-port', 15021), k.port('http2', 8080), k.port('https', 8443),
                               k.port('http-envoy-prom', 15090)],
                        args=['proxy', 'router', '--domain', '$(POD_NAMESPACE).svc.' + params.clusterDomain,
                              '--proxyLogLevel=warning', '--proxyComponentLogLevel=misc:error',
                              '--log_output_level=default:info'],
                        env=proxy.env(params) + [
                          k.env('ISTIO_META_WORKLOAD_NAME', name),
                          k.env('ISTIO_META_OWNER', 'kubernetes://apis/apps/v1/namespaces/' + ns + '/deployments/' + name),
                          k.env('ISTIO_META_UNPRIVILEGED_POD', 'true'),
                        ],
                        resources=proxy.resources,
                        volumeMounts=proxy.volumeMounts + [
                          { name: 'config-volume', mountPath: '/etc/istio/config' },
                          { name: 'ingressgateway-certs', mountPath: '/etc/istio/ingressgateway-certs', readOnly: true },
                          { name: 'ingressgateway-ca-certs', mountPath: '/etc/istio/ingressgateway-ca-certs', readOnly: true },
                        ],
                        securityContext=proxy.securityContext)
            + { readinessProbe: proxy.readinessProbe };
  local canonical = { 'service.istio.io/canonical-name': name, 'service.istio.io/canonical-revision': 'latest' };
  [
    k.serviceAccount(sa, ns),
    k.role(sa, ns, [k.rule([''], ['secrets'], ['get', 'watch', 'list'])]),
    k.roleBinding(sa, ns, sa, [k.saSubject(sa, ns)]),
    k.deployment(name, ns, [c], params.replicas, sa,
                 volumes=proxy.volumes + [
                   { name: 'config-volume', configMap: { name: 'istio', optional: true } },
                   certs('ingressgateway-certs'), certs('ingressgateway-ca-certs'),
                 ],
                 labels={ app: name, istio: 'ingressgateway' },
                 podExtra={ securityContext: { runAsUser: proxy.uid, runAsGroup: proxy.uid, runAsNonRoot: true } })
    + noSidecar
    + { spec+: { template+: { metadata+: { labels+: canonical + { 'istio.io/rev': 'default' } } } } },
    k.service(name, ns, [
      k.servicePort('status-port', 15021), k.servicePort('http2', 80, 8080), k.servicePort('https', 443, 8443),
    ], type=params.gatewayServiceType, labels={ app: name, istio: 'ingressgateway' }),
  ];

local injectorWebhook(params) =
  k.mutatingWebhookConfiguration('istio-sidecar-injector', [
    k.webhook('namespace.sidecar-injector.istio.io',
              k.webhookClientConfig('istiod', params.namespace, '/inject'),
              [k.webhookRule([''], ['v1'], ['pods'], ['CREATE'])],
              params.webhookFailurePolicy,
              namespaceSelector={ matchLabels: { 'istio-injection': 'enabled' } },
              objectSelector={ matchExpressions: [{ key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] }] })
    + { reinvocationPolicy: 'Never' },
  ])
  // istiod patches the caBundle of injector configurations labelled with its revision.
  + { metadata+: { labels+: { app: 'sidecar-injector', 'istio.io/rev': 'default' } } };

local security(ns) = [
  { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication',
    metadata: k.meta('default', ns), spec: { mtls: { mode: 'STRICT' } } },
  // Deny by default mesh-wide; each component allows its own traffic (as Kubeflow 1.10 does).
  { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy',
    metadata: k.meta('global-deny-all', ns), spec: {} },
  { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy',
    metadata: k.meta('istio-ingressgateway', ns),
    spec: { action: 'ALLOW', rules: [{}], selector: { matchLabels: { app: 'istio-ingressgateway' } } } },
];

// Every injected pod dials istiod (xds, CA), the API server its webhook; the gateway takes traffic
// from the load balancer or node ports.
local network(params) = [
  k.allowSameNamespace(params.namespace),
  k.allowIngress('istiod', params.namespace, 'istiod', ports=[15010, 15012, 15014, 15017]),
  k.allowIngress('istio-ingressgateway', params.namespace, 'istio-ingressgateway', ports=[8080, 8443, 15021]),
  k.allowSameNamespace(params.kubeflowNamespace),
];

function(params)
  local ns = params.namespace;
  local kf = params.kubeflowNamespace;
  [
    k.namespace(ns, { 'istio-injection': 'disabled' }),
    // baseline, as upstream: injected pods need no capability when istio-cni captures their traffic.
    k.namespace(kf, { 'control-plane': 'kubeflow' }
                    + (if params.sidecarInjection then { 'istio-injection': 'enabled' } else {}),
                podSecurity=if params.istioCni then 'baseline' else 'privileged'),
    crds,
    istiodRbac(ns),
    mesh.configMaps(params),
    istiod(params),
    ingressGateway(params),
    injectorWebhook(params),
    if params.istioCni then cni(params) else [],
    network(params),
    security(ns),
    {
      apiVersion: 'networking.istio.io/v1', kind: 'Gateway',
      metadata: k.meta('kubeflow-gateway', kf),
      spec: {
        selector: { istio: 'ingressgateway' },
        servers: if params.tls then [
          { port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: params.gatewayHosts,
            tls: { mode: 'SIMPLE', credentialName: params.tlsCredentialName } },
          { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: params.gatewayHosts, tls: { httpsRedirect: true } },
        ] else [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: params.gatewayHosts }],
      },
    },
  ]
