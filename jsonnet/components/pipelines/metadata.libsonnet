// ML Metadata: the gRPC store server (backed by MySQL metadb), its Envoy gRPC-web proxy for the UI,
// and the metadata writer that records pod lineage.
local k = import 'k.libsonnet';
local c = import 'common.libsonnet';

local grpc(params) =
  local ns = params.namespace;
  local container = k.container(
    'container', params.metadataStoreImage, ports=[k.port('grpc-api', 8080)],
    command=['/bin/metadata_store_server'],
    args=['--grpc_port=8080', '--mysql_config_database=$(MYSQL_DATABASE)',
          '--mysql_config_host=$(MYSQL_HOST)', '--mysql_config_port=$(MYSQL_PORT)',
          '--mysql_config_user=$(DBCONFIG_USER)', '--mysql_config_password=$(DBCONFIG_PASSWORD)',
          '--enable_database_upgrade=true'],
    env=[c.secretEnv('DBCONFIG_USER', 'mysql-secret', 'username'),
         c.secretEnv('DBCONFIG_PASSWORD', 'mysql-secret', 'password'),
         c.configEnv('MYSQL_DATABASE', 'pipeline-install-config', 'mlmdDb'),
         c.configEnv('MYSQL_HOST', 'pipeline-install-config', 'dbHost'),
         c.configEnv('MYSQL_PORT', 'pipeline-install-config', 'dbPort')],
    resources=k.resources('50m', '128Mi', limitMemory='512Mi'),
  ) + k.runAs(1000, 0) + { readinessProbe: k.tcpProbe('grpc-api', 3), livenessProbe: k.tcpProbe('grpc-api', 3) + { timeoutSeconds: 2 } };
  [
    k.serviceAccount('metadata-grpc-server', ns),
    k.configMap('metadata-grpc-configmap', ns, {
      METADATA_GRPC_SERVICE_HOST: 'metadata-grpc-service.' + ns,
      METADATA_GRPC_SERVICE_PORT: '8080',
    }),
    k.service('metadata-grpc-service', ns, [k.servicePort('grpc-api', 8080, 'grpc-api')],
              selectorName='metadata-grpc-deployment'),
    k.deployment('metadata-grpc-deployment', ns, [container], params.replicas, sa='metadata-grpc-server'),
  ];

local envoy(params) =
  local ns = params.namespace;
  local container = k.container(
    'container', c.image(params, 'kfp-metadata-envoy'),
    ports=[k.port('md-envoy', 9090), k.port('envoy-admin', 9901)],
    resources=k.resources('20m', '64Mi', limitMemory='256Mi'),
  ) + k.runAs(1000, 0) + { readinessProbe: k.tcpProbe('md-envoy', 3), livenessProbe: k.tcpProbe('md-envoy', 10) };
  [
    k.service('metadata-envoy-service', ns, [k.servicePort('md-envoy', 9090, 'md-envoy')],
              selectorName='metadata-envoy-deployment'),
    k.deployment('metadata-envoy-deployment', ns, [container], params.replicas)
    + c.noSidecar,
  ];

local writer(params) =
  local ns = params.namespace;
  // Multi-user mode watches pipeline pods in every profile namespace.
  local watch = if params.multiUser then k.env('NAMESPACE_TO_WATCH', '')
                else c.fieldEnv('NAMESPACE_TO_WATCH', 'metadata.namespace');
  // The writer serves no port; the probe checks that its main process is alive.
  local alive = { exec: { command: ['python3', '-c', 'import os; os.kill(1, 0)'] },
                  initialDelaySeconds: 10, periodSeconds: 30 };
  local container = k.container(
    'main', c.image(params, 'kfp-metadata-writer'),
    env=[watch, k.env('DISABLE_ISTIO_SIDECAR', 'false')],
    resources=k.resources('20m', '64Mi', limitMemory='256Mi'),
  ) + k.runAs(1000, 0) + { readinessProbe: alive, livenessProbe: alive };
  [
    k.controllerRbac('kubeflow-pipelines-metadata-writer', ns, [
      k.rule([''], ['pods'], ['get', 'list', 'watch', 'update', 'patch']),
      k.rule([''], ['configmaps'], ['get']),
      k.rule(['argoproj.io'], ['workflows'], ['get', 'list', 'watch', 'update', 'patch']),
    ]),
    k.deployment('metadata-writer', ns, [container], params.replicas,
                 sa='kubeflow-pipelines-metadata-writer'),
  ];

{
  all(params):: [grpc(params), envoy(params), writer(params)],
}
