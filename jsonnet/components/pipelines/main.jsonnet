// Kubeflow Pipelines 2.5 (upstream env/cert-manager/platform-agnostic-multi-user): API server,
// persistence agent, scheduled workflows, UI, viewers, ML Metadata, cache, MySQL, object store,
// Argo Workflows 3.5, the multi-user profile controller and the Istio policies around them.
local k = import 'k.libsonnet';
local c = import 'common.libsonnet';
local apiserver = import 'apiserver.libsonnet';
local argo = import 'argo.libsonnet';
local cache = import 'cache.libsonnet';
local frontend = import 'frontend.libsonnet';
local istio = import 'istio.libsonnet';
local metadata = import 'metadata.libsonnet';
local multiuser = import 'multiuser.libsonnet';
local storage = import 'storage.libsonnet';

local pipelineResources = ['pipelines', 'pipelines/versions', 'experiments', 'runs', 'jobs', 'recurringruns',
                           'viewers', 'visualizations'];

// Profile users get pipelines rights through the kubeflow-admin/edit/view aggregation.
local userRoles = [
  k.clusterRole('kubeflow-pipelines-edit', [], c.aggregateTo('kubeflow-edit')) + {
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: c.aggregateTo('kubeflow-pipelines-edit') }] },
  },
  k.clusterRole('kubeflow-pipelines-view', [], c.aggregateTo('kubeflow-view')) + {
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: c.aggregateTo('kubeflow-pipelines-view') }] },
  },
  k.clusterRole('aggregate-to-kubeflow-pipelines-edit', [
    k.rule(['pipelines.kubeflow.org'], pipelineResources,
           ['create', 'delete', 'update', 'archive', 'unarchive', 'disable', 'enable', 'terminate', 'retry']),
    k.rule(['kubeflow.org'], ['viewers'], ['create', 'delete', 'patch', 'update']),
    k.rule(['argoproj.io'], ['workflows'], ['create', 'delete', 'deletecollection', 'patch', 'update']),
    k.rule(['kubeflow.org'], ['scheduledworkflows'], ['create', 'delete', 'deletecollection', 'patch', 'update']),
  ], c.aggregateTo('kubeflow-pipelines-edit') + c.aggregateTo('kubeflow-admin')),
  k.clusterRole('aggregate-to-kubeflow-pipelines-view', [
    k.rule(['pipelines.kubeflow.org'], pipelineResources + ['runs/artifacts'],
           ['get', 'list', 'readArtifact']),
    k.rule(['kubeflow.org'], ['viewers', 'scheduledworkflows'], k.readVerbs),
    k.rule(['argoproj.io'], ['workflows'], k.readVerbs),
  ], c.aggregateTo('kubeflow-pipelines-view') + c.aggregateTo('kubeflow-pipelines-edit')),
];

// Who beyond the kubeflow namespace reaches the pipelines backends, as upstream's policies:
// pipeline steps in profile namespaces call the API, ML Metadata and the object store; the
// gateway serves the UI and metadata envoy; the API server calls the cache webhook.
local network(params) =
  local ns = params.namespace;
  local gateway = k.peers.namespace('istio-system');
  [
    k.allowIngress('ml-pipeline', ns, 'ml-pipeline', [k.peers.profiles, gateway]),
    k.allowIngress('metadata-grpc-server', ns, 'metadata-grpc-deployment', [k.peers.profiles, k.peers.sameNamespace]),
    k.allowIngress('minio', ns, if params.objectStore == 'seaweedfs' then 'seaweedfs' else 'minio',
                   [k.peers.profiles, gateway, k.peers.sameNamespace]),
    k.allowIngress('ml-pipeline-ui', ns, 'ml-pipeline-ui', [gateway]),
    k.allowIngress('metadata-envoy', ns, 'metadata-envoy-deployment', [gateway, k.peers.sameNamespace]),
    if params.cacheEnabled then k.allowIngress('cache-server', ns, 'cache-server', ports=[8443]) else [],
  ];

function(params)
  [
    userRoles,
    argo.all(params),
    storage.all(params),
    metadata.all(params),
    apiserver.all(params),
    frontend.all(params),
    cache.all(params),
    multiuser.all(params),
    istio.all(params),
    network(params),
  ]
