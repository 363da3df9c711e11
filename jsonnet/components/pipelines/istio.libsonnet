// Mesh integration: VirtualServices on the Kubeflow gateway, mutual TLS DestinationRules and the
// AuthorizationPolicies that say which service accounts may call each backend.
local k = import 'k.libsonnet';
local c = import 'common.libsonnet';

local virtualService(name, ns, gateway, prefix, rewrite, host, port, extra={}) = {
  apiVersion: 'networking.istio.io/v1beta1', kind: 'VirtualService',
  metadata: k.meta(name, ns),
  spec: {
    gateways: [gateway], hosts: ['*'],
    http: [{
      match: [{ uri: { prefix: prefix } }], rewrite: { uri: rewrite },
      route: [{ destination: { host: host + '.' + ns + '.svc.cluster.local', port: { number: port } } }],
    } + extra],
  },
};

local destinationRule(name, ns, host) = {
  apiVersion: 'networking.istio.io/v1beta1', kind: 'DestinationRule',
  metadata: k.meta(name, ns),
  spec: { host: host + '.' + ns + '.svc.cluster.local', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } },
};

// principals = null allows every caller (the API server still authorizes each request).
local authorizationPolicy(name, ns, app, principals) = {
  apiVersion: 'security.istio.io/v1beta1', kind: 'AuthorizationPolicy',
  metadata: k.meta(name, ns),
  spec: {
    selector: { matchLabels: k.labels(app) },
    rules: if principals == null then [{}] else [{ from: [{ source: { principals: principals } }] }],
  },
};

{
  all(params)::
    local ns = params.namespace;
    local p(sa) = c.principal(ns, sa);
    local gateway = 'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account';
    [
      virtualService('ml-pipeline-ui', ns, params.gateway, '/pipeline', '/pipeline', 'ml-pipeline-ui', 80,
                     { timeout: '300s' }),
      virtualService('metadata-grpc', ns, params.gateway, '/ml_metadata', '/ml_metadata',
                     'metadata-envoy-service', 9090),
      destinationRule('ml-pipeline', ns, 'ml-pipeline'),
      destinationRule('ml-pipeline-ui', ns, 'ml-pipeline-ui'),
      destinationRule('ml-pipeline-mysql', ns, 'mysql'),
      destinationRule('ml-pipeline-minio', ns, 'minio-service'),
      destinationRule('metadata-grpc-service', ns, 'metadata-grpc-service'),
      destinationRule('ml-pipeline-visualizationserver', ns, 'ml-pipeline-visualizationserver'),
      authorizationPolicy('ml-pipeline', ns, 'ml-pipeline', null),
      authorizationPolicy('ml-pipeline-ui', ns, 'ml-pipeline-ui', [gateway, p('ml-pipeline-ui')]),
      authorizationPolicy('mysql', ns, 'mysql',
                          [p('ml-pipeline'), p('metadata-grpc-server'), p('kubeflow-pipelines-cache')]),
      authorizationPolicy('minio-service', ns, if params.objectStore == 'seaweedfs' then 'seaweedfs' else 'minio',
                          null),
      authorizationPolicy('metadata-grpc-service', ns, 'metadata-grpc-deployment', null),
      authorizationPolicy('ml-pipeline-visualizationserver', ns, 'ml-pipeline-visualizationserver',
                          [p('ml-pipeline')]),
    ],
}
