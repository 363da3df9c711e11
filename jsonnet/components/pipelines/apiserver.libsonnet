// The pipelines backend: install-wide ConfigMaps, the API server, the persistence agent that
// mirrors Argo workflows into the database, and the ScheduledWorkflow (recurring run) controller.
local k = import 'k.libsonnet';
local c = import 'common.libsonnet';

local cfg = 'pipeline-install-config';
// Go controllers without a health endpoint: the probe checks that the main process is alive.
local processAlive = { exec: { command: ['ls', '/proc/1'] }, initialDelaySeconds: 10, periodSeconds: 30 };
// A token for the API server's multi-user authentication (audience pipelines.kubeflow.org),
// read from /var/run/secrets/kubeflow/tokens/<file>.
local apiToken(name, file) = {
  name: name,
  projected: { sources: [{ serviceAccountToken: { path: file, expirationSeconds: 3600,
                                                  audience: 'pipelines.kubeflow.org' } }] },
};
local tokenVolume = apiToken('persistence-agent-sa-token', 'persistenceagent-sa-token');
local swfToken = apiToken('scheduledworkflow-sa-token', 'scheduledworkflow-sa-token');

local configMaps(params) = [
  k.configMap(cfg, params.namespace, {
    appName: 'pipeline', appVersion: params.imageTag,
    dbHost: 'mysql', dbPort: '3306', dbType: 'mysql',
    mlmdDb: 'metadb', cacheDb: 'cachedb', pipelineDb: 'mlpipeline',
    bucketName: params.bucketName, defaultPipelineRoot: params.defaultPipelineRoot,
    autoUpdatePipelineDefaultVersion: 'true', cronScheduleTimezone: 'UTC',
    cacheImage: 'registry.k8s.io/busybox', cacheNodeRestrictions: 'false',
    MAXIMUM_CACHE_STALENESS: '', DEFAULT_CACHE_STALENESS: '',
    ConMaxLifeTime: '120s', LOG_LEVEL: 'info',
  }),
  k.configMap('kfp-launcher', params.namespace, { defaultPipelineRoot: c.defaultPipelineRoot(params) }),
];

local apiServer(params) =
  local ns = params.namespace;
  local env = [
    k.env('KUBEFLOW_USERID_HEADER', 'kubeflow-userid'), k.env('KUBEFLOW_USERID_PREFIX', ''),
    c.configEnv('AUTO_UPDATE_PIPELINE_DEFAULT_VERSION', cfg, 'autoUpdatePipelineDefaultVersion'),
    c.fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
    k.env('MULTIUSER', params.multiUser), k.env('DB_DRIVER_NAME', 'mysql'),
    c.secretEnv('DBCONFIG_MYSQLCONFIG_USER', 'mysql-secret', 'username'),
    c.secretEnv('DBCONFIG_MYSQLCONFIG_PASSWORD', 'mysql-secret', 'password'),
    c.configEnv('DBCONFIG_MYSQLCONFIG_DBNAME', cfg, 'pipelineDb'),
    c.configEnv('DBCONFIG_MYSQLCONFIG_HOST', cfg, 'dbHost'),
    c.configEnv('DBCONFIG_MYSQLCONFIG_PORT', cfg, 'dbPort'),
    c.configEnv('DBCONFIG_CONMAXLIFETIME', cfg, 'ConMaxLifeTime'),
    c.configEnv('LOG_LEVEL', cfg, 'LOG_LEVEL'),
    k.env('OBJECTSTORECONFIG_SECURE', 'false'), k.env('OBJECTSTORECONFIG_HOST', c.objectStoreHost(params)),
    k.env('OBJECTSTORECONFIG_PORT', '9000'),
    c.configEnv('OBJECTSTORECONFIG_BUCKETNAME', cfg, 'bucketName'),
    c.secretEnv('OBJECTSTORECONFIG_ACCESSKEY', 'mlpipeline-minio-artifact', 'accesskey'),
    c.secretEnv('OBJECTSTORECONFIG_SECRETACCESSKEY', 'mlpipeline-minio-artifact', 'secretkey'),
    k.env('V2_DRIVER_IMAGE', c.image(params, 'kfp-driver')),
    k.env('V2_LAUNCHER_IMAGE', c.image(params, 'kfp-launcher')),
  ];
  local container = k.container(
    'ml-pipeline-api-server', c.image(params, 'kfp-api-server'),
    ports=[k.port('http', 8888), k.port('grpc', 8887)], env=env,
    resources=k.resources('250m', '500Mi', limitMemory='1Gi'),
  ) + k.runAs(1000, 0) + c.probes('/apis/v1beta1/healthz', 'http', 3);
  [
    k.serviceAccount('ml-pipeline', ns),
    k.clusterRole('ml-pipeline', [
      k.rule([''], ['pods', 'pods/log'], ['get', 'list', 'delete']),
      k.rule([''], ['secrets'], ['get']),
      k.rule([''], ['configmaps'], ['get', 'list', 'watch']),
      k.rule(['argoproj.io'], ['workflows'], ['create', 'get', 'list', 'watch', 'update', 'patch', 'delete']),
      k.rule(['kubeflow.org'], ['scheduledworkflows'], ['create', 'get', 'list', 'update', 'patch', 'delete']),
      k.rule(['authorization.k8s.io'], ['subjectaccessreviews'], ['create']),
      k.rule(['authentication.k8s.io'], ['tokenreviews'], ['create']),
    ]),
    k.clusterRoleBinding('ml-pipeline', 'ml-pipeline', [k.saSubject('ml-pipeline', ns)]),
    k.service('ml-pipeline', ns, [k.servicePort('http', 8888, 'http'), k.servicePort('grpc', 8887, 'grpc')])
    + { metadata+: { annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8888' } } },
    k.deployment('ml-pipeline', ns, [container], params.replicas, sa='ml-pipeline')
    + c.podAnnotations({ 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'true' }),
  ];

local persistenceAgent(params) =
  local ns = params.namespace;
  local container = k.container(
    'ml-pipeline-persistenceagent', c.image(params, 'kfp-persistence-agent'),
    env=[k.env('NAMESPACE', if params.multiUser then '' else ns),
         k.env('TTL_SECONDS_AFTER_WORKFLOW_FINISH', '86400'), k.env('NUM_WORKERS', '2'),
         k.env('KUBEFLOW_USERID_HEADER', 'kubeflow-userid'), k.env('KUBEFLOW_USERID_PREFIX', ''),
         c.configEnv('LOG_LEVEL', cfg, 'LOG_LEVEL')],
    resources=k.resources('50m', '64Mi', limitMemory='256Mi'),
    volumeMounts=[{ name: tokenVolume.name, mountPath: '/var/run/secrets/kubeflow/tokens' }],
  ) + k.runAs(1000, 0) + { readinessProbe: processAlive, livenessProbe: processAlive };
  [
    k.controllerRbac('ml-pipeline-persistenceagent', ns, [
      k.rule(['argoproj.io'], ['workflows'], ['get', 'list', 'watch']),
      k.rule(['kubeflow.org'], ['scheduledworkflows'], ['get', 'list', 'watch']),
      k.rule(['pipelines.kubeflow.org'], ['scheduledworkflows', 'workflows'], ['report']),
      k.rule(['pipelines.kubeflow.org'], ['runs'], ['reportMetrics', 'readArtifact']),
    ]),
    k.deployment('ml-pipeline-persistenceagent', ns, [container], params.replicas,
                 sa='ml-pipeline-persistenceagent', volumes=[tokenVolume]),
  ];

local scheduledWorkflow(params) =
  local ns = params.namespace;
  local container = k.container(
    'ml-pipeline-scheduledworkflow', c.image(params, 'kfp-scheduled-workflow-controller'),
    env=[k.env('NAMESPACE', if params.multiUser then '' else ns),
         c.configEnv('CRON_SCHEDULE_TIMEZONE', cfg, 'cronScheduleTimezone'),
         c.configEnv('LOG_LEVEL', cfg, 'LOG_LEVEL')],
    resources=k.resources('50m', '64Mi', limitMemory='256Mi'),
    volumeMounts=[{ name: swfToken.name, mountPath: '/var/run/secrets/kubeflow/tokens' }],
  ) + k.runAs(1000, 0) + { readinessProbe: processAlive, livenessProbe: processAlive };
  [
    k.crd('kubeflow.org', 'ScheduledWorkflow', 'scheduledworkflows',
          [k.crdVersion('v1beta1', subresources=null)], shortNames=['swf']),
    k.controllerRbac('ml-pipeline-scheduledworkflow', ns, [
      k.rule(['argoproj.io'], ['workflows'], ['create', 'get', 'list', 'watch', 'update', 'patch', 'delete']),
      k.rule(['kubeflow.org'], ['scheduledworkflows', 'scheduledworkflows/finalizers'], k.allVerbs),
      k.rule([''], ['events'], ['create', 'patch']),
    ]),
    k.deployment('ml-pipeline-scheduledworkflow', ns, [container], params.replicas,
                 sa='ml-pipeline-scheduledworkflow', volumes=[swfToken]) + c.noSidecar,
  ];

{
  all(params):: [configMaps(params), apiServer(params), persistenceAgent(params), scheduledWorkflow(params)],
}
