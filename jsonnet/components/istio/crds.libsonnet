// Istio CRDs (istio 1.26 base chart), with open spec/status schemas.
// One storage version per CRD, as upstream; every listed version serves the same schema.
local k = import 'k.libsonnet';

local versions(names, storage) = [k.crdVersion(v, storage=(v == storage)) for v in names];
local net = ['v1alpha3', 'v1beta1', 'v1'];
local sec = ['v1beta1', 'v1'];

local crd(group, kind, plural, vs, storage, shortNames=[]) =
  k.crd(group, kind, plural, versions(vs, storage), shortNames=shortNames, categories=['istio-io']);

[
  crd('networking.istio.io', 'VirtualService', 'virtualservices', net, 'v1alpha3', ['vs']),
  crd('networking.istio.io', 'DestinationRule', 'destinationrules', net, 'v1alpha3', ['dr']),
  crd('networking.istio.io', 'Gateway', 'gateways', net, 'v1alpha3', ['gw']),
  crd('networking.istio.io', 'ServiceEntry', 'serviceentries', net, 'v1alpha3', ['se']),
  crd('networking.istio.io', 'Sidecar', 'sidecars', net, 'v1alpha3'),
  crd('networking.istio.io', 'WorkloadEntry', 'workloadentries', net, 'v1alpha3', ['we']),
  crd('networking.istio.io', 'WorkloadGroup', 'workloadgroups', net, 'v1alpha3', ['wg']),
  crd('networking.istio.io', 'EnvoyFilter', 'envoyfilters', ['v1alpha3'], 'v1alpha3'),
  crd('networking.istio.io', 'ProxyConfig', 'proxyconfigs', ['v1beta1'], 'v1beta1'),
  crd('security.istio.io', 'PeerAuthentication', 'peerauthentications', sec, 'v1beta1', ['pa']),
  crd('security.istio.io', 'AuthorizationPolicy', 'authorizationpolicies', sec, 'v1beta1', ['ap']),
  crd('security.istio.io', 'RequestAuthentication', 'requestauthentications', sec, 'v1beta1', ['ra']),
  crd('telemetry.istio.io', 'Telemetry', 'telemetries', ['v1alpha1', 'v1'], 'v1alpha1', ['telemetry']),
  crd('extensions.istio.io', 'WasmPlugin', 'wasmplugins', ['v1alpha1'], 'v1alpha1'),
]
