// The pipelines UI, the Viewer CRD controller (TensorBoard viewers) and the visualization server.
local k = import 'k.libsonnet';
local c = import 'common.libsonnet';

local ui(params) =
  local ns = params.namespace;
  local container = k.container(
    'ml-pipeline-ui', c.image(params, 'kfp-frontend'), ports=[k.port('http', 3000)],
    env=[
      k.env('VIEWER_TENSORBOARD_POD_TEMPLATE_SPEC_PATH', '/etc/config/viewer-pod-template.json'),
      k.env('DEPLOYMENT', 'KUBEFLOW'),
      k.env('ARTIFACTS_SERVICE_PROXY_NAME', 'ml-pipeline-ui-artifact'),
      k.env('ARTIFACTS_SERVICE_PROXY_PORT', '80'),
      k.env('ARTIFACTS_SERVICE_PROXY_ENABLED', params.multiUser),
      k.env('ENABLE_AUTHZ', params.multiUser),
      k.env('KUBEFLOW_USERID_HEADER', 'kubeflow-userid'), k.env('KUBEFLOW_USERID_PREFIX', ''),
      c.fieldEnv('MINIO_NAMESPACE', 'metadata.namespace'),
      c.secretEnv('MINIO_ACCESS_KEY', 'mlpipeline-minio-artifact', 'accesskey'),
      c.secretEnv('MINIO_SECRET_KEY', 'mlpipeline-minio-artifact', 'secretkey'),
      k.env('ALLOW_CUSTOM_VISUALIZATIONS', 'true'),
      c.fieldEnv('FRONTEND_SERVER_NAMESPACE', 'metadata.namespace'),
    ],
    resources=k.resources('10m', '70Mi', limitMemory='512Mi'),
    volumeMounts=[{ name: 'config-volume', mountPath: '/etc/config', readOnly: true }],
  ) + k.runAs(1000, 0) + c.probes('/apis/v1beta1/healthz', 'http', 3);
  [
    k.serviceAccount('ml-pipeline-ui', ns),
    k.clusterRole('ml-pipeline-ui', [
      k.rule([''], ['pods', 'pods/log'], ['get']),
      k.rule([''], ['events'], ['list']),
      k.rule([''], ['secrets'], ['get', 'list']),
      k.rule(['kubeflow.org'], ['viewers'], ['create', 'get', 'list', 'watch', 'delete']),
      k.rule(['argoproj.io'], ['workflows'], ['get', 'list']),
      k.rule(['authorization.k8s.io'], ['subjectaccessreviews'], ['create']),
    ]),
    k.clusterRoleBinding('ml-pipeline-ui', 'ml-pipeline-ui', [k.saSubject('ml-pipeline-ui', ns)]),
    k.configMap('ml-pipeline-ui-configmap', ns, {
      'viewer-pod-template.json': std.manifestJsonEx({ spec: { serviceAccountName: 'default-editor' } }, '  '),
    }),
    k.service('ml-pipeline-ui', ns, [k.servicePort('http', 80, 'http')]),
    k.deployment('ml-pipeline-ui', ns, [container], params.replicas, sa='ml-pipeline-ui',
                 volumes=[{ name: 'config-volume', configMap: { name: 'ml-pipeline-ui-configmap' } }]),
  ];

local viewer(params) =
  local ns = params.namespace;
  local sa = 'ml-pipeline-viewer-crd-service-account';
  local container = k.container(
    'ml-pipeline-viewer-crd', c.image(params, 'kfp-viewer-crd-controller'),
    env=[k.env('MAX_NUM_VIEWERS', '50'), k.env('NAMESPACE', if params.multiUser then '' else ns)],
    resources=k.resources('20m', '64Mi', limitMemory='256Mi'),
  ) + k.runAs(1000, 0) + { readinessProbe: { exec: { command: ['ls', '/proc/1'] }, initialDelaySeconds: 10, periodSeconds: 30 },
        livenessProbe: { exec: { command: ['ls', '/proc/1'] }, initialDelaySeconds: 10, periodSeconds: 30 } };
  [
    k.crd('kubeflow.org', 'Viewer', 'viewers', [k.crdVersion('v1beta1', subresources=null)], shortNames=['vi']),
    k.serviceAccount(sa, ns),
    k.clusterRole('ml-pipeline-viewer-controller-role', [
      k.rule(['apps'], ['deployments'], ['create', 'get', 'list', 'watch', 'update', 'patch', 'delete']),
      k.rule([''], ['services'], ['create', 'get', 'list', 'watch', 'update', 'patch', 'delete']),
      k.rule(['kubeflow.org'], ['viewers', 'viewers/finalizers'], k.allVerbs),
      k.rule(['networking.istio.io'], ['virtualservices'], ['create', 'get', 'list', 'watch', 'update', 'patch', 'delete']),
    ]),
    k.clusterRoleBinding('ml-pipeline-viewer-crd-binding', 'ml-pipeline-viewer-controller-role',
                         [k.saSubject(sa, ns)]),
    k.deployment('ml-pipeline-viewer-crd', ns, [container], params.replicas, sa=sa) + c.noSidecar,
  ];

local visualization(params) =
  local ns = params.namespace;
  local container = k.container(
    'ml-pipeline-visualizationserver', c.image(params, 'kfp-visualization-server'),
    ports=[k.port('http', 8888)],
    resources=k.resources('30m', '500Mi', limitMemory='1Gi'),
  ) + k.runAs(1000, 0) + c.probes('/', 'http', 3);
  [
    k.serviceAccount('ml-pipeline-visualizationserver', ns),
    k.service('ml-pipeline-visualizationserver', ns, [k.servicePort('http', 8888, 'http')]),
    k.deployment('ml-pipeline-visualizationserver', ns, [container], params.replicas,
                 sa='ml-pipeline-visualizationserver'),
  ];

{
  all(params):: [ui(params), viewer(params), visualization(params)],
}
