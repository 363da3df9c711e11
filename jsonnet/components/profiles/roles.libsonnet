// The Kubeflow user roles. kubeflow-{admin,edit,view} are empty shells filled by aggregation; every
// component labels its own roles into them, and the profile controller binds them in user namespaces.
local k = import 'k.libsonnet';

local agg(role) = 'rbac.authorization.kubeflow.org/aggregate-to-' + role;
local core = ['pods', 'pods/log', 'persistentvolumeclaims', 'services', 'configmaps', 'events',
              'serviceaccounts', 'replicationcontrollers'];
local editVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

[
  k.aggregatedClusterRole('kubeflow-admin', agg('kubeflow-admin')),
  k.aggregatedClusterRole('kubeflow-edit', agg('kubeflow-edit'), { [agg('kubeflow-admin')]: 'true' }),
  k.aggregatedClusterRole('kubeflow-view', agg('kubeflow-view'), { [agg('kubeflow-edit')]: 'true' }),
  k.clusterRole('kubeflow-kubernetes-admin', [
    k.rule(['rbac.authorization.k8s.io'], ['roles', 'rolebindings'], editVerbs),
    k.rule(['authorization.k8s.io'], ['localsubjectaccessreviews'], ['create']),
  ], { [agg('kubeflow-admin')]: 'true' }),
  k.clusterRole('kubeflow-kubernetes-edit', [
    k.rule([''], core + ['secrets', 'pods/attach', 'pods/exec', 'pods/portforward'], editVerbs),
    k.rule(['apps'], ['deployments', 'replicasets', 'statefulsets'], editVerbs),
    k.rule(['batch'], ['jobs', 'cronjobs'], editVerbs),
    k.rule(['networking.k8s.io'], ['networkpolicies'], editVerbs),
  ], { [agg('kubeflow-edit')]: 'true' }),
  k.clusterRole('kubeflow-kubernetes-view', [
    k.rule([''], core + ['namespaces', 'resourcequotas'], k.readVerbs),
    k.rule(['apps'], ['deployments', 'replicasets', 'statefulsets'], k.readVerbs),
    k.rule(['batch'], ['jobs', 'cronjobs'], k.readVerbs),
    k.rule(['kubeflow.org'], ['profiles'], k.readVerbs),
  ], { [agg('kubeflow-view')]: 'true' }),
]
