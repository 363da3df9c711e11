// Triton Inference Server for one model: Deployment, Service (HTTP 8000, gRPC 8001, metrics 8002),
// optional HPA. Objects are named triton-<modelName> so servers of different models can coexist.
local k = import 'k.libsonnet';
local server = import 'server.libsonnet';

function(params)
  local name = server.name('triton', params.modelName);
  local container = k.container(
    'triton', params.image,
    ports=[k.port('http', 8000), k.port('grpc', 8001), k.port('metrics', 8002)],
    command=['tritonserver'],
    args=['--model-repository=' + params.modelBasePath, '--model-control-mode=explicit',
          '--load-model=' + params.modelName, '--strict-readiness=true',
          '--http-port=8000', '--grpc-port=8001', '--metrics-port=8002'],
    resources=server.resources(params),
  ) + k.runAs(1000) + server.probes('/v2/health/ready', 'http')
    + { livenessProbe+: { httpGet+: { path: '/v2/health/live' } } }
    + server.credentials(params);
  server.objects(name, params, container, [
    k.servicePort('http', 8000, 'http'),
    k.servicePort('grpc', 8001, 'grpc'),
    k.servicePort('metrics', 8002, 'metrics'),
  ], podAnnotations={ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8002' })
