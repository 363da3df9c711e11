// Kubeflow 1.10 TensorBoards: tensorboard-controller (components/tensorboard-controller) and the
// tensorboards web app (components/crud-web-apps/tensorboards), istio overlays.
local k = import 'k.libsonnet';

local agg(role) = { ['rbac.authorization.kubeflow.org/aggregate-to-kubeflow-' + role]: 'true' };
local editVerbs = ['get', 'list', 'watch', 'create', 'delete', 'deletecollection', 'patch', 'update'];

local tensorboardCrd = k.crd('tensorboard.kubeflow.org', 'Tensorboard', 'tensorboards', [k.crdVersion('v1alpha1')]);

local controller(params) =
  local ns = params.namespace;
  local name = 'tensorboard-controller';
  local sa = name + '-controller-manager';
  local c = k.container('manager', params.registry + '/tensorboard-controller:' + params.imageTag,
                        command=['/manager'],
                        args=['--metrics-bind-address=:8080', '--health-probe-bind-address=:8081', '--leader-elect'],
                        ports=[k.port('http-metrics', 8080), k.port('http-probes', 8081)],
                        env=[
                          k.env('ISTIO_GATEWAY', params.gateway),
                          k.env('ISTIO_HOST', '*'),
                          k.env('TENSORBOARD_IMAGE', params.tensorboardImage),
                          k.env('RWO_PVC_SCHEDULING', params.rwoPvcScheduling),
                        ],
                        resources=k.resources('20m', '64Mi')) + k.runAs(999)
            + { readinessProbe: k.httpProbe('/readyz', 'http-probes'), livenessProbe: k.httpProbe('/healthz', 'http-probes', 15) };
  [
    k.serviceAccount(sa, ns),
    k.clusterRole(name + '-manager-role', [
      k.rule(['apps'], ['deployments'], k.allVerbs),
      k.rule([''], ['services', 'persistentvolumeclaims'], k.allVerbs),
      k.rule([''], ['pods'], k.readVerbs),
      k.rule(['tensorboard.kubeflow.org'], ['tensorboards', 'tensorboards/status', 'tensorboards/finalizers'], k.allVerbs),
      k.rule(['networking.istio.io'], ['virtualservices'], k.allVerbs),
      k.rule(['storage.k8s.io'], ['storageclasses'], k.readVerbs),
    ]),
    k.clusterRoleBinding(name + '-manager-rolebinding', name + '-manager-role', [k.saSubject(sa, ns)]),
    k.role(name + '-leader-election-role', ns, [
      k.rule(['coordination.k8s.io'], ['leases'], k.allVerbs),
      k.rule([''], ['events'], ['create', 'patch']),
    ]),
    k.roleBinding(name + '-leader-election-rolebinding', ns, name + '-leader-election-role', [k.saSubject(sa, ns)]),
    k.deployment(name + '-deployment', ns, [c], params.replicas, sa),
    k.service(name + '-metrics-service', ns, [k.servicePort('http-metrics', 8080, 'http-metrics')],
              selectorName=name + '-deployment'),
  ];

local webApp(params) =
  local ns = params.namespace;
  local name = 'tensorboards-web-app';
  local sa = name + '-service-account';
  local deploymentName = name + '-deployment';
  local c = k.container(name, params.registry + '/tensorboards-web-app:' + params.imageTag,
                        ports=[k.port('http', 5000)],
                        env=[
                          k.env('APP_PREFIX', '/tensorboards'),
                          k.env('USERID_HEADER', params.userIdHeader),
                          k.env('USERID_PREFIX', params.userIdPrefix),
                          k.env('APP_SECURE_COOKIES', 'true'),
                        ],
                        resources=k.resources('20m', '128Mi')) + k.runAs(1000)
            + { readinessProbe: k.httpProbe('/healthz/readiness', 'http'),
                livenessProbe: k.httpProbe('/healthz/liveness', 'http', 15) };
  [
    k.serviceAccount(sa, ns),
    k.clusterRole(name + '-cluster-role', [
      k.rule([''], ['namespaces'], ['get', 'list']),
      k.rule(['authorization.k8s.io'], ['subjectaccessreviews'], ['create']),
      k.rule(['tensorboard.kubeflow.org'], ['tensorboards', 'tensorboards/finalizers'], ['get', 'list', 'create', 'delete']),
      k.rule([''], ['persistentvolumeclaims'], ['create', 'delete', 'get', 'list']),
      k.rule(['storage.k8s.io'], ['storageclasses'], ['get', 'list', 'watch']),
    ]),
    k.clusterRoleBinding(name + '-cluster-role-binding', name + '-cluster-role', [k.saSubject(sa, ns)]),
    k.clusterRole(name + '-kubeflow-tensorboard-ui-edit', [k.rule(['tensorboard.kubeflow.org'], ['tensorboards'], editVerbs)], agg('edit')),
    k.clusterRole(name + '-kubeflow-tensorboard-ui-view', [k.rule(['tensorboard.kubeflow.org'], ['tensorboards'], k.readVerbs)], agg('view')),
    k.deployment(deploymentName, ns, [c], params.replicas, sa),
    k.service(name + '-service', ns, [k.servicePort('http', 80, 'http')], selectorName=deploymentName),
    k.virtualService(name, ns, '/tensorboards/', name + '-service.' + ns + '.svc.' + params.clusterDomain, 80,
                     params.gateway, '/'),
    k.allowFromGateway(name, ns, deploymentName, params.istioNamespace),
  ];

function(params)
  [
    tensorboardCrd,
    controller(params),
    webApp(params),
  ]
