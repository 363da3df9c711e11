// Small Grafana dashboards for Kubeflow, built from one panel helper (Grafana schemaVersion 39).
local datasource = { type: 'prometheus', uid: 'prometheus' };

local target(expr, legend) = { datasource: datasource, expr: expr, legendFormat: legend, refId: 'A' };
local panel(id, title, exprs, x, y, type='timeseries', unit='short', w=12, h=8) = {
  id: id, title: title, type: type, datasource: datasource,
  gridPos: { x: x, y: y, w: w, h: h },
  fieldConfig: { defaults: { unit: unit }, overrides: [] },
  targets: [target(e[0], e[1]) + { refId: std.char(65 + i) } for i in std.range(0, std.length(exprs) - 1)
            for e in [exprs[i]]],
};
local dashboard(uid, title, panels) = {
  uid: uid, title: title, tags: ['kubeflow'], timezone: 'browser', schemaVersion: 39, version: 1,
  refresh: '30s', time: { from: 'now-6h', to: 'now' }, editable: true, panels: panels,
  templating: { list: [] },
};

{
  'kubeflow-pipelines.json': dashboard('kubeflow-pipelines', 'Kubeflow / Pipelines', [
    panel(1, 'Workflows by phase', [['sum by (status) (argo_workflows_count)', '{{status}}']], 0, 0),
    panel(2, 'Run create requests / s', [['sum(rate(run_server_create_requests[5m]))', 'runs']], 12, 0,
          unit='reqps'),
    panel(3, 'Pipeline runs stored', [['sum(run_server_run_count)', 'runs']], 0, 8, type='stat'),
    panel(4, 'API server memory', [['sum(container_memory_working_set_bytes{container="ml-pipeline-api-server"})',
                                    'working set']], 12, 8, unit='bytes'),
  ]),
  'kubeflow-notebooks.json': dashboard('kubeflow-notebooks', 'Kubeflow / Notebooks', [
    panel(1, 'Running notebooks', [['sum(notebook_running)', 'running']], 0, 0, type='stat'),
    panel(2, 'Notebook creations / h', [['sum(increase(notebook_create_total[1h]))', 'created'],
                                          ['sum(increase(notebook_fail_create_total[1h]))', 'failed']], 12, 0),
    panel(3, 'Culled notebooks', [['sum by (namespace) (notebook_culling_count)', '{{namespace}}']], 0, 8),
    panel(4, 'Notebook CPU by namespace',
          [['sum by (namespace) (rate(container_cpu_usage_seconds_total{container!="",pod=~".+-0"}[5m]))',
            '{{namespace}}']], 12, 8, unit='cores'),
  ]),
  'kubeflow-training.json': dashboard('kubeflow-training', 'Kubeflow / Training jobs', [
    panel(1, 'Jobs created / h by framework',
          [['sum by (framework) (increase(training_operator_jobs_created_total[1h]))', '{{framework}}']], 0, 0),
    panel(2, 'Job outcomes / h', [['sum(increase(training_operator_jobs_successful_total[1h]))', 'succeeded'],
                                   ['sum(increase(training_operator_jobs_failed_total[1h]))', 'failed']], 12, 0),
    panel(3, 'Katib trials by state', [['sum by (phase) (kube_pod_status_phase{pod=~".*-trial-.*"})', '{{phase}}']],
          0, 8),
  ]),
  'gpu-utilization.json': dashboard('gpu-utilization', 'Kubeflow / GPU utilization (DCGM)', [
    panel(1, 'GPU utilization', [['avg by (Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL)', '{{Hostname}} gpu{{gpu}}']],
          0, 0, unit='percent'),
    panel(2, 'GPU memory used', [['sum by (Hostname, gpu) (DCGM_FI_DEV_FB_USED) * 1024 * 1024',
                                  '{{Hostname}} gpu{{gpu}}']], 12, 0, unit='bytes'),
    panel(3, 'GPU power', [['sum by (Hostname) (DCGM_FI_DEV_POWER_USAGE)', '{{Hostname}}']], 0, 8, unit='watt'),
    panel(4, 'GPU temperature', [['max by (Hostname, gpu) (DCGM_FI_DEV_GPU_TEMP)', '{{Hostname}} gpu{{gpu}}']],
          12, 8, unit='celsius'),
    panel(5, 'GPUs requested by namespace',
          [['sum by (namespace) (kube_pod_container_resource_requests{resource="nvidia_com_gpu"})', '{{namespace}}']],
          0, 16, w=24),
  ]),
}
