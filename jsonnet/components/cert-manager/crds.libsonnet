// cert-manager v1.16 CRDs with open spec/status schemas (served and stored as v1, as upstream).
local k = import 'k.libsonnet';

local col(name, path, type='string') = { name: name, jsonPath: path, type: type };
local ready = col('Ready', '.status.conditions[?(@.type=="Ready")].status');
local age = col('Age', '.metadata.creationTimestamp', 'date');
local crd(group, kind, plural, shortNames, scope='Namespaced', columns=[ready, age]) =
  k.crd(group, kind, plural, [k.crdVersion('v1', printerColumns=columns)], scope=scope,
        shortNames=shortNames, categories=['cert-manager']);

[
  crd('cert-manager.io', 'Certificate', 'certificates', ['cert', 'certs'],
      columns=[ready, col('Secret', '.spec.secretName'), age]),
  crd('cert-manager.io', 'CertificateRequest', 'certificaterequests', ['cr', 'crs']),
  crd('cert-manager.io', 'Issuer', 'issuers', []),
  crd('cert-manager.io', 'ClusterIssuer', 'clusterissuers', [], 'Cluster'),
  crd('acme.cert-manager.io', 'Order', 'orders', [], columns=[col('State', '.status.state'), age]),
  crd('acme.cert-manager.io', 'Challenge', 'challenges', [], columns=[col('State', '.status.state'), age]),
]
