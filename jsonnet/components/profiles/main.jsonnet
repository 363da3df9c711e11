// Kubeflow 1.10 profiles (apps/profiles/upstream): Profile CRD, controller + KFAM, user roles, default Profile.
local k = import 'k.libsonnet';
local roles = import 'roles.libsonnet';

local sa = 'profiles-controller-service-account';
local ageColumn = [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }];

local profileCrd = k.crd('kubeflow.org', 'Profile', 'profiles', [
  k.crdVersion('v1', storage=true, printerColumns=ageColumn),
  k.crdVersion('v1beta1', storage=false, printerColumns=ageColumn),
], scope='Cluster');

local deployment(params) =
  local ns = params.namespace;
  local manager = k.container('manager', params.registry + '/profile-controller:' + params.imageTag,
                              command=['/manager'],
                              args=['-userid-header', params.userIdHeader, '-userid-prefix', params.userIdPrefix,
                                    '-workload-identity', ''],
                              ports=[k.port('manager-http', 9876)],
                              resources=k.resources('50m', '128Mi'),
                              volumeMounts=[{ name: 'namespace-labels', mountPath: '/etc/profile-controller', readOnly: true }])
                  + { readinessProbe: k.httpProbe('/readyz', 'manager-http'), livenessProbe: k.httpProbe('/healthz', 'manager-http', 15) };
  local kfam = k.container('kfam', params.registry + '/kfam:' + params.imageTag,
                           command=['/access-management'],
                           args=['-cluster-admin', params.clusterAdmin, '-userid-header', params.userIdHeader,
                                 '-userid-prefix', params.userIdPrefix],
                           ports=[k.port('kfam-http', 8081)],
                           resources=k.resources('20m', '64Mi'),
                           probe=k.httpProbe('/metrics', 'kfam-http', 10));
  k.deployment('profiles-deployment', ns, [manager, kfam], params.replicas, sa,
               volumes=[{ name: 'namespace-labels', configMap: { name: 'namespace-labels-data' } }]);

// KFAM is called by the central dashboard (in-mesh) and through the gateway at /kfam/.
local kfamPolicy(params) = {
  apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy',
  metadata: k.meta('profiles-kfam', params.namespace),
  spec: {
    action: 'ALLOW',
    selector: { matchLabels: k.labels('profiles-deployment') },
    rules: [{ from: [{ source: { principals: [
      'cluster.local/ns/' + params.namespace + '/sa/centraldashboard',
      'cluster.local/ns/' + params.istioNamespace + '/sa/istio-ingressgateway-service-account',
    ] } }] }],
  },
};

// Profile namespaces are sidecar-injected: baseline Pod Security as upstream, privileged when
// istio-init (no istio-cni) needs NET_ADMIN there. namespaceLabels may set the level itself.
local namespaceLabels(params) =
  { 'pod-security.kubernetes.io/enforce': if params.istioCni then 'baseline' else 'privileged' }
  + params.namespaceLabels;

function(params)
  local ns = params.namespace;
  [
    profileCrd,
    k.serviceAccount(sa, ns),
    // The controller grants kubeflow-admin/edit/view in every profile namespace; RBAC escalation
    // prevention means it must hold every permission those roles aggregate, so upstream binds cluster-admin.
    k.clusterRoleBinding('profiles-cluster-role-binding', 'cluster-admin', [k.saSubject(sa, ns)]),
    k.role('profiles-leader-election-role', ns, [
      k.rule(['coordination.k8s.io'], ['leases'], ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']),
      k.rule([''], ['events'], ['create', 'patch']),
    ]),
    k.roleBinding('profiles-leader-election-rolebinding', ns, 'profiles-leader-election-role', [k.saSubject(sa, ns)]),
    roles,
    k.configMap('namespace-labels-data', ns, { 'namespace-labels.yaml': std.manifestYamlDoc(namespaceLabels(params), quote_keys=false) }),
    deployment(params),
    k.service('profiles-kfam', ns, [k.servicePort('http', 8081, 'kfam-http')], selectorName='profiles-deployment'),
    k.virtualService('profiles-kfam', ns, '/kfam/', 'profiles-kfam.' + ns + '.svc.cluster.local', 8081),
    kfamPolicy(params),
    k.allowIngress('profiles-kfam', ns, 'profiles-deployment', [k.peers.namespace(params.istioNamespace)], [8081]),
    if params.defaultProfile then {
      apiVersion: 'kubeflow.org/v1', kind: 'Profile',
      metadata: k.meta(params.defaultProfileName),
      spec: { owner: { kind: 'User', name: params.defaultProfileOwner } },
    } else [],
  ]
