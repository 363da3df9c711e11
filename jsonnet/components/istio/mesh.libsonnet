// Mesh config (ConfigMap istio) and the sidecar injector config that istiod reads.
// The oauth2-proxy ext-authz provider is what the auth component's CUSTOM AuthorizationPolicy names.
local k = import 'k.libsonnet';

local meshConfig(params) = {
  accessLogFile: '/dev/stdout',
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

// A trimmed injection template: the istio-proxy sidecar with its status port and identity.
local sidecarTemplate(params) = |||
  spec:
    containers:
    - name: istio-proxy
      image: "{{ .Values.global.hub }}/proxyv2:{{ .Values.global.tag }}"
      args: ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.{{ .Values.global.proxy.clusterDomain }}"]
      env:
      - {name: POD_NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
      - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
      ports:
      - {containerPort: 15090, name: http-envoy-prom, protocol: TCP}
      readinessProbe:
        httpGet: {path: /healthz/ready, port: 15021}
      resources:
        requests: {cpu: 10m, memory: 40Mi}
|||;

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
          proxy: { clusterDomain: params.clusterDomain },
          istioNamespace: params.namespace,
        },
        sidecarInjectorWebhook: { rewriteAppHTTPProbe: true },
      }, '  '),
    }),
  ],
}
