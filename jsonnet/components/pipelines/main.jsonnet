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
  ]
