// Multi-user mode: metacontroller and the kubeflow-pipelines-profile-controller DecoratorController
// that provisions per-profile pipeline resources (see sync.py).
local k = import 'k.libsonnet';
local c = import 'common.libsonnet';

local mcGroup = 'metacontroller.k8s.io';
// *.k8s.io groups are protected: the API server requires this annotation (as upstream ships it).
local approved = { metadata+: { annotations+: {
  'api-approved.kubernetes.io': 'unapproved, request not yet submitted',
} } };
local mcCrds = std.map(function(crd) crd + approved, [
  k.crd(mcGroup, 'CompositeController', 'compositecontrollers', [k.crdVersion('v1alpha1')],
        scope='Cluster', shortNames=['cc', 'cctl']),
  k.crd(mcGroup, 'DecoratorController', 'decoratorcontrollers', [k.crdVersion('v1alpha1')],
        scope='Cluster', shortNames=['dec', 'decorators']),
  k.crd(mcGroup, 'ControllerRevision', 'controllerrevisions',
        [k.crdVersion('v1alpha1',
                      schema={ type: 'object', 'x-kubernetes-preserve-unknown-fields': true })]),
]);

// The profile controller's children: metacontroller needs exactly these kinds, cluster-wide.
local mcRules = [
  k.rule([mcGroup], ['compositecontrollers', 'compositecontrollers/status', 'decoratorcontrollers',
                     'decoratorcontrollers/status', 'controllerrevisions'], k.allVerbs),
  k.rule([''], ['namespaces'], ['get', 'list', 'watch', 'update', 'patch']),
  k.rule([''], ['secrets', 'configmaps', 'services'], k.allVerbs),
  k.rule(['apps'], ['deployments'], k.allVerbs),
  k.rule([''], ['events'], ['create', 'patch']),
  k.rule(['coordination.k8s.io'], ['leases'], k.allVerbs),
];

local metacontroller(params) =
  local ns = params.namespace;
  local container = k.container(
    'metacontroller', params.metacontrollerImage,
    ports=[k.port('metrics', 9999), k.port('health', 8081)],
    command=['/usr/bin/metacontroller'],
    args=['--zap-log-level=4', '--discovery-interval=3600s', '--health-probe-bind-address=:8081',
          '--metrics-address=:9999'],
    resources=k.resources('50m', '128Mi', limitMemory='512Mi'),
  ) + c.probes('/healthz', 'health', 5)
    + { securityContext+: { privileged: false, readOnlyRootFilesystem: true, runAsUser: 1000 } };
  [
    mcCrds,
    k.controllerRbac('meta-controller-service', ns, mcRules),
    k.statefulSet('metacontroller', ns, [container], serviceName='', sa='meta-controller-service')
    + c.noSidecar,
  ];

local profileController(params) =
  local ns = params.namespace;
  local name = 'kubeflow-pipelines-profile-controller';
  local container = k.container(
    name, params.profileControllerImage, ports=[k.port('http', 8080)],
    command=['python', '/hooks/sync.py'],
    env=[c.secretEnv('MINIO_ACCESS_KEY', 'mlpipeline-minio-artifact', 'accesskey'),
         c.secretEnv('MINIO_SECRET_KEY', 'mlpipeline-minio-artifact', 'secretkey')],
    resources=k.resources('10m', '64Mi', limitMemory='256Mi'),
    volumeMounts=[{ name: 'hooks', mountPath: '/hooks', readOnly: true }],
  ) + k.runAs(1000, 0) + { envFrom: [{ configMapRef: { name: name + '-env' } }] } + c.probes('/', 'http', 5);
  [
    k.configMap(name + '-code', ns, { 'sync.py': importstr 'sync.py' }),
    k.configMap(name + '-env', ns, {
      KFP_VERSION: params.imageTag, FRONTEND_IMAGE: params.registry + '/kfp-frontend',
      KFP_DEFAULT_PIPELINE_ROOT: c.defaultPipelineRoot(params), PIPELINES_NAMESPACE: ns,
    }),
    k.service(name, ns, [k.servicePort('http', 80, 'http')]),
    // Called by metacontroller, which runs outside the mesh.
    k.deployment(name, ns, [container], params.replicas,
                 volumes=[{ name: 'hooks', configMap: { name: name + '-code' } }]) + c.noSidecar,
    {
      apiVersion: mcGroup + '/v1alpha1', kind: 'DecoratorController',
      metadata: k.meta(name),
      spec: {
        resources: [{ apiVersion: 'v1', resource: 'namespaces', labelSelector: { matchExpressions: [
          { key: 'pipelines.kubeflow.org/enabled', operator: 'In', values: ['true'] },
        ] } }],
        attachments: [
          { apiVersion: 'v1', resource: 'secrets', updateStrategy: { method: 'OnDelete' } },
          { apiVersion: 'v1', resource: 'configmaps', updateStrategy: { method: 'OnDelete' } },
          { apiVersion: 'apps/v1', resource: 'deployments', updateStrategy: { method: 'InPlace' } },
          { apiVersion: 'v1', resource: 'services', updateStrategy: { method: 'InPlace' } },
        ],
        hooks: { sync: { webhook: { url: 'http://' + name + '.' + ns + '/sync' } } },
        resyncPeriodSeconds: 3600,
      },
    },
  ];

{
  all(params):: if params.multiUser then [metacontroller(params), profileController(params)] else [],
}
