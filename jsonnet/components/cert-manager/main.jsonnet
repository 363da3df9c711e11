// cert-manager v1.16 (upstream static manifest, condensed RBAC) and Kubeflow's self-signing ClusterIssuer.
local k = import 'k.libsonnet';
local crds = import 'crds.libsonnet';
local rbac = import 'rbac.libsonnet';

local podEnv = [{ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }];
local secure = { securityContext+: { readOnlyRootFilesystem: true } };
local podSecurity = { securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } } };

local controller(params) =
  local ns = params.namespace;
  local c = k.container('cert-manager-controller', params.registry + '/cert-manager-controller:' + params.version,
                        ports=[k.port('http-metrics', 9402), k.port('http-healthz', 9403)],
                        args=['--v=' + params.logLevel, '--cluster-resource-namespace=$(POD_NAMESPACE)',
                              '--leader-election-namespace=' + ns,
                              '--acme-http01-solver-image=' + params.registry + '/cert-manager-acmesolver:' + params.version,
                              '--max-concurrent-challenges=60'],
                        env=podEnv, resources=k.resources('50m', '128Mi'),
                        probe=k.httpProbe('/livez', 'http-healthz', 10)) + secure;
  [
    k.deployment('cert-manager', ns, [c], params.replicas, 'cert-manager', podExtra=podSecurity),
    k.service('cert-manager', ns, [k.servicePort('tcp-prometheus-servicemonitor', 9402, 'http-metrics')]),
  ];

local cainjector(params) =
  local ns = params.namespace;
  local c = k.container('cert-manager-cainjector', params.registry + '/cert-manager-cainjector:' + params.version,
                        ports=[k.port('http-metrics', 9402)],
                        args=['--v=' + params.logLevel, '--leader-election-namespace=' + ns],
                        env=podEnv, resources=k.resources('20m', '128Mi'),
                        probe=k.tcpProbe('http-metrics')) + secure;
  [k.deployment('cert-manager-cainjector', ns, [c], params.replicas, 'cert-manager-cainjector', podExtra=podSecurity)];

local webhook(params) =
  local ns = params.namespace;
  local svc = 'cert-manager-webhook';
  local c = k.container(svc, params.registry + '/cert-manager-webhook:' + params.version,
                        ports=[k.port('https', 10250), k.port('healthcheck', 6080), k.port('http-metrics', 9402)],
                        args=['--v=' + params.logLevel, '--secure-port=10250',
                              '--dynamic-serving-ca-secret-namespace=$(POD_NAMESPACE)',
                              '--dynamic-serving-ca-secret-name=cert-manager-webhook-ca',
                              '--dynamic-serving-dns-names=' + svc + ',' + svc + '.' + ns + ',' + svc + '.' + ns + '.svc'],
                        env=podEnv, resources=k.resources('20m', '64Mi'))
            + { readinessProbe: k.httpProbe('/healthz', 'healthcheck'), livenessProbe: k.httpProbe('/livez', 'healthcheck', 60) }
            + secure;
  local annotations = { 'cert-manager.io/inject-ca-from-secret': ns + '/cert-manager-webhook-ca' };
  local rules = [k.webhookRule(['cert-manager.io'], ['v1'], ['certificaterequests'], ['CREATE'])];
  local nsSelector = { matchExpressions: [{ key: 'cert-manager.io/disable-validation', operator: 'NotIn', values: ['true'] }] };
  [
    k.deployment(svc, ns, [c], params.replicas, svc, podExtra=podSecurity),
    k.service(svc, ns, [k.servicePort('https', 443, 'https'), k.servicePort('metrics', 9402, 'http-metrics')]),
    k.mutatingWebhookConfiguration(svc, [
      k.webhook('webhook.cert-manager.io', k.webhookClientConfig(svc, ns, '/mutate'), rules, params.webhookFailurePolicy),
    ], annotations),
    k.validatingWebhookConfiguration(svc, [
      k.webhook('webhook.cert-manager.io', k.webhookClientConfig(svc, ns, '/validate'),
                [k.webhookRule(['cert-manager.io', 'acme.cert-manager.io'], ['v1'], ['*/*'])],
                params.webhookFailurePolicy, namespaceSelector=nsSelector),
    ], annotations),
  ];

function(params)
  local ns = params.namespace;
  [
    k.namespace(ns),
    k.allowSameNamespace(ns),
    k.allowIngress('cert-manager-webhook', ns, 'cert-manager-webhook', ports=[10250]),  // the API server
    crds,
    rbac.controller(ns),
    rbac.cainjector(ns),
    rbac.webhook(ns),
    rbac.userRoles,
    controller(params),
    cainjector(params),
    webhook(params),
    if params.selfSigningIssuer then {
      apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer',
      metadata: k.meta('kubeflow-self-signing-issuer'),
      spec: { selfSigned: {} },
    } else [],
  ]
