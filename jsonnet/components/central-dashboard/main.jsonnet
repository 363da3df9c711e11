// Kubeflow 1.10 central dashboard (apps/centraldashboard/upstream, istio overlay).
local k = import 'k.libsonnet';
local links = import 'links.libsonnet';

local name = 'centraldashboard';
local configName = 'centraldashboard-config';

local container(params) =
  k.container(name, params.registry + '/central-dashboard:' + params.imageTag,
              ports=[k.port('http', 8082)],
              env=[
                k.env('USERID_HEADER', params.userIdHeader),
                k.env('USERID_PREFIX', params.userIdPrefix),
                k.env('PROFILES_KFAM_SERVICE_HOST', 'profiles-kfam.' + params.namespace),
                k.env('REGISTRATION_FLOW', params.registrationFlow),
                k.env('DASHBOARD_CONFIGMAP', configName),
                k.env('LOGOUT_URL', params.logoutUrl),
                { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              ],
              resources=k.resources('50m', '128Mi'),
              probe=k.httpProbe('/healthz', 'http', 10)) + k.runAs(1000);

function(params)
  local ns = params.namespace;
  [
    k.serviceAccount(name, ns),
    k.clusterRole(name, [
      k.rule([''], ['namespaces', 'events', 'pods', 'nodes'], k.readVerbs),
      k.rule(['kubeflow.org'], ['profiles'], k.readVerbs),
      k.rule(['app.k8s.io'], ['applications'], k.readVerbs),
    ]),
    k.clusterRoleBinding(name, name, [k.saSubject(name, ns)]),
    k.role(name, ns, [k.rule([''], ['configmaps'], k.readVerbs)]),
    k.roleBinding(name, ns, name, [k.saSubject(name, ns)]),
    k.configMap(configName, ns, { settings: std.manifestJsonEx({ DASHBOARD_FORCE_IFRAME: true }, '  '),
                                  links: std.manifestJsonEx(links(params), '  ') }),
    k.deployment(name, ns, [container(params)], params.replicas, name),
    k.service(name, ns, [k.servicePort('http', 80, 'http')]),
    k.virtualService(name, ns, '/', name + '.' + ns + '.svc.cluster.local', 80, params.gateway),
    k.allowFromGateway(name, ns, name, params.istioNamespace),
  ]
