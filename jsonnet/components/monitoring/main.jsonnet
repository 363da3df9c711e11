// Monitoring stack: Prometheus (persistent, cluster-wide discovery), Grafana with provisioned
// datasource and Kubeflow dashboards, node-exporter on every node, kube-state-metrics.
local k = import 'k.libsonnet';
local dashboards = import 'dashboards.libsonnet';
local prometheus = import 'prometheus.libsonnet';

local storageClass(params) = if params.storageClass != '' then params.storageClass else null;

local prometheusServer(params) =
  local ns = params.namespace;
  local container = k.container(
    'prometheus', params.prometheusImage, ports=[k.port('web', 9090)],
    args=['--config.file=/etc/prometheus/prometheus.yml', '--storage.tsdb.path=/prometheus',
          '--storage.tsdb.retention.time=' + params.retention, '--web.enable-lifecycle',
          '--web.route-prefix=/'],
    resources=k.resources('200m', '512Mi', limitMemory='2Gi'),
    volumeMounts=[{ name: 'config', mountPath: '/etc/prometheus', readOnly: true },
                  { name: 'data', mountPath: '/prometheus' }],
  ) + { readinessProbe: k.httpProbe('/-/ready', 'web', 10),
        livenessProbe: k.httpProbe('/-/healthy', 'web', 30) + { failureThreshold: 6 } };
  [
    k.controllerRbac('prometheus', ns, [
      k.rule([''], ['nodes', 'nodes/metrics', 'nodes/proxy', 'services', 'endpoints', 'pods'], k.readVerbs),
      k.rule(['discovery.k8s.io'], ['endpointslices'], k.readVerbs),
      k.rule([''], ['configmaps'], ['get']),
      { nonResourceURLs: ['/metrics', '/metrics/cadvisor'], verbs: ['get'] },
    ]),
    k.configMap('prometheus-config', ns, { 'prometheus.yml': std.manifestYamlDoc(prometheus.config(params)) }),
    k.pvc('prometheus-data', ns, params.storage, storageClass=storageClass(params)),
    k.service('prometheus', ns, [k.servicePort('web', 9090, 'web')]),
    k.deployment('prometheus', ns, [container], 1, sa='prometheus', volumes=[
      { name: 'config', configMap: { name: 'prometheus-config' } },
      { name: 'data', persistentVolumeClaim: { claimName: 'prometheus-data' } },
    ], podExtra={ securityContext: { runAsUser: 65534, runAsNonRoot: true, fsGroup: 65534 } })
    + { spec+: { strategy: { type: 'Recreate' } } },
  ];

local grafana(params) =
  local ns = params.namespace;
  local dashboardFiles = std.objectFields(dashboards);
  local cmName(file) = 'grafana-dashboard-' + std.strReplace(file, '.json', '');
  local container = k.container(
    'grafana', params.grafanaImage, ports=[k.port('http', 3000)],
    env=[k.envFrom('GF_SECURITY_ADMIN_PASSWORD', 'grafana-admin', 'password'),
         k.env('GF_AUTH_ANONYMOUS_ENABLED', params.grafanaAnonymousViewer),
         k.env('GF_AUTH_ANONYMOUS_ORG_ROLE', 'Viewer'),
         k.env('GF_SERVER_ROOT_URL', '%(protocol)s://%(domain)s/grafana/'),
         k.env('GF_SERVER_SERVE_FROM_SUB_PATH', 'true'),
         k.env('GF_ANALYTICS_REPORTING_ENABLED', 'false')],
    resources=k.resources('50m', '128Mi', limitMemory='512Mi'),
    volumeMounts=[
      { name: 'datasources', mountPath: '/etc/grafana/provisioning/datasources', readOnly: true },
      { name: 'dashboard-provider', mountPath: '/etc/grafana/provisioning/dashboards', readOnly: true },
      { name: 'dashboards', mountPath: '/var/lib/grafana/dashboards/kubeflow', readOnly: true },
      { name: 'storage', mountPath: '/var/lib/grafana' },
    ],
  ) + { readinessProbe: k.httpProbe('/api/health', 'http', 5),
        livenessProbe: k.httpProbe('/api/health', 'http', 30) + { failureThreshold: 6 } };
  [
    k.serviceAccount('grafana', ns),
    k.secret('grafana-admin', ns, { user: 'admin', password: params.grafanaAdminPassword }),
    k.configMap('grafana-datasources', ns, { 'prometheus.yaml': std.manifestYamlDoc({
      apiVersion: 1,
      datasources: [{ name: 'Prometheus', uid: 'prometheus', type: 'prometheus', access: 'proxy', isDefault: true,
                      url: 'http://prometheus.' + ns + '.svc:9090', jsonData: { timeInterval: params.scrapeInterval } }],
    }) }),
    k.configMap('grafana-dashboard-provider', ns, { 'kubeflow.yaml': std.manifestYamlDoc({
      apiVersion: 1,
      providers: [{ name: 'kubeflow', folder: 'Kubeflow', type: 'file', disableDeletion: true,
                    options: { path: '/var/lib/grafana/dashboards/kubeflow' } }],
    }) }),
    [k.configMap(cmName(f), ns, { [f]: std.manifestJsonEx(dashboards[f], '  ') }) for f in dashboardFiles],
    k.service('grafana', ns, [k.servicePort('http', 3000, 'http')]),
    k.deployment('grafana', ns, [container], params.replicas, sa='grafana', volumes=[
      { name: 'datasources', configMap: { name: 'grafana-datasources' } },
      { name: 'dashboard-provider', configMap: { name: 'grafana-dashboard-provider' } },
      { name: 'dashboards', projected: { sources: [{ configMap: { name: cmName(f) } } for f in dashboardFiles] } },
      { name: 'storage', emptyDir: {} },
    ], podExtra={ securityContext: { runAsUser: 472, runAsGroup: 472, fsGroup: 472 } }),
  ];

local nodeExporter(params) =
  local ns = params.namespace;
  local container = k.container(
    'node-exporter', params.nodeExporterImage, ports=[k.port('metrics', 9100)],
    args=['--path.procfs=/host/proc', '--path.sysfs=/host/sys', '--path.rootfs=/host/root',
          '--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|var/lib/docker/.+|var/lib/kubelet/.+)($|/)'],
    resources=k.resources('20m', '32Mi', limitMemory='180Mi'),
    volumeMounts=[{ name: 'proc', mountPath: '/host/proc', readOnly: true },
                  { name: 'sys', mountPath: '/host/sys', readOnly: true },
                  { name: 'root', mountPath: '/host/root', readOnly: true, mountPropagation: 'HostToContainer' }],
  ) + { readinessProbe: k.httpProbe('/', 'metrics', 5), livenessProbe: k.httpProbe('/', 'metrics', 15),
        securityContext+: { readOnlyRootFilesystem: true } };
  [
    k.serviceAccount('node-exporter', ns),
    k.service('node-exporter', ns, [k.servicePort('metrics', 9100, 'metrics')]) + { spec+: { clusterIP: 'None' } },
    k.daemonSet('node-exporter', ns, [container], sa='node-exporter', volumes=[
      { name: 'proc', hostPath: { path: '/proc' } },
      { name: 'sys', hostPath: { path: '/sys' } },
      { name: 'root', hostPath: { path: '/' } },
    ], podExtra={
      hostNetwork: true, hostPID: true, tolerations: [{ operator: 'Exists' }],
      securityContext: { runAsUser: 65534, runAsNonRoot: true },
    }) + { spec+: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } } } },
  ];

local kubeStateMetrics(params) =
  local ns = params.namespace;
  local listWatch = ['list', 'watch'];
  local container = k.container(
    'kube-state-metrics', params.kubeStateMetricsImage,
    ports=[k.port('http-metrics', 8080), k.port('telemetry', 8081)],
    args=['--port=8080', '--telemetry-port=8081',
          '--metric-labels-allowlist=pods=[app.kubernetes.io/name,app.kubernetes.io/component]'],
    resources=k.resources('20m', '64Mi', limitMemory='256Mi'),
  ) + { readinessProbe: k.httpProbe('/readyz', 'telemetry', 5), livenessProbe: k.httpProbe('/livez', 'http-metrics', 5),
        securityContext+: { readOnlyRootFilesystem: true, runAsUser: 65534 } };
  [
    k.controllerRbac('kube-state-metrics', ns, [
      k.rule([''], ['configmaps', 'secrets', 'nodes', 'pods', 'services', 'serviceaccounts', 'resourcequotas',
                    'replicationcontrollers', 'limitranges', 'persistentvolumeclaims', 'persistentvolumes',
                    'namespaces', 'endpoints'], listWatch),
      k.rule(['apps'], ['statefulsets', 'daemonsets', 'deployments', 'replicasets'], listWatch),
      k.rule(['batch'], ['cronjobs', 'jobs'], listWatch),
      k.rule(['autoscaling'], ['horizontalpodautoscalers'], listWatch),
      k.rule(['policy'], ['poddisruptionbudgets'], listWatch),
      k.rule(['storage.k8s.io'], ['storageclasses', 'volumeattachments'], listWatch),
      k.rule(['networking.k8s.io'], ['networkpolicies', 'ingresses'], listWatch),
      k.rule(['coordination.k8s.io'], ['leases'], listWatch),
      k.rule(['certificates.k8s.io'], ['certificatesigningrequests'], listWatch),
      k.rule(['admissionregistration.k8s.io'], ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'],
             listWatch),
      k.rule(['discovery.k8s.io'], ['endpointslices'], listWatch),
    ]),
    k.service('kube-state-metrics', ns, [k.servicePort('http-metrics', 8080, 'http-metrics'),
                                         k.servicePort('telemetry', 8081, 'telemetry')]),
    k.deployment('kube-state-metrics', ns, [container], params.replicas, sa='kube-state-metrics',
                 podExtra={ nodeSelector: { 'kubernetes.io/os': 'linux' } }),
  ];

function(params)
  [
    // privileged: node-exporter reads the host's /proc, /sys and network (hostPath, hostNetwork, hostPID).
    if params.createNamespace then [k.namespace(params.namespace, podSecurity='privileged'),
                                    k.allowSameNamespace(params.namespace)] else [],
    k.networkPolicy('allow-prometheus', params.kubeflowNamespace, {}, [{ from: [k.peers.namespace(params.namespace)] }]),
    prometheusServer(params),
    grafana(params),
    nodeExporter(params),
    kubeStateMetrics(params),
  ]
