// Step caching (v1 pipelines): the cache server mutates pipeline pods through a webhook. Its TLS
// certificate comes from cert-manager (as Kubeflow's platform-agnostic-multi-user install does)
// or, with cacheDeployer, from the upstream cache-deployer through the CertificateSigningRequest API.
local k = import 'k.libsonnet';
local c = import 'common.libsonnet';

local sa = 'kubeflow-pipelines-cache';
local tlsSecret = 'webhook-server-tls';
local certDir = '/etc/webhook/certs';  // fixed in the server (TLSDir)
local tlsCert = 'tls.crt';  // the keys of cert-manager's Secret
local tlsKey = 'tls.key';

local server(params) =
  local ns = params.namespace;
  local cfg = 'pipeline-install-config';
  local container = k.container(
    'server', c.image(params, 'kfp-cache-server'), ports=[k.port('webhook-api', 8443)],
    args=['--db_driver=$(DBCONFIG_DRIVER)', '--db_host=$(DBCONFIG_HOST_NAME)', '--db_port=$(DBCONFIG_PORT)',
          '--db_name=$(DBCONFIG_DB_NAME)', '--db_user=$(DBCONFIG_USER)', '--db_password=$(DBCONFIG_PASSWORD)',
          '--namespace_to_watch=$(NAMESPACE_TO_WATCH)', '--listen_port=8443',
          // File names: the server joins them onto its fixed cert dir, /etc/webhook/certs.
          '--tls_cert_filename=' + tlsCert, '--tls_key_filename=' + tlsKey],
    env=[k.env('DBCONFIG_DRIVER', 'mysql'),
         c.configEnv('DBCONFIG_DB_NAME', cfg, 'cacheDb'), c.configEnv('DBCONFIG_HOST_NAME', cfg, 'dbHost'),
         c.configEnv('DBCONFIG_PORT', cfg, 'dbPort'),
         c.secretEnv('DBCONFIG_USER', 'mysql-secret', 'username'),
         c.secretEnv('DBCONFIG_PASSWORD', 'mysql-secret', 'password'),
         k.env('NAMESPACE_TO_WATCH', if params.multiUser then '' else ns),
         c.configEnv('CACHE_IMAGE', cfg, 'cacheImage'),
         c.configEnv('CACHE_NODE_RESTRICTIONS', cfg, 'cacheNodeRestrictions')],
    resources=k.resources('20m', '64Mi', limitMemory='256Mi'),
    volumeMounts=[{ name: 'webhook-tls-certs', mountPath: certDir, readOnly: true }],
  ) + k.runAs(1000, 0) + { readinessProbe: k.tcpProbe('webhook-api', 3), livenessProbe: k.tcpProbe('webhook-api', 15) };
  [
    k.serviceAccount(sa, ns),
    k.clusterRole('kubeflow-pipelines-cache-role', [
      k.rule([''], ['pods'], ['get', 'list', 'watch', 'update', 'patch']),
      k.rule(['argoproj.io'], ['workflows'], ['get', 'list', 'watch', 'update', 'patch']),
    ]),
    k.clusterRoleBinding('kubeflow-pipelines-cache-binding', 'kubeflow-pipelines-cache-role', [k.saSubject(sa, ns)]),
    k.service('cache-server', ns, [k.servicePort('webhook-api', 443, 'webhook-api')]),
    // The API server calls the webhook without a mesh certificate, so no sidecar here.
    k.deployment('cache-server', ns, [container], params.replicas, sa=sa,
                 volumes=[{ name: 'webhook-tls-certs', secret: { secretName: tlsSecret } }]) + c.noSidecar,
  ];

local certManagerTls(params) =
  local ns = params.namespace;
  local svc = 'cache-server.' + ns;
  [
    { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: k.meta('kfp-cache-selfsigned-issuer', ns),
      spec: { selfSigned: {} } },
    { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: k.meta('kfp-cache-cert', ns),
      spec: { commonName: svc + '.svc', isCA: true, secretName: tlsSecret,
              dnsNames: ['cache-server', svc, svc + '.svc', svc + '.svc.cluster.local'],
              issuerRef: { kind: 'Issuer', name: 'kfp-cache-selfsigned-issuer' } } },
    k.mutatingWebhookConfiguration('cache-webhook-' + ns, [
      k.webhook('cache-server.' + ns + '.svc', k.webhookClientConfig('cache-server', ns, '/mutate'),
                [k.webhookRule([''], ['v1'], ['pods'], ['CREATE'])], 'Ignore',
                objectSelector={ matchLabels: { 'pipelines.kubeflow.org/cache_enabled': 'true' } }),
    ], { 'cert-manager.io/inject-ca-from': ns + '/kfp-cache-cert' }),
  ];

// The deployer signs a certificate through the CSR API and creates the webhook configuration itself.
local deployer(params) =
  local ns = params.namespace;
  local dsa = 'kubeflow-pipelines-cache-deployer-sa';
  local alive = { exec: { command: ['ls', '/proc/1'] }, initialDelaySeconds: 10, periodSeconds: 30 };
  local container = k.container(
    'main', c.image(params, 'kfp-cache-deployer'), env=[c.fieldEnv('NAMESPACE_TO_WATCH', 'metadata.namespace')],
    resources=k.resources('10m', '32Mi', limitMemory='128Mi'),
  ) + k.runAs(1000, 0) + { readinessProbe: alive, livenessProbe: alive };
  [
    k.serviceAccount(dsa, ns),
    k.clusterRole('kubeflow-pipelines-cache-deployer-clusterrole', [
      k.rule(['certificates.k8s.io'], ['certificatesigningrequests', 'certificatesigningrequests/approval'],
             ['create', 'delete', 'get', 'update']),
      k.rule(['admissionregistration.k8s.io'], ['mutatingwebhookconfigurations'],
             ['create', 'delete', 'get', 'list', 'patch']),
      k.rule(['certificates.k8s.io'], ['signers'], ['approve']) + { resourceNames: ['kubernetes.io/*'] },
    ]),
    k.clusterRoleBinding('kubeflow-pipelines-cache-deployer-clusterrolebinding',
                         'kubeflow-pipelines-cache-deployer-clusterrole', [k.saSubject(dsa, ns)]),
    k.role('kubeflow-pipelines-cache-deployer-role', ns,
           [k.rule([''], ['secrets'], ['create', 'delete', 'get', 'patch', 'list'])]),
    k.roleBinding('kubeflow-pipelines-cache-deployer-rolebinding', ns,
                  'kubeflow-pipelines-cache-deployer-role', [k.saSubject(dsa, ns)]),
    k.deployment('cache-deployer-deployment', ns, [container], 1, sa=dsa)
    + { spec+: { strategy: { type: 'Recreate' } } } + c.noSidecar,
  ];

{
  all(params)::
    if !params.cacheEnabled then []
    else [server(params), if params.cacheDeployer then deployer(params) else certManagerTls(params)],
}
