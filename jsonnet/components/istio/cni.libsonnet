// The istio-cni node agent (kube-system DaemonSet, as Kubeflow 1.10 installs it): it writes each
// injected pod's iptables rules from the node, so injected pods need no NET_ADMIN init container
// and their namespaces can stay at the baseline Pod Security level. It installs its plugin into
// the node's CNI bin directory (cniBinDir: /opt/cni/bin, or /home/kubernetes/bin on GKE, where
// /opt/cni/bin is read-only).
local k = import 'k.libsonnet';

local ns = 'kube-system';
local name = 'istio-cni';
local hostPath(n, path, type=null) = { name: n, hostPath: { path: path } + (if type != null then { type: type } else {}) };
local fieldEnv(n, path) = { name: n, valueFrom: { fieldRef: { fieldPath: path } } };
local resourceEnv(n, resource) = { name: n, valueFrom: { resourceFieldRef: { resource: resource } } };

local config(params) = k.configMap(name + '-config', ns, {
  CURRENT_AGENT_VERSION: params.istioVersion,
  AMBIENT_ENABLED: 'false',
  CHAINED_CNI_PLUGIN: 'true',
  EXCLUDE_NAMESPACES: ns,
  REPAIR_ENABLED: 'true',
  REPAIR_REPAIR_PODS: 'true',
  REPAIR_DELETE_PODS: 'false',
  REPAIR_LABEL_PODS: 'false',
  REPAIR_BROKEN_POD_LABEL_KEY: 'cni.istio.io/uninitialized',
  REPAIR_BROKEN_POD_LABEL_VALUE: 'true',
  REPAIR_INIT_CONTAINER_NAME: 'istio-validation',
});

// Root with the capabilities to enter pod network namespaces and write host files; no privileged mode.
local securityContext = {
  capabilities: { add: ['NET_ADMIN', 'NET_RAW', 'SYS_PTRACE', 'SYS_ADMIN', 'DAC_OVERRIDE'], drop: ['ALL'] },
  privileged: false, runAsGroup: 0, runAsNonRoot: false, runAsUser: 0,
};

local daemonSet(params) =
  local c = k.container('install-cni', params.hub + '/install-cni:' + params.istioVersion,
                        ports=[k.port('metrics', 15014)],
                        command=['install-cni'], args=['--log_output_level=info'],
                        env=[
                          fieldEnv('REPAIR_NODE_NAME', 'spec.nodeName'),
                          k.env('REPAIR_RUN_AS_DAEMON', 'true'),
                          k.env('REPAIR_SIDECAR_ANNOTATION', 'sidecar.istio.io/status'),
                          k.env('ALLOW_SWITCH_TO_HOST_NS', 'true'),
                          fieldEnv('NODE_NAME', 'spec.nodeName'),
                          resourceEnv('GOMEMLIMIT', 'limits.memory'),
                          resourceEnv('GOMAXPROCS', 'limits.cpu'),
                          fieldEnv('POD_NAME', 'metadata.name'),
                          fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
                        ],
                        resources=k.resources('100m', '100Mi'),
                        securityContext=securityContext,
                        volumeMounts=[
                          { name: 'cni-bin-dir', mountPath: '/host/opt/cni/bin' },
                          { name: 'cni-host-procfs', mountPath: '/host/proc', readOnly: true },
                          { name: 'cni-net-dir', mountPath: '/host/etc/cni/net.d' },
                          { name: 'cni-socket-dir', mountPath: '/var/run/istio-cni' },
                        ])
            + { envFrom: [{ configMapRef: { name: name + '-config' } }],
                readinessProbe: { httpGet: { path: '/readyz', port: 8000 } } };
  k.daemonSet(name + '-node', ns, [c], sa=name, volumes=[
    hostPath('cni-bin-dir', params.cniBinDir),
    hostPath('cni-host-procfs', '/proc', 'Directory'),
    hostPath('cni-net-dir', params.cniConfDir),
    hostPath('cni-socket-dir', '/var/run/istio-cni'),
    hostPath('cni-netns-dir', '/var/run/netns', 'DirectoryOrCreate'),
  ], podExtra={
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    priorityClassName: 'system-node-critical',
    terminationGracePeriodSeconds: 5,
    tolerations: [{ effect: 'NoSchedule', operator: 'Exists' }, { key: 'CriticalAddonsOnly', operator: 'Exists' },
                  { effect: 'NoExecute', operator: 'Exists' }],
  })
  + { spec+: { template+: { metadata+: { annotations+: { 'sidecar.istio.io/inject': 'false' } } },
               updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } } } };

function(params) [
  k.serviceAccount(name, ns),
  k.clusterRole(name, [k.rule([''], ['pods', 'nodes', 'namespaces'], k.readVerbs)]),
  k.clusterRoleBinding(name, name, [k.saSubject(name, ns)]),
  k.clusterRole(name + '-repair-role', [
    k.rule([''], ['events'], ['create', 'patch']),
    k.rule([''], ['pods'], ['watch', 'get', 'list']),
  ]),
  k.clusterRoleBinding(name + '-repair-rolebinding', name + '-repair-role', [k.saSubject(name, ns)]),
  config(params),
  daemonSet(params),
]
