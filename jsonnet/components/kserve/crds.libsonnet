// serving.kserve.io CRDs (schemas left open: the controller validates through its webhooks).
local k = import 'k.libsonnet';

local group = 'serving.kserve.io';
local ready = [
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];
local isvcColumns = [{ name: 'URL', type: 'string', jsonPath: '.status.url' }] + ready;
local runtimeColumns = [
  { name: 'Disabled', type: 'boolean', jsonPath: '.spec.disabled' },
  { name: 'ModelType', type: 'string', jsonPath: '.spec.supportedModelFormats[*].name' },
  { name: 'Containers', type: 'string', jsonPath: '.spec.containers[*].name' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

local crd(kind, plural, version, scope='Namespaced', shortNames=[], columns=ready) =
  k.crd(group, kind, plural, [k.crdVersion(version, printerColumns=columns)], scope=scope, shortNames=shortNames);

[
  crd('InferenceService', 'inferenceservices', 'v1beta1', shortNames=['isvc'], columns=isvcColumns),
  crd('ServingRuntime', 'servingruntimes', 'v1alpha1', columns=runtimeColumns),
  crd('ClusterServingRuntime', 'clusterservingruntimes', 'v1alpha1', scope='Cluster', columns=runtimeColumns),
  crd('TrainedModel', 'trainedmodels', 'v1alpha1', shortNames=['tm']),
  crd('InferenceGraph', 'inferencegraphs', 'v1alpha1', shortNames=['ig']),
  crd('ClusterStorageContainer', 'clusterstoragecontainers', 'v1alpha1', scope='Cluster', columns=[]),
  crd('LocalModelCache', 'localmodelcaches', 'v1alpha1', scope='Cluster', columns=[]),
]
