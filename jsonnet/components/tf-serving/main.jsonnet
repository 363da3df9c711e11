// TensorFlow Serving for one model: Deployment, Service (REST 8501, gRPC 8500), optional HPA.
// Objects are named tf-serving-<modelName> so servers of different models can share a namespace.
local k = import 'k.libsonnet';
local server = import 'server.libsonnet';

function(params)
  local name = server.name('tf-serving', params.modelName);
  local image = if params.image != '' then params.image
                else 'tensorflow/serving:2.17.0' + (if params.gpus > 0 then '-gpu' else '');
  local container = k.container(
    'tf-serving', image,
    ports=[k.port('grpc', 8500), k.port('http', 8501)],
    args=['--port=8500', '--rest_api_port=8501', '--model_name=' + params.modelName,
          '--model_base_path=' + params.modelBasePath, '--file_system_poll_wait_seconds=60'],
    resources=server.resources(params),
  ) + k.runAs(1000) + server.probes('/v1/models/' + params.modelName, 'http')
    + server.credentials(params);
  server.objects(name, params, container, [
    k.servicePort('grpc', 8500, 'grpc'),
    k.servicePort('http', 8501, 'http'),
  ])
