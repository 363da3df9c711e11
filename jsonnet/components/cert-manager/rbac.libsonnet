// cert-manager RBAC, condensed from the upstream per-controller ClusterRoles into one per binary.
local k = import 'k.libsonnet';

local cm = ['cert-manager.io'];
local acme = ['acme.cert-manager.io'];
local leaderElection(name, ns) = [
  k.role(name + ':leaderelection', ns, [
    k.rule(['coordination.k8s.io'], ['leases'], ['get', 'create', 'update', 'patch']),
  ]),
  k.roleBinding(name + ':leaderelection', ns, name + ':leaderelection', [k.saSubject(name, ns)]),
];

{
  controller(ns):: [
    k.serviceAccount('cert-manager', ns),
    k.clusterRole('cert-manager-controller', [
      k.rule(cm, ['certificates', 'certificaterequests', 'issuers', 'clusterissuers'], k.allVerbs),
      k.rule(cm, ['certificates/status', 'certificaterequests/status', 'issuers/status', 'clusterissuers/status'], ['update', 'patch']),
      k.rule(cm, ['certificates/finalizers', 'certificaterequests/finalizers'], ['update']),
      k.rule(cm, ['signers'], ['approve']),
      k.rule(acme, ['orders', 'challenges'], k.allVerbs),
      k.rule(acme, ['orders/status', 'challenges/status', 'orders/finalizers', 'challenges/finalizers'], ['update', 'patch']),
      k.rule([''], ['secrets'], k.allVerbs),
      k.rule([''], ['events'], ['create', 'patch']),
      k.rule([''], ['pods', 'services'], ['get', 'list', 'watch', 'create', 'delete']),
      k.rule(['networking.k8s.io'], ['ingresses'], k.allVerbs),
      k.rule(['gateway.networking.k8s.io'], ['httproutes', 'gateways'], k.allVerbs),
      k.rule(['certificates.k8s.io'], ['certificatesigningrequests'], ['get', 'list', 'watch', 'update']),
      k.rule(['certificates.k8s.io'], ['certificatesigningrequests/status'], ['update', 'patch']),
      k.rule(['certificates.k8s.io'], ['signers'], ['sign'],) + { resourceNames: ['issuers.cert-manager.io/*', 'clusterissuers.cert-manager.io/*'] },
      k.rule(['authorization.k8s.io'], ['subjectaccessreviews'], ['create']),
    ]),
    k.clusterRoleBinding('cert-manager-controller', 'cert-manager-controller', [k.saSubject('cert-manager', ns)]),
    leaderElection('cert-manager', ns),
  ],

  cainjector(ns):: [
    k.serviceAccount('cert-manager-cainjector', ns),
    k.clusterRole('cert-manager-cainjector', [
      k.rule(cm, ['certificates'], k.readVerbs),
      k.rule([''], ['secrets'], k.readVerbs),
      k.rule([''], ['events'], ['get', 'create', 'update', 'patch']),
      k.rule(['admissionregistration.k8s.io'], ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations'], ['get', 'list', 'watch', 'update', 'patch']),
      k.rule(['apiregistration.k8s.io'], ['apiservices'], ['get', 'list', 'watch', 'update', 'patch']),
      k.rule(['apiextensions.k8s.io'], ['customresourcedefinitions'], ['get', 'list', 'watch', 'update', 'patch']),
    ]),
    k.clusterRoleBinding('cert-manager-cainjector', 'cert-manager-cainjector', [k.saSubject('cert-manager-cainjector', ns)]),
    leaderElection('cert-manager-cainjector', ns),
  ],

  webhook(ns):: [
    k.serviceAccount('cert-manager-webhook', ns),
    k.clusterRole('cert-manager-webhook:subjectaccessreviews', [
      k.rule(['authorization.k8s.io'], ['subjectaccessreviews'], ['create']),
    ]),
    k.clusterRoleBinding('cert-manager-webhook:subjectaccessreviews', 'cert-manager-webhook:subjectaccessreviews',
                         [k.saSubject('cert-manager-webhook', ns)]),
    // The webhook keeps its own serving CA in one Secret of its namespace.
    k.role('cert-manager-webhook:dynamic-serving', ns, [
      k.rule([''], ['secrets'], ['get', 'list', 'watch', 'update']) + { resourceNames: ['cert-manager-webhook-ca'] },
      k.rule([''], ['secrets'], ['create']),
    ]),
    k.roleBinding('cert-manager-webhook:dynamic-serving', ns, 'cert-manager-webhook:dynamic-serving',
                  [k.saSubject('cert-manager-webhook', ns)]),
  ],

  // Let namespace admins/editors/viewers use cert-manager objects (upstream aggregated roles).
  userRoles:: [
    k.clusterRole('cert-manager-view', [k.rule(cm, ['certificates', 'certificaterequests', 'issuers'], k.readVerbs),
                                        k.rule(acme, ['challenges', 'orders'], k.readVerbs)],
                  { 'rbac.authorization.k8s.io/aggregate-to-view': 'true',
                    'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
                    'rbac.authorization.k8s.io/aggregate-to-admin': 'true' }),
    k.clusterRole('cert-manager-edit', [k.rule(cm, ['certificates', 'certificaterequests', 'issuers'], ['create', 'delete', 'deletecollection', 'patch', 'update']),
                                        k.rule(cm, ['certificates/status'], ['update']),
                                        k.rule(acme, ['challenges', 'orders'], ['create', 'delete', 'deletecollection', 'patch', 'update'])],
                  { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
                    'rbac.authorization.k8s.io/aggregate-to-admin': 'true' }),
  ],
}
