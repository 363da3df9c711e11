// NVIDIA device plugin DaemonSet (upstream nvidia-device-plugin static manifest, v0.17).
local k = import 'k.libsonnet';

function(params)
  local ns = params.namespace;
  local name = 'nvidia-device-plugin';
  [
    k.daemonSet(name, ns, [
      k.container(name, params.image,
                  env=[k.env('FAIL_ON_INIT_ERROR', if params.failOnInitError then 'true' else 'false')],
                  resources=k.resources('10m', '32Mi', limitMemory='128Mi'),
                  volumeMounts=[{ name: 'device-plugin', mountPath: '/var/lib/kubelet/device-plugins' }],
                  // Root: it serves its socket in the kubelet's root-owned device-plugins directory.
                  securityContext={ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } }),
    ], volumes=[{ name: 'device-plugin', hostPath: { path: '/var/lib/kubelet/device-plugins' } }],
       podExtra={
         tolerations: k.gpuTolerations,
         priorityClassName: 'system-node-critical',
         [if std.length(params.nodeSelector) > 0 then 'nodeSelector']: params.nodeSelector,
       }) + { spec+: { updateStrategy: { type: 'RollingUpdate' } } },
  ]
