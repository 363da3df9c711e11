// What istio-agent (pilot-agent) and envoy need in every pod they run in, shared by the sidecar
// injection template and the ingress gateway: the istio-ca audience token, istiod's root
// certificate (ConfigMap istio-ca-root-cert, which istiod publishes in every namespace), the SDS
// and bootstrap directories, and the pod's labels/annotations through the downward API.
local k = import 'k.libsonnet';

local fieldEnv(name, path) = { name: name, valueFrom: { fieldRef: { fieldPath: path } } };
local resourceEnv(name, resource) = { name: name, valueFrom: { resourceFieldRef: { resource: resource } } };

{
  uid:: 1337,  // the proxy's user and group: iptables redirects all traffic except this uid's
  tokenAudience:: 'istio-ca',

  volumes:: [
    { name: 'workload-socket', emptyDir: {} },
    { name: 'credential-socket', emptyDir: {} },
    { name: 'workload-certs', emptyDir: {} },
    { name: 'istio-envoy', emptyDir: { medium: 'Memory' } },
    { name: 'istio-data', emptyDir: {} },
    { name: 'istio-podinfo', downwardAPI: { items: [
      { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
      { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
    ] } },
    { name: 'istio-token', projected: { sources: [{ serviceAccountToken: {
      path: 'istio-token', expirationSeconds: 43200, audience: $.tokenAudience,
    } }] } },
    { name: 'istiod-ca-cert', configMap: { name: 'istio-ca-root-cert' } },
  ],

  volumeMounts:: [
    { name: 'workload-socket', mountPath: '/var/run/secrets/workload-spiffe-uds' },
    { name: 'credential-socket', mountPath: '/var/run/secrets/credential-uds' },
    { name: 'workload-certs', mountPath: '/var/run/secrets/workload-spiffe-credentials' },
    { name: 'istiod-ca-cert', mountPath: '/var/run/secrets/istio' },
    { name: 'istio-data', mountPath: '/var/lib/istio/data' },
    { name: 'istio-envoy', mountPath: '/etc/istio/proxy' },
    { name: 'istio-token', mountPath: '/var/run/secrets/tokens', readOnly: true },
    { name: 'istio-podinfo', mountPath: '/etc/istio/pod' },
  ],

  // The agent's identity and where it asks for certificates (istiod's CA on 15012).
  env(params):: [
    k.env('PILOT_CERT_PROVIDER', 'istiod'),
    k.env('CA_ADDR', 'istiod.' + params.namespace + '.svc:15012'),
    fieldEnv('NODE_NAME', 'spec.nodeName'),
    fieldEnv('POD_NAME', 'metadata.name'),
    fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
    fieldEnv('INSTANCE_IP', 'status.podIP'),
    fieldEnv('HOST_IP', 'status.hostIP'),
    fieldEnv('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
    resourceEnv('ISTIO_CPU_LIMIT', 'limits.cpu'),
    resourceEnv('GOMEMLIMIT', 'limits.memory'),
    resourceEnv('GOMAXPROCS', 'limits.cpu'),
    k.env('ISTIO_META_CLUSTER_ID', 'Kubernetes'),
    fieldEnv('ISTIO_META_NODE_NAME', 'spec.nodeName'),
    k.env('ISTIO_META_MESH_ID', params.clusterDomain),
    k.env('TRUST_DOMAIN', params.clusterDomain),
  ],

  resources:: k.resources('100m', '128Mi', limitCpu='2000m', limitMemory='1024Mi'),

  readinessProbe:: {
    httpGet: { path: '/healthz/ready', port: 15021 },
    initialDelaySeconds: 1, periodSeconds: 2, timeoutSeconds: 1, failureThreshold: 30,
  },

  // Non-root, read-only, no capabilities: the proxy binds no privileged port.
  securityContext:: k.hardened(runAsUser=$.uid, runAsGroup=$.uid) + {
    privileged: false, readOnlyRootFilesystem: true,
  },
}
