// The six job CRDs of kubeflow.org/v1, with the printer columns upstream shows.
local k = import 'k.libsonnet';

local columns = [
  { name: 'State', type: 'string', jsonPath: '.status.conditions[-1:].type' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

// Elastic jobs scale their Worker replicas through /scale (HorizontalPodAutoscaler), as upstream.
local scalable = { PyTorchJob: 'pytorchReplicaSpecs', JAXJob: 'jaxReplicaSpecs', PaddleJob: 'paddleReplicaSpecs' };
local scale(kind) = if std.objectHas(scalable, kind) then { scale: {
  specReplicasPath: '.spec.' + scalable[kind] + '.Worker.replicas',
  statusReplicasPath: '.status.replicaStatuses.Worker.active',
  labelSelectorPath: '.status.replicaStatuses.Worker.selector',
} } else {};

local jobCrd(kind) =
  local plural = std.asciiLower(kind) + 's';
  k.crd('kubeflow.org', kind, plural, [
    k.crdVersion('v1', printerColumns=columns, subresources={ status: {} } + scale(kind)),
  ], categories=['kubeflow']);

{
  kinds:: ['TFJob', 'PyTorchJob', 'MPIJob', 'XGBoostJob', 'PaddleJob', 'JAXJob'],
  plural(kind):: std.asciiLower(kind) + 's',
  all:: [jobCrd(kind) for kind in self.kinds],
}
