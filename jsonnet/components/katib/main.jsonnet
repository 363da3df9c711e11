// Katib v0.18 (upstream manifests/v1beta1/installs/katib-with-kubeflow): CRDs, controller with
// cert-manager issued webhook certificate, db-manager, MySQL, UI behind the Kubeflow gateway.
local k = import 'k.libsonnet';
local config = import 'config.libsonnet';

local group = 'kubeflow.org';
local plurals = ['experiments', 'suggestions', 'trials'];
local certSecret = 'katib-webhook-cert';
local mysqlSecret = 'katib-mysql-secrets';

local columns = [
  { name: 'Type', type: 'string', jsonPath: '.status.conditions[-1:].type' },
  { name: 'Status', type: 'string', jsonPath: '.status.conditions[-1:].status' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];
local suggestionColumns = columns[:2] + [
  { name: 'Requested', type: 'string', jsonPath: '.spec.requests' },
  { name: 'Assigned', type: 'string', jsonPath: '.status.suggestionCount' },
] + columns[2:];
local crds = [
  k.crd(group, kind, std.asciiLower(kind) + 's',
        [k.crdVersion('v1beta1', printerColumns=if kind == 'Suggestion' then suggestionColumns else columns)],
        categories=['all', 'kubeflow', 'katib'])
  for kind in ['Experiment', 'Suggestion', 'Trial']
];

local controllerRules = [
  k.rule([''], ['configmaps', 'serviceaccounts', 'services', 'events', 'namespaces',
                'persistentvolumes', 'persistentvolumeclaims', 'pods', 'pods/log', 'pods/status'], k.allVerbs),
  k.rule([''], ['secrets'], ['get', 'list', 'watch']),
  k.rule(['apps'], ['deployments'], k.allVerbs),
  k.rule(['rbac.authorization.k8s.io'], ['roles', 'rolebindings'], k.allVerbs),
  k.rule(['batch'], ['jobs', 'cronjobs'], k.allVerbs),
  k.rule([group], ['experiments', 'experiments/status', 'experiments/finalizers',
                   'trials', 'trials/status', 'trials/finalizers',
                   'suggestions', 'suggestions/status', 'suggestions/finalizers'], k.allVerbs),
  k.rule([group], ['tfjobs', 'pytorchjobs', 'mpijobs', 'xgboostjobs', 'paddlejobs', 'jaxjobs'], k.allVerbs),
  k.rule(['coordination.k8s.io'], ['leases'], k.allVerbs),
];

local uiRules = [
  k.rule([''], ['configmaps', 'namespaces'], k.allVerbs),
  k.rule([group], plurals, k.allVerbs),
  k.rule([''], ['pods', 'pods/log', 'events'], k.readVerbs),
  k.rule(['authorization.k8s.io'], ['subjectaccessreviews'], ['create']),
];

local aggregateTo(role) = { ['rbac.authorization.kubeflow.org/aggregate-to-' + role]: 'true' };
local userRoles = [
  k.clusterRole('kubeflow-katib-admin', [], aggregateTo('kubeflow-admin')) + {
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: aggregateTo('kubeflow-katib-admin') }] },
  },
  k.clusterRole('kubeflow-katib-edit', [
    k.rule([group], plurals, ['get', 'list', 'watch', 'create', 'delete', 'deletecollection', 'patch', 'update']),
    k.rule([''], ['pods/log'], k.readVerbs),
  ], aggregateTo('kubeflow-edit') + aggregateTo('kubeflow-katib-admin')),
  k.clusterRole('kubeflow-katib-view', [k.rule([group], plurals, k.readVerbs)], aggregateTo('kubeflow-view')),
];

local noSidecar = { spec+: { template+: { metadata+: { annotations: { 'sidecar.istio.io/inject': 'false' } } } } };

local controller(params) =
  local ns = params.namespace;
  local c = k.container(
    'katib-controller', params.registry + '/katib-controller:' + params.imageTag,
    ports=[k.port('webhook', 8443), k.port('metrics', 8080), k.port('healthz', 18080)],
    command=['./katib-controller'], args=['--katib-config=/katib-config/katib-config.yaml'],
    env=[{ name: 'KATIB_CORE_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }],
    resources=k.resources('100m', '128Mi', limitMemory='512Mi'),
    volumeMounts=[{ name: 'cert', mountPath: '/tmp/cert', readOnly: true },
                  { name: 'katib-config', mountPath: '/katib-config', readOnly: true }],
  ) + k.runAs(1000) + { readinessProbe: k.httpProbe('/readyz', 'healthz', 10), livenessProbe: k.httpProbe('/healthz', 'healthz', 15) };
  [
    k.controllerRbac('katib-controller', ns, controllerRules),
    k.service('katib-controller', ns, [k.servicePort('webhook', 443, 'webhook'),
                                       k.servicePort('metrics', 8080, 'metrics')])
    + { metadata+: { annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080' } } },
    k.deployment('katib-controller', ns, [c], params.replicas, sa='katib-controller', volumes=[
      { name: 'cert', secret: { secretName: certSecret } },
      { name: 'katib-config', configMap: { name: 'katib-config' } },
    ]) + noSidecar,
  ];

local dbManager(params) =
  local ns = params.namespace;
  local c = k.container(
    'katib-db-manager', params.registry + '/katib-db-manager:' + params.imageTag,
    ports=[k.port('api', 6789)], command=['./katib-db-manager'],
    env=[k.env('DB_NAME', 'mysql'), k.env('DB_USER', 'root'), k.env('KATIB_MYSQL_DB_HOST', 'katib-mysql'),
         k.env('KATIB_MYSQL_DB_PORT', '3306'), k.env('KATIB_MYSQL_DB_DATABASE', 'katib'),
         k.envFrom('DB_PASSWORD', mysqlSecret, 'MYSQL_ROOT_PASSWORD')],
    resources=k.resources('50m', '64Mi', limitMemory='256Mi'),
  ) + k.runAs(1000) + { readinessProbe: { grpc: { port: 6789 }, initialDelaySeconds: 5, periodSeconds: 10 },
        livenessProbe: { grpc: { port: 6789 }, initialDelaySeconds: 10, periodSeconds: 60, failureThreshold: 5 } };
  [
    k.service('katib-db-manager', ns, [k.servicePort('api', 6789, 'api')]),
    k.deployment('katib-db-manager', ns, [c], params.replicas) + noSidecar,
  ];

local mysql(params) =
  local ns = params.namespace;
  local ready = { exec: { command: ['/bin/bash', '-c', 'mysql -D ${MYSQL_DATABASE} -u root -p${MYSQL_ROOT_PASSWORD} -e "SELECT 1"'] },
                  initialDelaySeconds: 15, periodSeconds: 10, timeoutSeconds: 5 };
  local c = k.container(
    'katib-mysql', params.mysqlImage, ports=[k.port('dbapi', 3306)],
    args=['--datadir', '/var/lib/mysql/datadir'],
    env=[k.envFrom('MYSQL_ROOT_PASSWORD', mysqlSecret, 'MYSQL_ROOT_PASSWORD'), k.env('MYSQL_DATABASE', 'katib')],
    resources=k.resources('250m', '512Mi', limitMemory='1Gi'),
    volumeMounts=[{ name: 'katib-mysql', mountPath: '/var/lib/mysql' }],
  ) + k.runAs(999, 999) + { readinessProbe: ready, livenessProbe: ready + { initialDelaySeconds: 30, failureThreshold: 10 } };
  [
    k.secret(mysqlSecret, ns, { MYSQL_ROOT_PASSWORD: params.mysqlPassword }),
    k.pvc('katib-mysql', ns, params.mysqlStorage,
          storageClass=if params.storageClass != '' then params.storageClass else null),
    k.service('katib-mysql', ns, [k.servicePort('dbapi', 3306, 'dbapi')]),
    k.deployment('katib-mysql', ns, [c], 1,
                 volumes=[{ name: 'katib-mysql', persistentVolumeClaim: { claimName: 'katib-mysql' } }],
                 podExtra={ securityContext: { fsGroup: 999, fsGroupChangePolicy: 'OnRootMismatch' } })
    + noSidecar + { spec+: { strategy: { type: 'Recreate' } } },
  ];

local ui(params) =
  local ns = params.namespace;
  local gw = std.split(params.gateway, '/');
  local c = k.container(
    'katib-ui', params.registry + '/katib-ui:' + params.imageTag,
    ports=[k.port('ui', 8080)], command=['./katib-ui'], args=['--port=8080'],
    env=[{ name: 'KATIB_CORE_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
         k.env('APP_DISABLE_AUTH', 'false')],
    resources=k.resources('50m', '64Mi', limitMemory='256Mi'),
    probe=k.httpProbe('/katib/', 'ui', 5),
  ) + k.runAs(1000);
  [
    k.controllerRbac('katib-ui', ns, uiRules),
    k.service('katib-ui', ns, [k.servicePort('ui', 80, 'ui')]),
    k.deployment('katib-ui', ns, [c], params.replicas, sa='katib-ui'),
    {
      apiVersion: 'networking.istio.io/v1beta1', kind: 'VirtualService',
      metadata: k.meta('katib-ui', ns),
      spec: {
        gateways: [params.gateway], hosts: ['*'],
        http: [{
          match: [{ uri: { prefix: '/katib/' } }], rewrite: { uri: '/katib/' },
          route: [{ destination: { host: 'katib-ui.' + ns + '.svc.cluster.local', port: { number: 80 } } }],
        }],
      },
    },
    // The mesh denies by default; the UI takes requests from the ingress gateway only.
    {
      apiVersion: 'security.istio.io/v1beta1', kind: 'AuthorizationPolicy',
      metadata: k.meta('katib-ui', ns),
      spec: {
        selector: { matchLabels: k.labels('katib-ui') },
        rules: [{ from: [{ source: { principals: [
          'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account',
        ] } }] }],
      },
    },
  ];

local webhooks(params) =
  local ns = params.namespace;
  local cc(path) = k.webhookClientConfig('katib-controller', ns, path);
  local inject = { 'cert-manager.io/inject-ca-from': ns + '/katib-webhook-cert' };
  local experiments = [k.webhookRule([group], ['v1beta1'], ['experiments'])];
  [
    k.validatingWebhookConfiguration('katib.kubeflow.org', [
      k.webhook('validator.experiment.katib.kubeflow.org', cc('/validate-experiment'), experiments,
                params.webhookFailurePolicy),
    ], inject),
    k.mutatingWebhookConfiguration('katib.kubeflow.org', [
      k.webhook('defaulter.experiment.katib.kubeflow.org', cc('/mutate-experiment'), experiments,
                params.webhookFailurePolicy),
      k.webhook('mutator.pod.katib.kubeflow.org', cc('/mutate-pod'),
                [k.webhookRule([''], ['v1'], ['pods'], ['CREATE'])], params.webhookFailurePolicy,
                namespaceSelector={ matchLabels: { 'katib.kubeflow.org/metrics-collector-injection': 'enabled' } }),
    ], inject),
  ];

local certificates(ns) = [
  { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: k.meta('katib-selfsigned-issuer', ns),
    spec: { selfSigned: {} } },
  { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: k.meta('katib-webhook-cert', ns),
    spec: {
      isCA: true, commonName: 'katib-controller.' + ns + '.svc',
      dnsNames: ['katib-controller.' + ns + '.svc', 'katib-controller.' + ns + '.svc.cluster.local'],
      issuerRef: { kind: 'Issuer', name: 'katib-selfsigned-issuer' },
      secretName: certSecret,
    } },
];

// Trials in profile namespaces report to the db-manager; the API server calls the webhooks.
local network(ns) = [
  k.allowIngress('katib-controller', ns, 'katib-controller', ports=[8443]),
  k.allowIngress('katib-db-manager', ns, 'katib-db-manager', [k.peers.profiles, k.peers.sameNamespace]),
  k.allowIngress('katib-ui', ns, 'katib-ui', [k.peers.namespace('istio-system')]),
];

function(params)
  [
    crds,
    userRoles,
    config.katibConfig(params),
    config.trialTemplates(params),
    certificates(params.namespace),
    controller(params),
    dbManager(params),
    mysql(params),
    ui(params),
    webhooks(params),
    network(params.namespace),
  ]
