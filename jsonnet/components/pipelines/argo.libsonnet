// Argo Workflows 3.5 as Kubeflow Pipelines ships it (third-party/argo, namespaced install in the
// pipelines namespace, cluster-wide workflow controller).
local k = import 'k.libsonnet';
local c = import 'common.libsonnet';

local group = 'argoproj.io';
local wfColumns = [
  { name: 'Status', type: 'string', jsonPath: '.status.phase', description: 'Status of the workflow' },
  { name: 'Age', type: 'date', jsonPath: '.status.startedAt', format: 'date-time' },
  { name: 'Message', type: 'string', jsonPath: '.status.message' },
];
// Argo's controller writes whole objects, so most CRDs have no status subresource upstream.
local crd(kind, plural, shortNames, scope='Namespaced', status=false, schema=k.openSchema, columns=[]) =
  k.crd(group, kind, plural,
        [k.crdVersion('v1alpha1', schema=schema, printerColumns=columns,
                      subresources=if status then { status: {} } else null)],
        scope=scope, shortNames=shortNames);
// WorkflowTaskResult keeps outputs/phase/message at the top level, not under spec.
local taskResultSchema = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

local crds = [
  crd('Workflow', 'workflows', ['wf'], columns=wfColumns),
  crd('WorkflowTemplate', 'workflowtemplates', ['wftmpl']),
  crd('ClusterWorkflowTemplate', 'clusterworkflowtemplates', ['clusterwftmpl', 'cwft'], scope='Cluster'),
  crd('CronWorkflow', 'cronworkflows', ['cwf', 'cronwf']),
  crd('WorkflowTaskSet', 'workflowtasksets', ['wfts'], status=true),
  crd('WorkflowTaskResult', 'workflowtaskresults', ['wftr'], schema=taskResultSchema),
  crd('WorkflowArtifactGCTask', 'workflowartifactgctasks', ['wfat'], status=true),
  crd('WorkflowEventBinding', 'workfloweventbindings', ['wfeb']),
];

local resources = ['workflows', 'workflows/finalizers', 'workflowtemplates', 'workflowtemplates/finalizers',
                   'cronworkflows', 'cronworkflows/finalizers', 'clusterworkflowtemplates',
                   'clusterworkflowtemplates/finalizers', 'workflowtasksets', 'workflowtasksets/finalizers',
                   'workflowtasksets/status', 'workflowtaskresults', 'workflowartifactgctasks',
                   'workflowartifactgctasks/finalizers', 'workflowartifactgctasks/status', 'workfloweventbindings'];

local controllerRules = [
  k.rule([''], ['pods', 'pods/exec'], ['create', 'get', 'list', 'watch', 'update', 'patch', 'delete']),
  k.rule([''], ['configmaps'], ['get', 'watch', 'list']),
  k.rule([''], ['persistentvolumeclaims', 'persistentvolumeclaims/finalizers'], ['create', 'update', 'delete', 'get']),
  k.rule([group], resources, ['get', 'list', 'watch', 'update', 'patch', 'delete', 'create', 'deletecollection']),
  k.rule([''], ['serviceaccounts'], ['get', 'list']),
  k.rule([''], ['secrets'], ['get']),
  k.rule([''], ['events'], ['create', 'patch']),
  k.rule(['policy'], ['poddisruptionbudgets'], ['create', 'get', 'delete']),
  k.rule(['coordination.k8s.io'], ['leases'], ['create', 'get', 'update']),
];

local userRoles = [
  k.clusterRole('argo-aggregate-to-admin', [k.rule([group], resources, k.allVerbs + ['deletecollection'])],
                { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' }),
  k.clusterRole('argo-aggregate-to-edit', [k.rule([group], resources, k.allVerbs + ['deletecollection'])],
                { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' }),
  k.clusterRole('argo-aggregate-to-view', [k.rule([group], resources, k.readVerbs)],
                { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' }),
];

local controllerConfig(params) = k.configMap('workflow-controller-configmap', params.namespace, {
  artifactRepository: std.manifestYamlDoc({
    archiveLogs: true,
    s3: {
      endpoint: c.objectStoreHost(params) + ':9000',
      bucket: params.bucketName,
      keyFormat: 'artifacts/{{workflow.name}}/{{workflow.creationTimestamp.Y}}/{{workflow.creationTimestamp.m}}/{{workflow.creationTimestamp.d}}/{{pod.name}}',
      insecure: true,
      accessKeySecret: { name: 'mlpipeline-minio-artifact', key: 'accesskey' },
      secretKeySecret: { name: 'mlpipeline-minio-artifact', key: 'secretkey' },
    },
  }),
  executor: std.manifestYamlDoc({
    imagePullPolicy: 'IfNotPresent',
    resources: { requests: { cpu: '10m', memory: '64Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
  }),
});

local controller(params) =
  local ns = params.namespace;
  local container = k.container(
    'workflow-controller', 'quay.io/argoproj/workflow-controller:' + params.argoImageTag,
    ports=[k.port('metrics', 9090), k.port('healthz', 6060)],
    command=['workflow-controller'],
    args=['--configmap', 'workflow-controller-configmap',
          '--executor-image', 'quay.io/argoproj/argoexec:' + params.argoImageTag],
    env=[c.fieldEnv('LEADER_ELECTION_IDENTITY', 'metadata.name')],
    resources=k.resources('100m', '256Mi', limitMemory='1Gi'),
  ) + c.probes('/healthz', 'healthz', 30)
    + { securityContext+: { readOnlyRootFilesystem: true } };
  [
    k.serviceAccount('argo', ns),
    k.clusterRole('argo-cluster-role', controllerRules),
    k.clusterRoleBinding('argo-binding', 'argo-cluster-role', [k.saSubject('argo', ns)]),
    controllerConfig(params),
    {
      apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass',
      metadata: k.meta('workflow-controller'), value: 1000000,
      description: 'Keeps the Argo workflow controller scheduled ahead of pipeline pods.',
    },
    k.service('workflow-controller-metrics', ns, [k.servicePort('metrics', 9090, 'metrics')],
              selectorName='workflow-controller')
    + { metadata+: { annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' } } },
    k.deployment('workflow-controller', ns, [container], params.replicas, sa='argo',
                 podExtra={ priorityClassName: 'workflow-controller',
                            securityContext: { runAsNonRoot: true } })
    + c.noSidecar,
  ];

{
  all(params):: [crds, userRoles, controller(params)],
}
