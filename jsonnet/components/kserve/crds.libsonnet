// serving.kserve.io CRDs: schemas left open (the controller validates through its webhooks), except
// where the controller relies on a schema default; printer columns as upstream.
local k = import 'k.libsonnet';

local group = 'serving.kserve.io';
local ready = [
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];
local url = [{ name: 'URL', type: 'string', jsonPath: '.status.url' }];
local traffic(name, filter, field, type) =
  { name: name, type: type, jsonPath: '.status.components.predictor.traffic[?(@.' + filter + ')].' + field };
local isvcColumns = url + ready[:1] + [
  traffic('Prev', "tag=='prev'", 'percent', 'integer'),
  traffic('Latest', 'latestRevision==true', 'percent', 'integer'),
  traffic('PrevRolledoutRevision', "tag=='prev'", 'revisionName', 'string'),
  traffic('LatestReadyRevision', 'latestRevision==true', 'revisionName', 'string'),
] + ready[1:];

// The storage initializer injector skips a ClusterStorageContainer whose spec.workloadType is not
// initContainer, and only upstream's schema defaults it: a hand-written one would be ignored.
// Typed from the API reference (serving.kserve.io/v1alpha1 ClusterStorageContainer).
local storageContainerSchema = {
  type: 'object',
  properties: {
    disabled: { type: 'boolean' },
    spec: {
      type: 'object',
      required: ['container', 'supportedUriFormats'],
      properties: {
        container: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        supportedUriFormats: { type: 'array', items: {
          type: 'object', properties: { prefix: { type: 'string' }, regex: { type: 'string' } },
        } },
        workloadType: { type: 'string', default: 'initContainer', enum: ['initContainer', 'localModelDownloadJob'] },
      },
    },
  },
};
local runtimeColumns = [
  { name: 'Disabled', type: 'boolean', jsonPath: '.spec.disabled' },
  { name: 'ModelType', type: 'string', jsonPath: '.spec.supportedModelFormats[*].name' },
  { name: 'Containers', type: 'string', jsonPath: '.spec.containers[*].name' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

local crd(kind, plural, version, scope='Namespaced', shortNames=[], columns=ready, schema=k.openSchema,
          subresources={ status: {} }) =
  k.crd(group, kind, plural, [k.crdVersion(version, schema=schema, printerColumns=columns, subresources=subresources)],
        scope=scope, shortNames=shortNames);

[
  crd('InferenceService', 'inferenceservices', 'v1beta1', shortNames=['isvc'], columns=isvcColumns),
  crd('ServingRuntime', 'servingruntimes', 'v1alpha1', columns=runtimeColumns, subresources=null),
  crd('ClusterServingRuntime', 'clusterservingruntimes', 'v1alpha1', scope='Cluster', columns=runtimeColumns,
      subresources=null),
  crd('TrainedModel', 'trainedmodels', 'v1alpha1', shortNames=['tm'], columns=url + ready),
  crd('InferenceGraph', 'inferencegraphs', 'v1alpha1', shortNames=['ig'], columns=url + ready),
  crd('ClusterStorageContainer', 'clusterstoragecontainers', 'v1alpha1', scope='Cluster', columns=[],
      schema=storageContainerSchema, subresources=null),
  crd('LocalModelCache', 'localmodelcaches', 'v1alpha1', scope='Cluster', columns=[]),
]
