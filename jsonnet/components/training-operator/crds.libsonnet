// The six job CRDs of kubeflow.org/v1, with the printer columns upstream shows.
local k = import 'k.libsonnet';

local columns = [
  { name: 'State', type: 'string', jsonPath: '.status.conditions[-1:].type' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

local jobCrd(kind) =
  local plural = std.asciiLower(kind) + 's';
  k.crd('kubeflow.org', kind, plural, [
    k.crdVersion('v1', printerColumns=columns, subresources={ status: {} }),
  ], categories=['kubeflow']);

{
  kinds:: ['TFJob', 'PyTorchJob', 'MPIJob', 'XGBoostJob', 'PaddleJob', 'JAXJob'],
  plural(kind):: std.asciiLower(kind) + 's',
  all:: [jobCrd(kind) for kind in self.kinds],
}
