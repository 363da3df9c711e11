// The ClusterServingRuntimes and default storage container a fresh KServe install creates.
local k = import 'k.libsonnet';

local runtime(name, formats, container, protocols=['v1', 'v2'], port=8080) = {
  apiVersion: 'serving.kserve.io/v1alpha1', kind: 'ClusterServingRuntime',
  metadata: k.meta(name),
  spec: {
    annotations: { 'prometheus.kserve.io/port': std.toString(port), 'prometheus.kserve.io/path': '/metrics' },
    supportedModelFormats: [{ name: f.name, version: f.version, autoSelect: true, priority: 1 } for f in formats],
    protocolVersions: protocols,
    containers: [{ name: 'kserve-container', resources: {
      requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '1', memory: '2Gi' },
    } } + container],
  },
};

{
  all(params):: [
    runtime('kserve-sklearnserver', [{ name: 'sklearn', version: '1' }], {
      image: 'kserve/sklearnserver:' + params.imageTag,
      args: ['--model_name={{.Name}}', '--model_dir=/mnt/models', '--http_port=8080'],
      securityContext: { allowPrivilegeEscalation: false, privileged: false, runAsNonRoot: true,
                         capabilities: { drop: ['ALL'] } },
    }),
    runtime('kserve-tritonserver', [
      { name: 'tensorrt', version: '8' }, { name: 'tensorflow', version: '2' },
      { name: 'onnx', version: '1' }, { name: 'pytorch', version: '1' }, { name: 'triton', version: '2' },
    ], {
      image: 'nvcr.io/nvidia/tritonserver:23.05-py3',
      args: ['tritonserver', '--model-store=/mnt/models', '--grpc-port=9000', '--http-port=8080',
             '--allow-grpc=true', '--allow-http=true'],
    }, protocols=['v2', 'grpc-v2'], port=8002),
    runtime('kserve-tensorflow-serving', [{ name: 'tensorflow', version: '1' }, { name: 'tensorflow', version: '2' }], {
      image: 'tensorflow/serving:2.6.2',
      args: ['--model_name={{.Name}}', '--port=9000', '--rest_api_port=8080',
             '--model_base_path=/mnt/models', '--rest_api_timeout_in_ms=60000'],
    }, protocols=['v1', 'grpc-v1']),
    {
      apiVersion: 'serving.kserve.io/v1alpha1', kind: 'ClusterStorageContainer',
      metadata: k.meta('default'),
      spec: {
        container: {
          name: 'storage-initializer', image: 'kserve/storage-initializer:' + params.imageTag,
          resources: { requests: { cpu: '100m', memory: '100Mi' }, limits: { cpu: '1', memory: '1Gi' } },
        },
        supportedUriFormats: [{ prefix: 'gs://' }, { prefix: 's3://' }, { prefix: 'hdfs://' },
                              { prefix: 'webhdfs://' }, { regex: 'https://(.+?).blob.core.windows.net/(.+)' },
                              { regex: 'https://(.+?).file.core.windows.net/(.+)' }, { regex: 'https?://(.+)/(.+)' }],
        workloadType: 'initContainer',
      },
    },
  ],
}
