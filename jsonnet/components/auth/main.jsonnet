// Kubeflow 1.10 authentication (common/dex, common/oauth2-proxy): dex issues tokens, oauth2-proxy is the
// istio CUSTOM ext-authz provider at the gateway, RequestAuthentication turns the JWT into kubeflow-userid.
local k = import 'k.libsonnet';
local policies = import 'policies.libsonnet';

local secretName = 'oidc-client';
local passwordsSecret = 'dex-passwords';

local dexConfig(params, issuer) = {
  issuer: issuer,
  storage: if params.dexStorage == 'memory' then { type: 'memory' }
           else { type: 'kubernetes', config: { inCluster: true } },
  web: { http: '0.0.0.0:5556' },
  telemetry: { http: '0.0.0.0:5558' },
  logger: { level: 'info', format: 'text' },
  oauth2: { skipApprovalScreen: true },
  enablePasswordDB: true,
  staticPasswords: [{
    email: params.userEmail, hashFromEnv: 'DEX_USER_PASSWORD', username: 'user', userID: '15841185641784',
  }],
  staticClients: [{
    idEnv: 'OIDC_CLIENT_ID', secretEnv: 'OIDC_CLIENT_SECRET', name: 'Kubeflow', redirectURIs: ['/oauth2/callback'],
  }],
};

local dex(params, issuer) =
  local ns = params.namespace;
  local c = k.container('dex', params.dexImage,
                        command=['dex', 'serve', '/etc/dex/cfg/config.yaml'],
                        ports=[k.port('http', 5556), k.port('telemetry', 5558)],
                        // Env expansion off: dex reads hashFromEnv, idEnv and secretEnv itself.
                        env=[k.env('DEX_EXPAND_ENV', 'false'),
                             k.envFrom('DEX_USER_PASSWORD', passwordsSecret, 'DEX_USER_PASSWORD'),
                             k.envFrom('OIDC_CLIENT_ID', secretName, 'client-id'),
                             k.envFrom('OIDC_CLIENT_SECRET', secretName, 'client-secret'),
                             { name: 'KUBERNETES_POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }],
                        resources=k.resources('20m', '64Mi'),
                        volumeMounts=[{ name: 'config', mountPath: '/etc/dex/cfg' }])
            + { readinessProbe: k.httpProbe('/healthz/ready', 'telemetry'),
                livenessProbe: k.httpProbe('/healthz/live', 'telemetry') };
  [
    k.serviceAccount('dex', ns),
    k.secret(passwordsSecret, ns, { DEX_USER_PASSWORD: params.userPasswordHash }),
    // Dex keeps its state in dex.coreos.com custom resources, whose CRDs it creates on start.
    if params.dexStorage == 'kubernetes' then [
      k.clusterRole('dex', [
        k.rule(['dex.coreos.com'], ['*'], ['*']),
        k.rule(['apiextensions.k8s.io'], ['customresourcedefinitions'], ['create', 'get', 'list']),
      ]),
      k.clusterRoleBinding('dex', 'dex', [k.saSubject('dex', ns)]),
    ] else [],
    k.configMap('dex', ns, { 'config.yaml': std.manifestYamlDoc(dexConfig(params, issuer), quote_keys=false) }),
    k.deployment('dex', ns, [c], params.replicas, 'dex',
                 volumes=[{ name: 'config', configMap: { name: 'dex', items: [{ key: 'config.yaml', path: 'config.yaml' }] } }]),
    k.service('dex', ns, [k.servicePort('dex', 5556, 'http')]),
  ];

local oauth2ProxyConfig(params, issuer) = std.join('\n', [
  'provider = "oidc"',
  'oidc_issuer_url = "' + issuer + '"',
  'scope = "profile email offline_access openid groups"',
  'email_domains = [ "*" ]',
  'insecure_oidc_allow_unverified_email = "true"',
  'upstreams = [ "static://200" ]',
  'skip_auth_routes = [ "^/dex/" ]',
  'api_routes = [ "/api/", "/apis/", "^/ml_metadata", "^/ml_metadata/" ]',
  'skip_oidc_discovery = true',
  'login_url = "/dex/auth"',
  'redeem_url = "' + issuer + '/token"',
  'oidc_jwks_url = "' + issuer + '/keys"',
  'skip_provider_button = false',
  'provider_display_name = "Dex"',
  'set_authorization_header = true',
  'set_xauthrequest = true',
  'cookie_name = "oauth2_proxy_kubeflow"',
  'cookie_expire = "' + params.cookieExpire + '"',
  // Browsers send a Secure cookie over HTTPS only: over plain HTTP login could never complete.
  'cookie_secure = ' + (if params.tls then 'true' else 'false'),
  'cookie_refresh = 0',
  'code_challenge_method = "S256"',
  'redirect_url = "/oauth2/callback"',
  'relative_redirect_url = true',
  '',
]);

local oauth2Proxy(params, issuer) =
  local ns = params.namespace;
  local name = 'oauth2-proxy';
  local c = k.container(name, params.oauth2ProxyImage,
                        args=['--http-address=0.0.0.0:4180', '--metrics-address=0.0.0.0:44180',
                              '--config=/etc/oauth2_proxy/oauth2_proxy.cfg'],
                        ports=[k.port('http', 4180), k.port('metrics', 44180)],
                        env=[k.envFrom('OAUTH2_PROXY_CLIENT_ID', secretName, 'client-id'),
                             k.envFrom('OAUTH2_PROXY_CLIENT_SECRET', secretName, 'client-secret'),
                             k.envFrom('OAUTH2_PROXY_COOKIE_SECRET', secretName, 'cookie-secret')],
                        resources=k.resources('10m', '64Mi'),
                        volumeMounts=[{ name: 'config', mountPath: '/etc/oauth2_proxy', readOnly: true }])
            + { readinessProbe: k.httpProbe('/ready', 'http'), livenessProbe: k.httpProbe('/ping', 'http') };
  [
    k.serviceAccount(name, ns),
    k.configMap(name, ns, { 'oauth2_proxy.cfg': oauth2ProxyConfig(params, issuer) }),
    k.deployment(name, ns, [c], params.replicas, name,
                 volumes=[{ name: 'config', configMap: { name: name } }]),
    k.service(name, ns, [k.servicePort('http', 80, 'http')]),
  ];

function(params)
  local ns = params.namespace;
  local issuer = 'http://dex.' + ns + '.svc.' + params.clusterDomain + ':5556/dex';
  [
    k.namespace(ns),
    k.allowSameNamespace(ns),
    k.allowIngress('dex', ns, 'dex', [k.peers.namespace(params.istioNamespace)], [5556]),
    k.allowIngress('oauth2-proxy', ns, 'oauth2-proxy', [k.peers.namespace(params.istioNamespace)], [4180]),
    k.secret(secretName, ns, {
      'client-id': params.oidcClientId,
      'client-secret': params.oidcClientSecret,
      'cookie-secret': params.cookieSecret,
    }),
    dex(params, issuer),
    oauth2Proxy(params, issuer),
    policies.gateway(params, issuer),
    policies.routes(params),
  ]
