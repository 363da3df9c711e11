// Istio CRDs (istio 1.26 base chart), with open spec/status schemas and upstream's printer columns.
// One storage version per CRD, as upstream; every listed version serves the same schema.
local k = import 'k.libsonnet';

local versions(names, storage, columns) = [k.crdVersion(v, storage=(v == storage), printerColumns=columns) for v in names];
local col(name, path, type='string') = { name: name, jsonPath: path, type: type };
local age = col('Age', '.metadata.creationTimestamp', 'date');
local net = ['v1alpha3', 'v1beta1', 'v1'];
local sec = ['v1beta1', 'v1'];

local crd(group, kind, plural, vs, storage, shortNames=[], columns=[age]) =
  k.crd(group, kind, plural, versions(vs, storage, columns), shortNames=shortNames, categories=['istio-io']);

[
  crd('networking.istio.io', 'VirtualService', 'virtualservices', net, 'v1beta1', ['vs'],
      [col('Gateways', '.spec.gateways'), col('Hosts', '.spec.hosts'), age]),
  crd('networking.istio.io', 'DestinationRule', 'destinationrules', net, 'v1beta1', ['dr'], [col('Host', '.spec.host'), age]),
  crd('networking.istio.io', 'Gateway', 'gateways', net, 'v1beta1', ['gw'], []),
  crd('networking.istio.io', 'ServiceEntry', 'serviceentries', net, 'v1beta1', ['se'],
      [col('Hosts', '.spec.hosts'), col('Location', '.spec.location'), col('Resolution', '.spec.resolution'), age]),
  crd('networking.istio.io', 'Sidecar', 'sidecars', net, 'v1beta1', columns=[]),
  crd('networking.istio.io', 'WorkloadEntry', 'workloadentries', net, 'v1beta1', ['we'], [age, col('Address', '.spec.address')]),
  crd('networking.istio.io', 'WorkloadGroup', 'workloadgroups', net, 'v1beta1', ['wg']),
  crd('networking.istio.io', 'EnvoyFilter', 'envoyfilters', ['v1alpha3'], 'v1alpha3', columns=[]),
  crd('networking.istio.io', 'ProxyConfig', 'proxyconfigs', ['v1beta1'], 'v1beta1', columns=[]),
  crd('security.istio.io', 'PeerAuthentication', 'peerauthentications', sec, 'v1beta1', ['pa'], [col('Mode', '.spec.mtls.mode'), age]),
  crd('security.istio.io', 'AuthorizationPolicy', 'authorizationpolicies', sec, 'v1beta1', ['ap'], [col('Action', '.spec.action'), age]),
  crd('security.istio.io', 'RequestAuthentication', 'requestauthentications', sec, 'v1beta1', ['ra'], []),
  crd('telemetry.istio.io', 'Telemetry', 'telemetries', ['v1alpha1', 'v1'], 'v1alpha1', ['telemetry']),
  crd('extensions.istio.io', 'WasmPlugin', 'wasmplugins', ['v1alpha1'], 'v1alpha1'),
]
