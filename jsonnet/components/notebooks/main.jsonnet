// Kubeflow 1.10 notebooks: notebook-controller (components/notebook-controller) and the Jupyter web app
// (components/crud-web-apps/jupyter), with their istio overlays.
local k = import 'k.libsonnet';
local spawner = import 'spawner.libsonnet';

local agg(role) = { ['rbac.authorization.kubeflow.org/aggregate-to-kubeflow-' + role]: 'true' };
local editVerbs = ['get', 'list', 'watch', 'create', 'delete', 'deletecollection', 'patch', 'update'];

// No conversion webhook: every version serves the same open schema, v1 is stored.
local notebookCrd = k.crd('kubeflow.org', 'Notebook', 'notebooks', [
  k.crdVersion('v1', storage=true),
  k.crdVersion('v1beta1', storage=false),
  k.crdVersion('v1alpha1', storage=false),
]);

local controller(params) =
  local ns = params.namespace;
  local name = 'notebook-controller';
  local sa = name + '-service-account';
  local c = k.container('manager', params.registry + '/notebook-controller:' + params.imageTag,
                        command=['/manager'],
                        args=['--metrics-addr=:8080', '--probe-addr=:8081', '--enable-leader-election'],
                        ports=[k.port('http-metrics', 8080), k.port('http-probes', 8081)],
                        env=[
                          k.env('USE_ISTIO', 'true'),
                          k.env('ISTIO_GATEWAY', params.gateway),
                          k.env('ISTIO_HOST', '*'),
                          k.env('CLUSTER_DOMAIN', params.clusterDomain),
                          k.env('ENABLE_CULLING', params.enableCulling),
                          k.env('CULL_IDLE_TIME', params.cullIdleTime),
                          k.env('IDLENESS_CHECK_PERIOD', params.idlenessCheckPeriod),
                          k.env('ADD_FSGROUP', 'true'),
                        ],
                        resources=k.resources('50m', '128Mi')) + k.runAs(1000)
            + { readinessProbe: k.httpProbe('/readyz', 'http-probes'), livenessProbe: k.httpProbe('/healthz', 'http-probes', 15) };
  [
    k.serviceAccount(sa, ns),
    k.clusterRole(name + '-role', [
      k.rule(['apps'], ['statefulsets'], k.allVerbs),
      k.rule([''], ['pods'], ['get', 'list', 'watch', 'delete']),
      k.rule([''], ['services'], k.allVerbs),
      k.rule([''], ['events'], ['create', 'patch', 'get', 'list', 'watch']),
      k.rule(['kubeflow.org'], ['notebooks', 'notebooks/status', 'notebooks/finalizers'], k.allVerbs),
      k.rule(['networking.istio.io'], ['virtualservices'], k.allVerbs),
    ]),
    k.clusterRoleBinding(name + '-role-binding', name + '-role', [k.saSubject(sa, ns)]),
    k.role(name + '-leader-election-role', ns, [
      k.rule(['coordination.k8s.io'], ['leases'], k.allVerbs),
      k.rule([''], ['configmaps'], k.allVerbs),
      k.rule([''], ['events'], ['create', 'patch']),
    ]),
    k.roleBinding(name + '-leader-election-rolebinding', ns, name + '-leader-election-role', [k.saSubject(sa, ns)]),
    k.clusterRole(name + '-kubeflow-notebooks-edit', [k.rule(['kubeflow.org'], ['notebooks', 'notebooks/status'], editVerbs)], agg('edit')),
    k.clusterRole(name + '-kubeflow-notebooks-view', [k.rule(['kubeflow.org'], ['notebooks', 'notebooks/status'], k.readVerbs)], agg('view')),
    k.deployment(name + '-deployment', ns, [c], params.replicas, sa),
    k.service(name + '-service', ns, [k.servicePort('http-metrics', 8080, 'http-metrics')], selectorName=name + '-deployment'),
  ];

local webApp(params) =
  local ns = params.namespace;
  local name = 'jupyter-web-app';
  local sa = name + '-service-account';
  local deploymentName = name + '-deployment';
  local c = k.container(name, params.registry + '/jupyter-web-app:' + params.imageTag,
                        ports=[k.port('http', 5000)],
                        env=[
                          k.env('APP_PREFIX', '/jupyter'),
                          k.env('UI', 'default'),
                          k.env('USERID_HEADER', params.userIdHeader),
                          k.env('USERID_PREFIX', params.userIdPrefix),
                          k.env('APP_SECURE_COOKIES', 'true'),
                          k.env('CSRF_SAMESITE', 'Strict'),
                        ],
                        resources=k.resources('50m', '128Mi'),
                        volumeMounts=[{ name: 'config-volume', mountPath: '/etc/config' }]) + k.runAs(1000)
            + { readinessProbe: k.httpProbe('/healthz/readiness', 'http'),
                livenessProbe: k.httpProbe('/healthz/liveness', 'http', 15) };
  [
    k.serviceAccount(sa, ns),
    k.clusterRole(name + '-cluster-role', [
      k.rule([''], ['namespaces'], ['get', 'list']),
      k.rule(['authorization.k8s.io'], ['subjectaccessreviews'], ['create']),
      k.rule(['kubeflow.org'], ['notebooks', 'notebooks/finalizers', 'poddefaults'], ['get', 'list', 'create', 'delete', 'patch']),
      k.rule([''], ['persistentvolumeclaims'], ['create', 'delete', 'get', 'list']),
      k.rule([''], ['events', 'nodes'], ['list']),
      k.rule([''], ['pods', 'pods/log'], ['get', 'list']),
      k.rule(['storage.k8s.io'], ['storageclasses'], ['get', 'list', 'watch']),
    ]),
    k.clusterRoleBinding(name + '-cluster-role-binding', name + '-cluster-role', [k.saSubject(sa, ns)]),
    k.configMap(name + '-config', ns, { 'spawner_ui_config.yaml': std.manifestYamlDoc(spawner(params), quote_keys=false) }),
    k.deployment(deploymentName, ns, [c], params.replicas, sa,
                 volumes=[{ name: 'config-volume', configMap: { name: name + '-config' } }]),
    k.service(name + '-service', ns, [k.servicePort('http', 80, 'http')], selectorName=deploymentName),
    k.virtualService(name, ns, '/jupyter/', name + '-service.' + ns + '.svc.' + params.clusterDomain, 80,
                     params.gateway, '/'),
    k.allowFromGateway(name, ns, deploymentName, params.istioNamespace),
  ];

function(params)
  [
    notebookCrd,
    controller(params),
    webApp(params),
  ]
