// Prometheus scrape configuration: Kubernetes nodes and cAdvisor, annotated pods and Services,
// the Kubeflow controllers by Service name, kube-state-metrics, node-exporter and DCGM exporters.
local serviceMatch(ns, names, action) = {
  source_labels: ['__meta_kubernetes_namespace', '__meta_kubernetes_service_name'],
  regex: ns + ';(' + std.join('|', names) + ')', action: action,
};
local keepService(ns, names) = [
  serviceMatch(ns, names, 'keep'),
  { source_labels: ['__meta_kubernetes_endpoint_port_name'], regex: 'metrics|monitoring-port|http', action: 'keep' },
  { source_labels: ['__meta_kubernetes_service_name'], target_label: 'job' },
  { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
];
local annotated(role) = [
  { source_labels: ['__meta_kubernetes_' + role + '_annotation_prometheus_io_scrape'], regex: 'true', action: 'keep' },
  { source_labels: ['__meta_kubernetes_' + role + '_annotation_prometheus_io_path'], regex: '(.+)',
    target_label: '__metrics_path__' },
  { source_labels: ['__address__', '__meta_kubernetes_' + role + '_annotation_prometheus_io_port'],
    regex: '([^:]+)(?::\\d+)?;(\\d+)', replacement: '$1:$2', target_label: '__address__' },
  { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
  { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
];
local apiserverProxy(suffix) = {
  scheme: 'https',
  tls_config: { ca_file: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt' },
  authorization: { credentials_file: '/var/run/secrets/kubernetes.io/serviceaccount/token' },
  kubernetes_sd_configs: [{ role: 'node' }],
  relabel_configs: [
    { action: 'labelmap', regex: '__meta_kubernetes_node_label_(.+)' },
    { target_label: '__address__', replacement: 'kubernetes.default.svc:443' },
    { source_labels: ['__meta_kubernetes_node_name'], regex: '(.+)', target_label: '__metrics_path__',
      replacement: '/api/v1/nodes/$1/proxy/metrics' + suffix },
  ],
};

local controllers = ['ml-pipeline', 'workflow-controller-metrics', 'training-operator', 'katib-controller',
                     'kserve-controller-manager-metrics-service', 'notebook-controller-service',
                     'profiles-kfam', 'jupyter-web-app-service'];

{
  config(params):: {
    global: { scrape_interval: params.scrapeInterval, evaluation_interval: params.scrapeInterval },
    scrape_configs: [
      { job_name: 'prometheus', static_configs: [{ targets: ['localhost:9090'] }] },
      apiserverProxy('') + { job_name: 'kubernetes-nodes' },
      apiserverProxy('/cadvisor') + { job_name: 'kubernetes-cadvisor' },
      { job_name: 'kubeflow-controllers', kubernetes_sd_configs: [{ role: 'endpoints' }],
        relabel_configs: keepService(params.kubeflowNamespace, controllers) },
      { job_name: 'kube-state-metrics',
        static_configs: [{ targets: ['kube-state-metrics.' + params.namespace + '.svc:8080'] }] },
      { job_name: 'node-exporter', kubernetes_sd_configs: [{ role: 'endpoints' }],
        relabel_configs: keepService(params.namespace, ['node-exporter']) + [
          { source_labels: ['__meta_kubernetes_pod_node_name'], target_label: 'node' },
        ] },
      { job_name: 'dcgm-exporter', kubernetes_sd_configs: [{ role: 'pod' }],
        relabel_configs: [
          { source_labels: ['__meta_kubernetes_pod_label_app', '__meta_kubernetes_pod_label_app_kubernetes_io_name'],
            regex: '.*nvidia-dcgm-exporter.*|.*dcgm-exporter.*', action: 'keep' },
          { source_labels: ['__meta_kubernetes_pod_container_port_number'], regex: '9400', action: 'keep' },
          { source_labels: ['__meta_kubernetes_pod_node_name'], target_label: 'Hostname' },
        ] },
      { job_name: 'kubernetes-service-endpoints', kubernetes_sd_configs: [{ role: 'endpoints' }],
        // Kubeflow controllers are scraped once, by the job above.
        relabel_configs: [serviceMatch(params.kubeflowNamespace, controllers, 'drop')] + annotated('service') },
      { job_name: 'kubernetes-pods', kubernetes_sd_configs: [{ role: 'pod' }],
        relabel_configs: annotated('pod') },
    ],
  },
}
