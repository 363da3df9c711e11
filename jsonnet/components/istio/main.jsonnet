// Istio 1.26 control plane and ingress gateway as Kubeflow 1.10 installs it (common/istio),
// plus the kubeflow namespace and its kubeflow-gateway: istio is the root of the component graph.
local k = import 'k.libsonnet';
local crds = import 'crds.libsonnet';
local mesh = import 'mesh.libsonnet';

local fieldEnv(name, path) = { name: name, valueFrom: { fieldRef: { fieldPath: path } } };
local istioGroups = ['networking.istio.io', 'security.istio.io', 'telemetry.istio.io', 'extensions.istio.io'];

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
                        env=[k.env('REVISION', 'default'), k.env('PILOT_CERT_PROVIDER', 'istiod'),
                             fieldEnv('POD_NAME', 'metadata.name'), fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
                             fieldEnv('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
                             k.env('ISTIOD_ADDR', 'istiod.' + ns + '.svc:15012'), k.env('CLUSTER_ID', 'Kubernetes'),
                             k.env('INJECTION_WEBHOOK_CONFIG_NAME', 'istio-sidecar-injector')],
                        resources=k.resources('200m', '512Mi'),
                        volumeMounts=[{ name: 'config-volume', mountPath: '/etc/istio/config' },
                                      { name: 'inject', mountPath: '/var/lib/istio/inject', readOnly: true },
                                      { name: 'local-certs', mountPath: '/var/run/secrets/istio-dns' }])
            + { readinessProbe: k.httpProbe('/ready', 8080, 1) };
  [
    k.deployment('istiod', ns, [c], params.replicas, 'istiod', volumes=[
      { name: 'config-volume', configMap: { name: 'istio' } },
      { name: 'inject', configMap: { name: 'istio-sidecar-injector' } },
      { name: 'local-certs', emptyDir: { medium: 'Memory' } },
    ], labels={ app: 'istiod', istio: 'pilot' }),
    k.service('istiod', ns, [
      k.servicePort('grpc-xds', 15010), k.servicePort('https-dns', 15012),
      k.servicePort('https-webhook', 443, 'https-webhooks'), k.servicePort('http-monitoring', 15014),
    ]),
  ];

local ingressGateway(params) =
  local ns = params.namespace;
  local name = 'istio-ingressgateway';
  local sa = name + '-service-account';
  local c = k.container('istio-proxy', params.hub + '/proxyv2:' + params.istioVersion,
                        ports=[k.port('status-port', 15021), k.port('http2', 8080), k.port('https', 8443),
                               k.port('http-envoy-prom', 15090)],
                        args=['proxy', 'router', '--domain', ns + '.svc.' + params.clusterDomain,
                              '--proxyLogLevel=warning', '--log_output_level=default:info'],
                        env=[fieldEnv('POD_NAME', 'metadata.name'), fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
                             k.env('ISTIO_META_CLUSTER_ID', 'Kubernetes'), k.env('CA_ADDR', 'istiod.' + ns + '.svc:15012')],
                        resources=k.resources('100m', '128Mi', limitMemory='1Gi'))
            + { readinessProbe: k.httpProbe('/healthz/ready', 15021, 1) };
  [
    k.serviceAccount(sa, ns),
    k.role(sa, ns, [k.rule([''], ['secrets'], ['get', 'watch', 'list'])]),
    k.roleBinding(sa, ns, sa, [k.saSubject(sa, ns)]),
    k.deployment(name, ns, [c], params.replicas, sa,
                 labels={ app: name, istio: 'ingressgateway' }),
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

function(params)
  local ns = params.namespace;
  local kf = params.kubeflowNamespace;
  [
    k.namespace(ns),
    k.namespace(kf, { 'control-plane': 'kubeflow' }
                    + (if params.sidecarInjection then { 'istio-injection': 'enabled' } else {})),
    crds,
    istiodRbac(ns),
    mesh.configMaps(params),
    istiod(params),
    ingressGateway(params),
    injectorWebhook(params),
    security(ns),
    {
      apiVersion: 'networking.istio.io/v1', kind: 'Gateway',
      metadata: k.meta('kubeflow-gateway', kf),
      spec: {
        selector: { istio: 'ingressgateway' },
        servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: params.gatewayHosts }],
      },
    },
  ]
