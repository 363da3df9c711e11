// Kubeflow Training Operator v1.9 (upstream manifests/overlays/kubeflow). The operator manages its
// own webhook serving certificate (cert-controller) in the Secret training-operator-webhook-cert
// and injects the caBundle into the webhook configuration, so it needs no cert-manager.
local k = import 'k.libsonnet';
local crds = import 'crds.libsonnet';

local name = 'training-operator';
local webhookSecret = 'training-operator-webhook-cert';
local webhookConfig = 'validator.training-operator.kubeflow.org';
local plurals = [crds.plural(kind) for kind in crds.kinds];

local rules = [
  k.rule([''], ['configmaps', 'events', 'pods', 'services', 'serviceaccounts'], k.allVerbs),
  k.rule([''], ['pods/exec'], ['create']),
  k.rule([''], ['secrets'], ['get', 'list', 'watch', 'create', 'update']),
  k.rule(['kubeflow.org'], plurals, k.allVerbs),
  k.rule(['kubeflow.org'], [p + '/status' for p in plurals] + [p + '/finalizers' for p in plurals],
         ['get', 'update', 'patch']),
  k.rule(['rbac.authorization.k8s.io'], ['roles', 'rolebindings'], ['get', 'list', 'watch', 'create', 'update']),
  k.rule(['autoscaling'], ['horizontalpodautoscalers'], k.allVerbs),
  k.rule(['scheduling.volcano.sh'], ['podgroups'], k.allVerbs),
  k.rule(['scheduling.x-k8s.io'], ['podgroups'], k.allVerbs),
  k.rule(['scheduling.k8s.io'], ['priorityclasses'], k.readVerbs),
  k.rule(['admissionregistration.k8s.io'], ['validatingwebhookconfigurations'], ['get', 'list', 'watch', 'update']),
  k.rule(['coordination.k8s.io'], ['leases'], k.allVerbs),
];

// kubeflow-training-* roles aggregate into the Kubeflow profile roles (admin > edit > view).
local aggregateTo(role) = { ['rbac.authorization.kubeflow.org/aggregate-to-' + role]: 'true' };
local userRoles = [
  k.clusterRole('kubeflow-training-admin', [], aggregateTo('kubeflow-admin')) + {
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: aggregateTo('kubeflow-training-admin') }] },
  },
  k.clusterRole('kubeflow-training-edit', [
    k.rule(['kubeflow.org'], plurals, ['get', 'list', 'watch', 'create', 'delete', 'deletecollection', 'patch', 'update']),
    k.rule([''], ['pods', 'pods/log', 'events'], k.readVerbs),
  ], aggregateTo('kubeflow-edit') + aggregateTo('kubeflow-training-admin')),
  k.clusterRole('kubeflow-training-view', [
    k.rule(['kubeflow.org'], plurals + [p + '/status' for p in plurals], k.readVerbs),
  ], aggregateTo('kubeflow-view')),
];

// The operator serves validation for these kinds only (none for MPIJob): with Fail, a webhook
// for a path it does not serve would reject every such job.
local validatedKinds = ['JAXJob', 'PaddleJob', 'PyTorchJob', 'TFJob', 'XGBoostJob'];
local webhooks(params) = [
  k.webhook('validator.' + std.asciiLower(kind) + '.training-operator.kubeflow.org',
            k.webhookClientConfig(name, params.namespace, '/validate-kubeflow-org-v1-' + std.asciiLower(kind)),
            [k.webhookRule(['kubeflow.org'], ['v1'], [crds.plural(kind)])],
            params.webhookFailurePolicy)
  for kind in validatedKinds
];

local deployment(params) =
  local args = ['--metrics-bind-address=:8080', '--health-probe-bind-address=:8081', '--leader-elect',
                '--webhook-server-port=9443', '--webhook-service-name=' + name,
                '--webhook-secret-name=' + webhookSecret]
               + (if params.gangScheduler != '' then ['--gang-scheduler-name=' + params.gangScheduler] else []);
  local container = k.container(
    name, params.image,
    ports=[k.port('metrics', 8080), k.port('healthz', 8081), k.port('webhook-server', 9443)],
    command=['/manager'], args=args,
    env=[
      { name: 'MY_POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'MY_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ],
    resources=k.resources('100m', '128Mi', limitMemory='512Mi'),
    volumeMounts=[{ name: 'cert', mountPath: '/tmp/k8s-webhook-server/serving-certs', readOnly: true }],
  ) + k.runAs(65532) + {
    readinessProbe: k.httpProbe('/readyz', 8081, 10),
    livenessProbe: k.httpProbe('/healthz', 8081, 15),
  };
  k.deployment(name, params.namespace, [container], params.replicas, sa=name,
               volumes=[{ name: 'cert', secret: { secretName: webhookSecret, defaultMode: 420 } }],
               podExtra={ terminationGracePeriodSeconds: 10 })
  + { spec+: { template+: { metadata+: { annotations: { 'sidecar.istio.io/inject': 'false' } } } } };

function(params)
  local ns = params.namespace;
  [
    crds.all,
    k.controllerRbac(name, ns, rules),
    userRoles,
    k.secret(webhookSecret, ns, {}),
    k.service(name, ns, [
      k.servicePort('monitoring-port', 8080, 'metrics'),
      k.servicePort('webhook-server', 443, 'webhook-server'),
    ]) + { metadata+: { annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080',
                                       'prometheus.io/path': '/metrics' } } },
    deployment(params),
    k.validatingWebhookConfiguration(webhookConfig, webhooks(params)),
    k.allowIngress('training-operator-webhook', ns, name, ports=[9443]),  // the API server
  ]
