// Pipelines state: MySQL (mlpipeline, cachedb, metadb) and the S3-compatible artifact store
// (MinIO as upstream ships it, or SeaweedFS serving S3 on the same Service name and port).
local k = import 'k.libsonnet';
local c = import 'common.libsonnet';

local mysql(params) =
  local ns = params.namespace;
  local probe = { exec: { command: ['/bin/bash', '-c', 'mysqladmin ping -h 127.0.0.1 --silent'] },
                  initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 5 };
  local container = k.container(
    'mysql', params.mysqlImage, ports=[k.port('mysql', 3306)],
    args=['--datadir', '/var/lib/mysql', '--default-authentication-plugin=mysql_native_password',
          '--disable-log-bin'],
    env=[c.secretEnv('MYSQL_ROOT_PASSWORD', 'mysql-secret', 'password')],
    resources=k.resources('100m', '800Mi', limitMemory='2Gi'),
    volumeMounts=[{ name: 'mysql-persistent-storage', mountPath: '/var/lib/mysql' }],
  ) + k.runAs(999, 999) + { readinessProbe: probe, livenessProbe: probe + { initialDelaySeconds: 30, failureThreshold: 10 } };
  [
    k.serviceAccount('mysql', ns),
    k.secret('mysql-secret', ns, { username: params.mysqlUser, password: params.mysqlPassword }),
    k.pvc('mysql-pv-claim', ns, params.mysqlStorage, storageClass=c.storageClass(params)),
    k.service('mysql', ns, [k.servicePort('mysql', 3306, 'mysql')]),
    k.deployment('mysql', ns, [container], 1, sa='mysql',
                 volumes=[{ name: 'mysql-persistent-storage', persistentVolumeClaim: { claimName: 'mysql-pv-claim' } }],
                 podExtra={ securityContext: { fsGroup: 999, fsGroupChangePolicy: 'OnRootMismatch' } })
    + { spec+: { strategy: { type: 'Recreate' } } },
  ];

local artifactSecret(params) =
  k.secret('mlpipeline-minio-artifact', params.namespace,
           { accesskey: params.objectStoreAccessKey, secretkey: params.objectStoreSecretKey });

local minio(params) =
  local ns = params.namespace;
  local container = k.container(
    'minio', params.minioImage, ports=[k.port('s3', 9000)],
    args=['server', '/data'],
    env=[c.secretEnv('MINIO_ACCESS_KEY', 'mlpipeline-minio-artifact', 'accesskey'),
         c.secretEnv('MINIO_SECRET_KEY', 'mlpipeline-minio-artifact', 'secretkey')],
    resources=k.resources('20m', '100Mi', limitMemory='1Gi'),
    volumeMounts=[{ name: 'data', mountPath: '/data', subPath: 'minio' }],
  ) + k.runAs(1000, 0) + c.probes('/minio/health/ready', 's3', 5);
  [
    k.pvc('minio-pvc', ns, params.minioStorage, storageClass=c.storageClass(params)),
    k.service('minio-service', ns, [k.servicePort('http', 9000, 's3')], selectorName='minio'),
    k.deployment('minio', ns, [container], 1,
                 volumes=[{ name: 'data', persistentVolumeClaim: { claimName: 'minio-pvc' } }],
                 podExtra={ securityContext: { fsGroup: 1000, fsGroupChangePolicy: 'OnRootMismatch' } })
    + { spec+: { strategy: { type: 'Recreate' } } },
  ];

local seaweedfs(params) =
  local ns = params.namespace;
  local container = k.container(
    'seaweedfs', params.seaweedfsImage,
    ports=[k.port('s3', 8333), k.port('master', 9333), k.port('filer', 8888), k.port('volume', 8080)],
    args=['server', '-dir=/data', '-s3', '-s3.port=8333', '-s3.allowDeleteBucketNotEmpty=false',
          '-master.volumePreallocate=false', '-volume.max=0'],
    env=[c.secretEnv('AWS_ACCESS_KEY_ID', 'mlpipeline-minio-artifact', 'accesskey'),
         c.secretEnv('AWS_SECRET_ACCESS_KEY', 'mlpipeline-minio-artifact', 'secretkey')],
    resources=k.resources('100m', '256Mi', limitMemory='1Gi'),
    volumeMounts=[{ name: 'data', mountPath: '/data' }],
  ) + k.runAs(1000, 0) + c.probes('/cluster/status', 'master', 10);
  [
    k.serviceAccount('seaweedfs', ns),
    k.pvc('seaweedfs-pvc', ns, params.minioStorage, storageClass=c.storageClass(params)),
    k.service('seaweedfs', ns, [k.servicePort('s3', 9000, 's3'), k.servicePort('master', 9333, 'master')]),
    // Clients address the object store as minio-service:9000 whichever backend runs.
    k.service('minio-service', ns, [k.servicePort('http', 9000, 's3')], selectorName='seaweedfs'),
    k.deployment('seaweedfs', ns, [container], 1, sa='seaweedfs',
                 volumes=[{ name: 'data', persistentVolumeClaim: { claimName: 'seaweedfs-pvc' } }])
    + { spec+: { strategy: { type: 'Recreate' } } },
  ];

{
  all(params)::
    assert params.objectStore == 'minio' || params.objectStore == 'seaweedfs' :
           'pipelines: param objectStore must be minio or seaweedfs, got ' + params.objectStore;
    [mysql(params), artifactSecret(params),
     if params.objectStore == 'seaweedfs' then seaweedfs(params) else minio(params)],
}
