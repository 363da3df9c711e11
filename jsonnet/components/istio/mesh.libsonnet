// Mesh config (ConfigMap istio) and the sidecar injector config that istiod reads.
// The oauth2-proxy ext-authz provider is what the auth component's CUSTOM AuthorizationPolicy names.
local k = import 'k.libsonnet';
local proxy = import 'proxy.libsonnet';

local meshConfig(params) = {
  accessLogFile: '/dev/stdout',
  tcpKeepalive: { interval: '5s', probes: 3, time: '10s' },
  enablePrometheusMerge: true,
  rootNamespace: params.namespace,
  trustDomain: params.clusterDomain,
  defaultConfig: {
    discoveryAddress: 'istiod.' + params.namespace + '.svc:15012',
    proxyMetadata: {},
    tracing: {},
  },
  extensionProviders: [{
    name: 'oauth2-proxy',
    envoyExtAuthzHttp: {
      service: params.oauth2ProxyService,
      port: 80,
      headersToDownstreamOnDeny: ['content-type', 'set-cookie'],
      headersToUpstreamOnAllow: ['authorization', 'path', 'x-auth-request-email', 'x-auth-request-groups', 'x-auth-request-user'],
      includeRequestHeadersInCheck: ['authorization', 'cookie'],
    },
  }],
};

// The sidecar injection template istiod executes (Go template over the pod) for every injected pod.
// Built from the same volumes, mounts and env as the gateway (proxy.libsonnet), so the agent finds
// its token, root certificate and bootstrap directories. The proxy runs as a native sidecar (an
// init container with restartPolicy Always, as istiod's ENABLE_NATIVE_SIDECARS asks). Traffic
// capture: the istio-cni node agent (istioCni) or the privileged istio-init container.
local captureArgs(params) = [
  'istio-iptables', '-p', '15001', '-z', '15006', '-u', std.toString(proxy.uid), '-m', 'REDIRECT',
  '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020', '--log_output_level=default:info',
] + (if params.istioCni then ['--run-validation', '--skip-rule-apply'] else []);

// With CNI the init container only validates the node agent's rules (non-root, no capabilities);
// without it, istio-init writes the iptables rules itself and needs NET_ADMIN/NET_RAW as root.
local captureContainer(params) = {
  name: if params.istioCni then 'istio-validation' else 'istio-init',
  image: '{{ .ProxyImage }}',
  args: captureArgs(params),
  resources: proxy.resources,
  securityContext: if params.istioCni then proxy.securityContext
  else {
    allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: false,
    capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
    runAsGroup: 0, runAsNonRoot: false, runAsUser: 0,
  },
};

local sidecarContainer(params) = {
  name: 'istio-proxy',
  image: '{{ .ProxyImage }}',
  restartPolicy: 'Always',
  ports: [{ containerPort: 15090, protocol: 'TCP', name: 'http-envoy-prom' }],
  args: ['proxy', 'sidecar', '--domain', '$(POD_NAMESPACE).svc.' + params.clusterDomain,
         '--proxyLogLevel=warning', '--proxyComponentLogLevel=misc:error', '--log_output_level=default:info'],
  lifecycle: { preStop: { exec: { command: ['pilot-agent', 'request', '--debug-port=15020', 'POST', 'drain'] } } },
  env: proxy.env(params) + [
    k.env('ISTIO_META_INTERCEPTION_MODE', 'REDIRECT'),
    k.env('ISTIO_META_WORKLOAD_NAME', '{{ .DeploymentMeta.Name }}'),
  ],
  startupProbe: { httpGet: { path: '/healthz/ready', port: 15021 },
                  initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 3, failureThreshold: 600 },
  readinessProbe: { httpGet: { path: '/healthz/ready', port: 15021 },
                    initialDelaySeconds: 0, periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 4 },
  securityContext: proxy.securityContext,
  resources: proxy.resources,
  volumeMounts: proxy.volumeMounts,
};

// Go template actions sit only in string values (no quote or backslash inside them), so the
// template is plain YAML before istiod executes it too. The CNI node agent reads the traffic
// annotations. PROXY_CONFIG ends in a newline so it is written as a block: its JSON has quotes.
local labelOr(key, fallbacks) =
  '{{ index .ObjectMeta.Labels `' + key + '`' + std.join('', [' | default ' + f for f in fallbacks]) + ' }}';
local sidecarTemplate(params) = std.manifestYamlDoc({
  metadata: {
    labels: {
      'security.istio.io/tlsMode': labelOr('security.istio.io/tlsMode', ['`istio`']),
      'service.istio.io/canonical-name': labelOr('service.istio.io/canonical-name', [
        '(index .ObjectMeta.Labels `app.kubernetes.io/name`)', '(index .ObjectMeta.Labels `app`)',
        '.DeploymentMeta.Name | trunc 63 | trimSuffix `-`',
      ]),
      'service.istio.io/canonical-revision': labelOr('service.istio.io/canonical-revision', [
        '(index .ObjectMeta.Labels `app.kubernetes.io/version`)', '(index .ObjectMeta.Labels `version`)', '`latest`',
      ]),
    },
    annotations: {
      'istio.io/rev': '{{ .Revision | default `default` }}',
      'sidecar.istio.io/interceptionMode': 'REDIRECT',
      'traffic.sidecar.istio.io/includeOutboundIPRanges': '*',
      'traffic.sidecar.istio.io/includeInboundPorts': '*',
      'traffic.sidecar.istio.io/excludeInboundPorts': '15020',
    },
  },
  spec: {
    initContainers: [
      captureContainer(params),
      sidecarContainer(params) + { env+: [k.env('PROXY_CONFIG', '{{ protoToJSON .ProxyConfig }}\n')] },
    ],
    volumes: proxy.volumes,
  },
}, quote_keys=false);

{
  configMaps(params):: [
    k.configMap('istio', params.namespace, {
      mesh: std.manifestYamlDoc(meshConfig(params), quote_keys=false),
      meshNetworks: 'networks: {}',
    }),
    k.configMap('istio-sidecar-injector', params.namespace, {
      config: std.manifestYamlDoc({
        policy: 'enabled',
        alwaysInjectSelector: [],
        neverInjectSelector: [],
        defaultTemplates: ['sidecar'],
        templates: { sidecar: sidecarTemplate(params) },
      }, quote_keys=false),
      values: std.manifestJsonEx({
        global: {
          hub: params.hub, tag: params.istioVersion,
          proxy: { image: 'proxyv2', clusterDomain: params.clusterDomain, statusPort: 15020 },
          proxy_init: { image: 'proxyv2' },
          istioNamespace: params.namespace,
          pilotCertProvider: 'istiod',
          sds: { token: { aud: proxy.tokenAudience } },
        },
        pilot: { cni: { enabled: params.istioCni, provider: 'default' } },
        revision: '',
        sidecarInjectorWebhook: { rewriteAppHTTPProbe: true, reinvocationPolicy: 'Never' },
      }, '  '),
    }),
  ],
}
