// KServe v0.15 (upstream install/v0.15.0/kserve.yaml, configured for RawDeployment) plus the
// Kubeflow Models web app. Webhook certificates come from cert-manager.
local k = import 'k.libsonnet';
local crds = import 'crds.libsonnet';
local runtimes = import 'runtimes.libsonnet';

local group = 'serving.kserve.io';
local manager = 'kserve-controller-manager';
local webhookService = 'kserve-webhook-server-service';
local certSecret = 'kserve-webhook-server-cert';
local plurals = ['inferenceservices', 'servingruntimes', 'clusterservingruntimes', 'trainedmodels',
                 'inferencegraphs', 'clusterstoragecontainers', 'localmodelcaches'];

local json(x) = std.manifestJsonEx(x, '  ');
local inferenceServiceConfig(params) = k.configMap('inferenceservice-config', params.namespace, {
  deploy: json({ defaultDeploymentMode: params.deploymentMode }),
  storageInitializer: json({
    image: 'kserve/storage-initializer:' + params.imageTag, memoryRequest: '100Mi', memoryLimit: '1Gi',
    cpuRequest: '100m', cpuLimit: '1', enableDirectPvcVolumeMount: true,
  }),
  credentials: json({
    storageSpecSecretName: 'storage-config', storageSecretNameAnnotation: 'serving.kserve.io/storageSecretName',
    gcs: { gcsCredentialFileName: 'gcloud-application-credentials.json' },
    s3: { s3AccessKeyIDName: 'AWS_ACCESS_KEY_ID', s3SecretAccessKeyName: 'AWS_SECRET_ACCESS_KEY',
          s3Endpoint: '', s3UseHttps: '', s3Region: '', s3VerifySSL: '', s3UseVirtualBucket: '' },
  }),
  ingress: json({
    enableGatewayApi: false, ingressGateway: params.gateway,
    localGateway: 'istio-system/knative-local-gateway',
    localGatewayService: 'knative-local-gateway.istio-system.svc.cluster.local',
    ingressDomain: params.ingressDomain, ingressClassName: 'istio', domainTemplate: '{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}',
    urlScheme: 'http', disableIstioVirtualHost: false, disableIngressCreation: false,
  }),
  logger: json({ image: 'kserve/agent:' + params.imageTag, memoryRequest: '100Mi', memoryLimit: '1Gi',
                 cpuRequest: '100m', cpuLimit: '1', defaultUrl: 'http://default-broker' }),
  batcher: json({ image: 'kserve/agent:' + params.imageTag, memoryRequest: '1Gi', memoryLimit: '1Gi',
                  cpuRequest: '1', cpuLimit: '1', maxBatchSize: '32', maxLatency: '5000' }),
  agent: json({ image: 'kserve/agent:' + params.imageTag, memoryRequest: '100Mi', memoryLimit: '1Gi',
                cpuRequest: '100m', cpuLimit: '1' }),
  router: json({ image: 'kserve/router:' + params.imageTag, memoryRequest: '100Mi', memoryLimit: '1Gi',
                 cpuRequest: '100m', cpuLimit: '1', headers: { propagate: [] } }),
  explainers: json({ art: { image: 'kserve/art-explainer', defaultImageVersion: params.imageTag } }),
  metricsAggregator: json({ enableMetricAggregation: 'false', enablePrometheusScraping: 'false' }),
  inferenceService: json({ resource: { cpuLimit: '1', memoryLimit: '2Gi', cpuRequest: '1', memoryRequest: '2Gi' } }),
  security: json({ autoMountServiceAccountToken: true }),
});

local managerRules = [
  k.rule([''], ['configmaps', 'secrets', 'serviceaccounts'], k.readVerbs),
  k.rule([''], ['events'], ['create', 'patch']),
  k.rule([''], ['namespaces', 'pods'], k.readVerbs),
  k.rule([''], ['services'], k.allVerbs),
  k.rule([''], ['persistentvolumes', 'persistentvolumeclaims'], k.allVerbs),
  k.rule(['apps'], ['deployments'], k.allVerbs),
  k.rule(['autoscaling'], ['horizontalpodautoscalers'], k.allVerbs),
  k.rule(['networking.k8s.io'], ['ingresses'], k.allVerbs),
  k.rule(['networking.istio.io'], ['virtualservices', 'virtualservices/finalizers', 'virtualservices/status'], k.allVerbs),
  k.rule(['keda.sh'], ['scaledobjects'], k.allVerbs),
  k.rule(['serving.knative.dev'], ['services', 'services/finalizers', 'services/status'], k.allVerbs),
  k.rule(['admissionregistration.k8s.io'], ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'],
         ['get', 'list', 'watch', 'update', 'patch']),
  k.rule([group], plurals, k.allVerbs),
  k.rule([group], [p + '/status' for p in plurals] + [p + '/finalizers' for p in plurals],
         ['get', 'update', 'patch']),
];

local aggregateTo(role) = { ['rbac.authorization.kubeflow.org/aggregate-to-' + role]: 'true' };
local userRoles = [
  k.clusterRole('kubeflow-kserve-admin', [], aggregateTo('kubeflow-admin')) + {
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: aggregateTo('kubeflow-kserve-admin') }] },
  },
  k.clusterRole('kubeflow-kserve-edit', [
    k.rule([group], ['inferenceservices', 'servingruntimes', 'trainedmodels', 'inferencegraphs'],
           ['get', 'list', 'watch', 'create', 'delete', 'deletecollection', 'patch', 'update']),
  ], aggregateTo('kubeflow-edit') + aggregateTo('kubeflow-kserve-admin')),
  k.clusterRole('kubeflow-kserve-view', [
    k.rule([group], ['inferenceservices', 'servingruntimes', 'trainedmodels', 'inferencegraphs',
                     'clusterservingruntimes'], k.readVerbs),
  ], aggregateTo('kubeflow-view')),
];

local controller(params) =
  local ns = params.namespace;
  local container = k.container(
    'manager', 'kserve/kserve-controller:' + params.imageTag,
    ports=[k.port('webhook-server', 9443), k.port('metrics', 8080), k.port('healthz', 8081)],
    command=['/manager'], args=['--metrics-addr=:8080', '--leader-elect'],
    env=[{ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
         k.env('SECRET_NAME', certSecret)],
    resources=k.resources('100m', '300Mi', limitMemory='1Gi'),
    volumeMounts=[{ name: 'cert', mountPath: '/tmp/k8s-webhook-server/serving-certs', readOnly: true }],
  ) + { readinessProbe: k.httpProbe('/readyz', 'healthz', 10), livenessProbe: k.httpProbe('/healthz', 'healthz', 15),
        securityContext+: { privileged: false, readOnlyRootFilesystem: true } };
  [
    k.serviceAccount(manager, ns),
    k.clusterRole('kserve-manager-role', managerRules),
    k.clusterRoleBinding('kserve-manager-rolebinding', 'kserve-manager-role', [k.saSubject(manager, ns)]),
    k.role('kserve-leader-election-role', ns, [
      k.rule(['coordination.k8s.io'], ['leases'], k.allVerbs),
      k.rule([''], ['configmaps'], k.allVerbs),
      k.rule([''], ['events'], ['create', 'patch']),
    ]),
    k.roleBinding('kserve-leader-election-rolebinding', ns, 'kserve-leader-election-role', [k.saSubject(manager, ns)]),
    k.service(manager + '-metrics-service', ns, [k.servicePort('metrics', 8080, 'metrics')], selectorName=manager)
    + { metadata+: { annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080' } } },
    k.service(webhookService, ns, [k.servicePort('https', 443, 'webhook-server')], selectorName=manager),
    k.deployment(manager, ns, [container], params.replicas, sa=manager,
                 volumes=[{ name: 'cert', secret: { secretName: certSecret, defaultMode: 420 } }],
                 podExtra={ terminationGracePeriodSeconds: 10, securityContext: { runAsNonRoot: true } })
    + { spec+: { template+: { metadata+: { annotations: { 'sidecar.istio.io/inject': 'false' } } } } },
  ];

local webhooks(params) =
  local ns = params.namespace;
  local cc(path) = k.webhookClientConfig(webhookService, ns, path);
  local inject = { 'cert-manager.io/inject-ca-from': ns + '/kserve-serving-cert' };
  local validating(resource, version, path) = k.validatingWebhookConfiguration(resource + '.' + group, [
    k.webhook(resource + '.kserve-webhook-server.validator', cc(path),
              [k.webhookRule([group], [version], [resource + 's'])], params.webhookFailurePolicy),
  ], inject);
  [
    k.mutatingWebhookConfiguration('inferenceservice.' + group, [
      k.webhook('inferenceservice.kserve-webhook-server.defaulter',
                cc('/mutate-serving-kserve-io-v1beta1-inferenceservice'),
                [k.webhookRule([group], ['v1beta1'], ['inferenceservices'])], params.webhookFailurePolicy),
      k.webhook('inferenceservice.kserve-webhook-server.pod-mutator', cc('/mutate-pods'),
                [k.webhookRule([''], ['v1'], ['pods'], ['CREATE'])], params.webhookFailurePolicy,
                namespaceSelector={ matchExpressions: [{ key: 'control-plane', operator: 'DoesNotExist' }] },
                objectSelector={ matchExpressions: [{ key: 'serving.kserve.io/inferenceservice', operator: 'Exists' }] }),
    ], inject),
    validating('inferenceservice', 'v1beta1', '/validate-serving-kserve-io-v1beta1-inferenceservice'),
    validating('trainedmodel', 'v1alpha1', '/validate-serving-kserve-io-v1alpha1-trainedmodel'),
    validating('inferencegraph', 'v1alpha1', '/validate-serving-kserve-io-v1alpha1-inferencegraph'),
    validating('servingruntime', 'v1alpha1', '/validate-serving-kserve-io-v1alpha1-servingruntime'),
    validating('clusterservingruntime', 'v1alpha1', '/validate-serving-kserve-io-v1alpha1-clusterservingruntime'),
  ];

local certificates(ns) = [
  { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: k.meta('kserve-selfsigned-issuer', ns),
    spec: { selfSigned: {} } },
  { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: k.meta('kserve-serving-cert', ns),
    spec: {
      commonName: webhookService + '.' + ns + '.svc',
      dnsNames: [webhookService + '.' + ns + '.svc', webhookService + '.' + ns + '.svc.cluster.local'],
      issuerRef: { kind: 'Issuer', name: 'kserve-selfsigned-issuer' },
      secretName: certSecret,
    } },
];

local modelsWebApp(params) =
  local ns = params.namespace;
  local name = 'kserve-models-web-app';
  local container = k.container(
    name, params.modelsWebAppImage, ports=[k.port('http', 5000)],
    resources=k.resources('50m', '128Mi', limitMemory='512Mi'),
  ) + k.runAs(1000) + { envFrom: [{ configMapRef: { name: name + '-config' } }],
                        readinessProbe: k.httpProbe('/healthz/readiness', 'http', 5),
                        livenessProbe: k.httpProbe('/healthz/liveness', 'http', 15) };
  [
    k.serviceAccount(name, ns),
    k.clusterRole(name, [
      k.rule(['authorization.k8s.io'], ['subjectaccessreviews'], ['create']),
      k.rule([''], ['namespaces', 'pods', 'pods/log', 'events'], k.readVerbs),
      k.rule([group], ['inferenceservices', 'inferenceservices/status'], k.readVerbs + ['create', 'delete', 'patch']),
      k.rule(['serving.knative.dev'], ['services', 'routes', 'configurations', 'revisions'], k.readVerbs),
      k.rule(['apps'], ['deployments'], k.readVerbs),
    ]),
    k.clusterRoleBinding(name, name, [k.saSubject(name, ns)]),
    k.configMap(name + '-config', ns, {
      APP_DISABLE_AUTH: 'False', APP_PREFIX: '/kserve-endpoints', APP_SECURE_COOKIES: 'True',
      USERID_HEADER: 'kubeflow-userid', USERID_PREFIX: '',
    }),
    k.service(name, ns, [k.servicePort('http', 80, 'http')]),
    k.deployment(name, ns, [container], params.replicas, sa=name),
    {
      apiVersion: 'networking.istio.io/v1beta1', kind: 'VirtualService', metadata: k.meta(name, ns),
      spec: {
        gateways: [params.gateway], hosts: ['*'],
        http: [{
          match: [{ uri: { prefix: '/kserve-endpoints/' } }], rewrite: { uri: '/' },
          route: [{ destination: { host: name + '.' + ns + '.svc.cluster.local', port: { number: 80 } } }],
        }],
      },
    },
    {
      apiVersion: 'security.istio.io/v1beta1', kind: 'AuthorizationPolicy', metadata: k.meta(name, ns),
      spec: {
        selector: { matchLabels: k.labels(name) },
        rules: [{ from: [{ source: { principals: [
          'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account',
        ] } }] }],
      },
    },
  ];

function(params)
  assert params.deploymentMode == 'RawDeployment' || params.deploymentMode == 'Serverless' :
         'kserve: param deploymentMode must be RawDeployment or Serverless, got ' + params.deploymentMode;
  [
    crds,
    userRoles,
    inferenceServiceConfig(params),
    certificates(params.namespace),
    controller(params),
    runtimes.all(params),
    if params.modelsWebApp then modelsWebApp(params) else [],
    webhooks(params),
    k.allowIngress('kserve', params.namespace, 'kserve-controller-manager', ports=[9443]),  // the API server
    if params.modelsWebApp then
      k.allowIngress('kserve-models-web-app', params.namespace, 'kserve-models-web-app', [k.peers.namespace('istio-system')])
    else [],
  ]
