// cert-manager v1.16 CRDs with open spec/status schemas (served and stored as v1, as upstream) and
// upstream's printer columns.
local k = import 'k.libsonnet';

local col(name, path, type='string') = { name: name, jsonPath: path, type: type };
local ready = col('Ready', '.status.conditions[?(@.type=="Ready")].status');
local age = col('Age', '.metadata.creationTimestamp', 'date');
local wide(c) = c + { priority: 1 };  // shown with -o wide
local message = wide(col('Status', '.status.conditions[?(@.type=="Ready")].message'));
local issuer = col('Issuer', '.spec.issuerRef.name');
local condition(type) = col(type, '.status.conditions[?(@.type=="' + type + '")].status');
local crd(group, kind, plural, shortNames, scope='Namespaced', columns=[ready, age]) =
  k.crd(group, kind, plural, [k.crdVersion('v1', printerColumns=columns)], scope=scope,
        shortNames=shortNames, categories=['cert-manager']);

[
  crd('cert-manager.io', 'Certificate', 'certificates', ['cert', 'certs'],
      columns=[ready, col('Secret', '.spec.secretName'), wide(issuer), message, age]),
  crd('cert-manager.io', 'CertificateRequest', 'certificaterequests', ['cr', 'crs'],
      columns=[condition('Approved'), condition('Denied'), ready, issuer, col('Requester', '.spec.username'), message, age]),
  crd('cert-manager.io', 'Issuer', 'issuers', [], columns=[ready, message, age]),
  crd('cert-manager.io', 'ClusterIssuer', 'clusterissuers', [], 'Cluster', columns=[ready, message, age]),
  crd('acme.cert-manager.io', 'Order', 'orders', [],
      columns=[col('State', '.status.state'), wide(issuer), wide(col('Reason', '.status.reason')), age]),
  crd('acme.cert-manager.io', 'Challenge', 'challenges', [],
      columns=[col('State', '.status.state'), col('Domain', '.spec.dnsName'), wide(col('Reason', '.status.reason')), age]),
]
