// Istio objects of the login flow: JWT validation and ext-authz at the gateway, and the
// /dex/ and /oauth2/ routes that must stay reachable without a session.
local k = import 'k.libsonnet';

local gatewaySelector = { matchLabels: { app: 'istio-ingressgateway' } };
local loginPaths = ['/dex/*', '/dex/**', '/oauth2/*'];

local virtualService(name, ns, gateway, prefix, host, port, rewrite=null) = {
  apiVersion: 'networking.istio.io/v1', kind: 'VirtualService',
  metadata: k.meta(name, ns),
  spec: {
    gateways: [gateway],
    hosts: ['*'],
    http: [{
      match: [{ uri: { prefix: prefix } }],
      route: [{ destination: { host: host, port: { number: port } } }],
    } + (if rewrite != null then { rewrite: { uri: rewrite } } else {})],
  },
};

{
  gateway(params, issuer):: [
    {
      apiVersion: 'security.istio.io/v1', kind: 'RequestAuthentication',
      metadata: k.meta('dex-jwt', params.istioNamespace),
      spec: {
        selector: gatewaySelector,
        jwtRules: [{
          issuer: issuer,
          forwardOriginalToken: true,
          outputClaimToHeaders: [{ header: 'kubeflow-userid', claim: 'email' },
                                 { header: 'kubeflow-groups', claim: 'groups' }],
          fromHeaders: [{ name: 'Authorization', prefix: 'Bearer ' }],
        }],
      },
    },
    {
      apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy',
      metadata: k.meta('istio-ingressgateway-oauth2-proxy', params.istioNamespace),
      spec: {
        action: 'CUSTOM',
        provider: { name: 'oauth2-proxy' },
        selector: gatewaySelector,
        rules: [{ to: [{ operation: { notPaths: loginPaths } }] }],
      },
    },
    {
      apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy',
      metadata: k.meta('istio-ingressgateway-require-jwt', params.istioNamespace),
      spec: {
        action: 'DENY',
        selector: gatewaySelector,
        rules: [{ from: [{ source: { notRequestPrincipals: ['*'] } }],
                  to: [{ operation: { notPaths: loginPaths } }] }],
      },
    },
  ],

  routes(params)::
    local ns = params.namespace;
    local svc(name) = name + '.' + ns + '.svc.' + params.clusterDomain;
    [
      virtualService('dex', ns, params.gateway, '/dex/', svc('dex'), 5556),
      virtualService('oauth2-proxy', ns, params.gateway, '/oauth2/', svc('oauth2-proxy'), 80),
    ],
}
