// Shape shared by the model-server components: GPU scheduling, probes, Service, optional HPA.
// (Kept identical in tf-serving/ and triton/ so each component folder stands alone.)
local k = import 'k.libsonnet';

local dnsLabel(s) = std.length(s) > 0 && std.length(s) <= 50
                    && std.all([std.member('abcdefghijklmnopqrstuvwxyz0123456789-', ch) for ch in std.stringChars(s)])
                    && s[0] != '-' && s[std.length(s) - 1] != '-';

{
  name(prefix, modelName)::
    assert dnsLabel(modelName) :
           prefix + ': param modelName "' + modelName
           + '" names Kubernetes objects: use at most 50 lowercase letters, digits and -, not at the ends';
    prefix + '-' + modelName,

  resources(params)::
    assert params.gpus >= 0 : 'param gpus must be >= 0, got ' + params.gpus;
    k.resources(params.cpu, params.memory, limitMemory=params.memory, gpus=params.gpus),

  probes(path, port):: {
    readinessProbe: k.httpProbe(path, port, 10) + { failureThreshold: 3 },
    livenessProbe: k.httpProbe(path, port, 60) + { periodSeconds: 30, failureThreshold: 5 },
  },

  credentials(params)::
    if params.credentialsSecret == '' then {}
    else { envFrom: [{ secretRef: { name: params.credentialsSecret } }] },

  // GPU pods tolerate the nvidia.com/gpu taint; nodeSelector applies whenever it is set.
  podExtra(params)::
    (if params.gpus > 0 then { tolerations: k.gpuTolerations } else {})
    + (if std.length(params.nodeSelector) > 0 then { nodeSelector: params.nodeSelector } else {}),

  hpa(name, params):: {
    apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler',
    metadata: k.meta(name, params.namespace, k.labels(name)),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: name },
      minReplicas: params.replicas,
      maxReplicas: std.max(params.replicas, params.hpaMaxReplicas),
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: {
        type: 'Utilization', averageUtilization: params.hpaTargetCpu,
      } } }],
    },
  },

  objects(name, params, container, ports, podAnnotations={})::
    local deployment = k.deployment(name, params.namespace, [container], params.replicas,
                                    podExtra=self.podExtra(params),
                                    labels={ 'serving.kubeflow.org/model': params.modelName })
                       + (if std.length(podAnnotations) > 0
                          then { spec+: { template+: { metadata+: { annotations: podAnnotations } } } } else {});
    [
      k.service(name, params.namespace, ports, type=params.serviceType),
      // Inference clients may be anywhere (in the cluster or behind the Service's load balancer).
      k.allowIngress(name, params.namespace, name, ports=[p.targetPort for p in ports]),
      // With an HPA the Deployment leaves replicas to the autoscaler, so applies never fight it.
      if params.hpa then deployment + { spec+: { replicas:: null } } else deployment,
      if params.hpa then self.hpa(name, params) else [],
    ],
}
