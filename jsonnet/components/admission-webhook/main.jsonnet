// Kubeflow 1.10 PodDefault admission webhook (apps/admission-webhook/upstream, cert-manager overlay).
local k = import 'k.libsonnet';

local name = 'admission-webhook';
local deploymentName = name + '-deployment';
local serviceName = name + '-service';
local certName = name + '-cert';
local certSecret = 'webhook-certs';
local certDir = '/etc/webhook/certs';
local agg(role) = { ['rbac.authorization.kubeflow.org/aggregate-to-kubeflow-' + role]: 'true' };
local editVerbs = ['get', 'list', 'watch', 'create', 'delete', 'deletecollection', 'patch', 'update'];

local podDefaultCrd = k.crd('kubeflow.org', 'PodDefault', 'poddefaults', [k.crdVersion('v1alpha1', subresources=null)]);

local certificates(ns) = [
  {
    apiVersion: 'cert-manager.io/v1', kind: 'Issuer',
    metadata: k.meta(name + '-selfsigned-issuer', ns),
    spec: { selfSigned: {} },
  },
  {
    apiVersion: 'cert-manager.io/v1', kind: 'Certificate',
    metadata: k.meta(certName, ns),
    spec: {
      commonName: serviceName + '.' + ns + '.svc',
      dnsNames: [serviceName + '.' + ns + '.svc', serviceName + '.' + ns + '.svc.cluster.local'],
      isCA: true,
      issuerRef: { kind: 'Issuer', name: name + '-selfsigned-issuer' },
      secretName: certSecret,
    },
  },
];

local deployment(params) =
  local c = k.container(name, params.registry + '/poddefaults-webhook:' + params.imageTag,
                        ports=[k.port('https-webhook', 4443)],
                        // The server's defaults are cert.pem/key.pem; cert-manager's Secret holds tls.crt/tls.key.
                        args=['--tlsCertFile=' + certDir + '/tls.crt', '--tlsKeyFile=' + certDir + '/tls.key'],
                        resources=k.resources('20m', '64Mi'),
                        probe=k.tcpProbe('https-webhook'),
                        volumeMounts=[{ name: certSecret, mountPath: certDir, readOnly: true }]) + k.runAs(65532);
  k.deployment(deploymentName, params.namespace, [c], params.replicas, name + '-service-account',
               volumes=[{ name: certSecret, secret: { secretName: certSecret } }]);

local webhookConfig(params) =
  k.mutatingWebhookConfiguration(name + '-mutating-webhook-configuration', [
    k.webhook('admission-webhook-deployment.kubeflow.org',
              k.webhookClientConfig(serviceName, params.namespace, '/apply-poddefault'),
              [k.webhookRule([''], ['v1'], ['pods'], ['CREATE'])],
              params.webhookFailurePolicy,
              namespaceSelector={ matchLabels: params.profileNamespaceLabel },
              // The platform's own pods never carry PodDefaults; skipping them keeps installs independent
              // of this webhook's health.
              objectSelector={ matchExpressions: [{ key: 'app.kubernetes.io/part-of', operator: 'NotIn', values: ['kubeflow'] }] }),
  ], { 'cert-manager.io/inject-ca-from': params.namespace + '/' + certName });

function(params)
  local ns = params.namespace;
  local sa = name + '-service-account';
  [
    podDefaultCrd,
    k.serviceAccount(sa, ns),
    k.clusterRole(name + '-cluster-role', [
      k.rule(['kubeflow.org'], ['poddefaults'], k.readVerbs),
    ]),
    k.clusterRoleBinding(name + '-cluster-role-binding', name + '-cluster-role', [k.saSubject(sa, ns)]),
    k.clusterRole(name + '-kubeflow-poddefaults-edit', [k.rule(['kubeflow.org'], ['poddefaults'], editVerbs)], agg('edit')),
    k.clusterRole(name + '-kubeflow-poddefaults-view', [k.rule(['kubeflow.org'], ['poddefaults'], k.readVerbs)], agg('view')),
    certificates(ns),
    deployment(params),
    k.service(serviceName, ns, [k.servicePort('https-webhook', 443, 'https-webhook')], selectorName=deploymentName),
    webhookConfig(params),
    k.allowIngress('poddefaults', ns, deploymentName, ports=[4443]),  // the API server
  ]
