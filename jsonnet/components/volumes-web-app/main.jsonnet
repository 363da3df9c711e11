// Kubeflow 1.10 volumes web app (components/crud-web-apps/volumes, istio overlay).
local k = import 'k.libsonnet';

local name = 'volumes-web-app';
local deploymentName = name + '-deployment';
local sa = name + '-service-account';
local agg(role) = { ['rbac.authorization.kubeflow.org/aggregate-to-kubeflow-' + role]: 'true' };

local container(params) =
  k.container(name, params.registry + '/volumes-web-app:' + params.imageTag,
              ports=[k.port('http', 5000)],
              env=[
                k.env('APP_PREFIX', '/volumes'),
                k.env('USERID_HEADER', params.userIdHeader),
                k.env('USERID_PREFIX', params.userIdPrefix),
                k.env('APP_SECURE_COOKIES', 'true'),
                k.env('VOLUME_VIEWER_IMAGE', 'filebrowser/filebrowser:v2.25.0'),
              ],
              resources=k.resources('20m', '128Mi')) + k.runAs(1000)
  + { readinessProbe: k.httpProbe('/healthz/readiness', 'http'),
      livenessProbe: k.httpProbe('/healthz/liveness', 'http', 15) };

function(params)
  local ns = params.namespace;
  [
    k.serviceAccount(sa, ns),
    k.clusterRole(name + '-cluster-role', [
      k.rule([''], ['namespaces'], ['get', 'list']),
      k.rule(['authorization.k8s.io'], ['subjectaccessreviews'], ['create']),
      k.rule([''], ['persistentvolumeclaims'], ['create', 'delete', 'get', 'list', 'watch', 'update', 'patch']),
      k.rule(['storage.k8s.io'], ['storageclasses'], ['get', 'list', 'watch']),
      k.rule([''], ['pods', 'events'], ['list']),
      k.rule(['kubeflow.org'], ['notebooks', 'pvcviewers'], ['list', 'get', 'create', 'delete']),
    ]),
    k.clusterRoleBinding(name + '-cluster-role-binding', name + '-cluster-role', [k.saSubject(sa, ns)]),
    // Users' own access to volumes comes from kubeflow-kubernetes-edit/view (profiles); this adds storage classes.
    k.clusterRole(name + '-kubeflow-volume-ui-view', [k.rule(['storage.k8s.io'], ['storageclasses'], k.readVerbs)], agg('view')),
    k.deployment(deploymentName, ns, [container(params)], params.replicas, sa),
    k.service(name + '-service', ns, [k.servicePort('http', 80, 'http')], selectorName=deploymentName),
    k.virtualService(name, ns, '/volumes/', name + '-service.' + ns + '.svc.' + params.clusterDomain, 80,
                     params.gateway, '/'),
    k.allowFromGateway(name, ns, deploymentName, params.istioNamespace),
  ]
