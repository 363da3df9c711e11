// Shared pieces of the pipelines component: image names, labels, small object shapes.
local k = import 'k.libsonnet';

{
  image(params, name):: params.registry + '/' + name + ':' + params.imageTag,
  storageClass(params):: if params.storageClass != '' then params.storageClass else null,
  podAnnotations(annotations):: { spec+: { template+: { metadata+: { annotations+: annotations } } } },
  noSidecar:: self.podAnnotations({ 'sidecar.istio.io/inject': 'false' }),
  fieldEnv(name, path):: { name: name, valueFrom: { fieldRef: { fieldPath: path } } },
  configEnv(name, configMap, key):: { name: name, valueFrom: { configMapKeyRef: { name: configMap, key: key } } },
  secretEnv(name, secret, key):: k.envFrom(name, secret, key),
  principal(ns, sa):: 'cluster.local/ns/' + ns + '/sa/' + sa,
  aggregateTo(role):: { ['rbac.authorization.kubeflow.org/aggregate-to-' + role]: 'true' },
  // Both object store backends answer S3 on minio-service:9000.
  objectStoreHost(params):: 'minio-service.' + params.namespace + '.svc.cluster.local',
  defaultPipelineRoot(params):: if params.defaultPipelineRoot != '' then params.defaultPipelineRoot
                                else 'minio://' + params.bucketName + '/v2/artifacts',
  // Container with distinct readiness and liveness probes on one port.
  probes(path, port, delay=5):: {
    readinessProbe: k.httpProbe(path, port, delay),
    livenessProbe: k.httpProbe(path, port, delay + 10) + { periodSeconds: 20, failureThreshold: 6 },
  },
}
