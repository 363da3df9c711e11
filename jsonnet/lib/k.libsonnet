// k.libsonnet: small constructors for Kubernetes objects, so components read as intent.
// Kept free of `%` / std.format: string building uses `+`, which every evaluator runs fast.
// Labels app.kubernetes.io/{part-of,component,managed-by,version} are added by the renderer.
{
  labels(name):: { 'app.kubernetes.io/name': name },

  meta(name, ns=null, labels={}, annotations={})::
    { name: name, labels: labels }
    + (if ns != null then { namespace: ns } else {})
    + (if std.length(annotations) > 0 then { annotations: annotations } else {}),

  // Every namespace carries its Pod Security Standard level (enforced by the API server).
  namespace(name, labels={}, podSecurity='restricted'):: {
    apiVersion: 'v1', kind: 'Namespace',
    metadata: $.meta(name, null, labels + { 'pod-security.kubernetes.io/enforce': podSecurity }),
  },

  serviceAccount(name, ns):: {
    apiVersion: 'v1', kind: 'ServiceAccount', metadata: $.meta(name, ns, $.labels(name)),
  },

  rule(apiGroups, resources, verbs):: { apiGroups: apiGroups, resources: resources, verbs: verbs },
  allVerbs:: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
  readVerbs:: ['get', 'list', 'watch'],

  // No rules = leave `rules` out: an aggregated role's rules belong to the aggregation controller.
  clusterRole(name, rules, labels={}):: {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole',
    metadata: $.meta(name, null, labels),
    [if std.length(rules) > 0 then 'rules']: rules,
  },
  role(name, ns, rules):: {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role',
    metadata: $.meta(name, ns), rules: rules,
  },
  saSubject(name, ns):: { kind: 'ServiceAccount', name: name, namespace: ns },
  clusterRoleBinding(name, role, subjects):: {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding',
    metadata: $.meta(name),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: subjects,
  },
  roleBinding(name, ns, role, subjects, roleKind='Role'):: {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding',
    metadata: $.meta(name, ns),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: role },
    subjects: subjects,
  },
  // ServiceAccount + ClusterRole + ClusterRoleBinding for a controller.
  controllerRbac(name, ns, rules):: [
    $.serviceAccount(name, ns),
    $.clusterRole(name, rules),
    $.clusterRoleBinding(name, name, [$.saSubject(name, ns)]),
  ],

  configMap(name, ns, data):: {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: $.meta(name, ns), data: data,
  },
  secret(name, ns, stringData, type='Opaque'):: {
    apiVersion: 'v1', kind: 'Secret', metadata: $.meta(name, ns), type: type, stringData: stringData,
  },

  port(name, port, protocol='TCP'):: { name: name, containerPort: port, protocol: protocol },
  env(name, value):: { name: name, value: std.toString(value) },
  envFrom(name, secret, key):: { name: name, valueFrom: { secretKeyRef: { name: secret, key: key } } },
  resources(cpu, memory, limitCpu=null, limitMemory=null, gpus=0):: {
    requests: { cpu: cpu, memory: memory },
    [if limitCpu != null || limitMemory != null || gpus > 0 then 'limits']:
      (if limitCpu != null then { cpu: limitCpu } else {})
      + (if limitMemory != null then { memory: limitMemory } else {})
      + (if gpus > 0 then { 'nvidia.com/gpu': gpus } else {}),
  },
  httpProbe(path, port, delay=5):: {
    httpGet: { path: path, port: port }, initialDelaySeconds: delay, periodSeconds: 10,
  },
  tcpProbe(port, delay=5):: { tcpSocket: { port: port }, initialDelaySeconds: delay, periodSeconds: 10 },

  container(name, image, ports=[], args=[], env=[], resources=$.resources('50m', '64Mi'),
            probe=null, command=null, volumeMounts=[], runAsUser=null, runAsGroup=null,
            securityContext=null):: {
    name: name,
    image: image,
    imagePullPolicy: 'IfNotPresent',
    resources: resources,
  } + (if std.length(ports) > 0 then { ports: ports } else {})
    + (if std.length(args) > 0 then { args: args } else {})
    + (if command != null then { command: command } else {})
    + (if std.length(env) > 0 then { env: env } else {})
    + (if std.length(volumeMounts) > 0 then { volumeMounts: volumeMounts } else {})
    + (if probe != null then { readinessProbe: probe, livenessProbe: probe } else {})
    // Hardened unless a container states why it needs more (securityContext).
    + { securityContext: if securityContext != null then securityContext else $.hardened(runAsUser, runAsGroup) },

  // The restricted Pod Security Standard for one container. Images whose default user is root
  // get the uid their upstream manifests run them as, so runAsNonRoot holds.
  hardened(runAsUser=null, runAsGroup=null):: {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    runAsNonRoot: true,
    seccompProfile: { type: 'RuntimeDefault' },
  } + (if runAsUser != null then { runAsUser: runAsUser } else {})
    + (if runAsGroup != null then { runAsGroup: runAsGroup } else {}),

  // The user (and group) an image that defaults to root runs as, on a hardened container.
  runAs(user, group=null):: { securityContext+: { runAsUser: user } + (if group != null then { runAsGroup: group } else {}) },

  gpuTolerations:: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],

  podSpec(containers, sa=null, volumes=[], extra={})::
    { containers: containers }
    + (if sa != null then { serviceAccountName: sa } else {})
    + (if std.length(volumes) > 0 then { volumes: volumes } else {})
    + extra,

  deployment(name, ns, containers, replicas=1, sa=null, volumes=[], podExtra={}, labels={}):: {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: $.meta(name, ns, $.labels(name) + labels),
    spec: {
      replicas: replicas,
      selector: { matchLabels: $.labels(name) },
      template: {
        metadata: { labels: $.labels(name) + labels },
        spec: $.podSpec(containers, sa, volumes, podExtra),
      },
    },
  },

  statefulSet(name, ns, containers, serviceName=name, replicas=1, sa=null, claims=[], podExtra={}):: {
    apiVersion: 'apps/v1', kind: 'StatefulSet',
    metadata: $.meta(name, ns, $.labels(name)),
    spec: {
      replicas: replicas,
      serviceName: serviceName,
      selector: { matchLabels: $.labels(name) },
      template: {
        metadata: { labels: $.labels(name) },
        spec: $.podSpec(containers, sa, [], podExtra),
      },
      [if std.length(claims) > 0 then 'volumeClaimTemplates']: claims,
    },
  },

  daemonSet(name, ns, containers, sa=null, volumes=[], podExtra={}):: {
    apiVersion: 'apps/v1', kind: 'DaemonSet',
    metadata: $.meta(name, ns, $.labels(name)),
    spec: {
      selector: { matchLabels: $.labels(name) },
      template: {
        metadata: { labels: $.labels(name) },
        spec: $.podSpec(containers, sa, volumes, podExtra),
      },
    },
  },

  job(name, ns, containers, sa=null, backoffLimit=4):: {
    apiVersion: 'batch/v1', kind: 'Job',
    metadata: $.meta(name, ns, $.labels(name)),
    spec: {
      backoffLimit: backoffLimit,
      template: {
        metadata: { labels: $.labels(name) },
        spec: $.podSpec(containers, sa, [], { restartPolicy: 'OnFailure' }),
      },
    },
  },

  servicePort(name, port, targetPort=port, protocol='TCP'):: {
    name: name, port: port, targetPort: targetPort, protocol: protocol,
  },
  // selectorName: the app.kubernetes.io/name of the pods behind the Service.
  service(name, ns, ports, selectorName=name, type='ClusterIP', labels={}):: {
    apiVersion: 'v1', kind: 'Service',
    metadata: $.meta(name, ns, $.labels(name) + labels),
    spec: { type: type, selector: $.labels(selectorName), ports: ports },
  },

  pvc(name, ns, size, accessModes=['ReadWriteOnce'], storageClass=null):: {
    apiVersion: 'v1', kind: 'PersistentVolumeClaim',
    metadata: $.meta(name, ns, $.labels(name)),
    spec: {
      accessModes: accessModes,
      resources: { requests: { storage: size } },
    } + (if storageClass != null then { storageClassName: storageClass } else {}),
  },
  claimTemplate(name, size):: {
    metadata: { name: name },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } },
  },

  // A structural CRD. `schema` is the openAPIV3Schema; the default accepts any spec/status.
  openSchema:: {
    type: 'object',
    properties: {
      spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    },
  },
  crdVersion(name, served=true, storage=true, schema=$.openSchema, printerColumns=[], subresources={ status: {} }):: {
    name: name, served: served, storage: storage,
    schema: { openAPIV3Schema: schema },
  } + (if std.length(printerColumns) > 0 then { additionalPrinterColumns: printerColumns } else {})
    + (if subresources != null then { subresources: subresources } else {}),
  crd(group, kind, plural, versions, scope='Namespaced', shortNames=[], singular=std.asciiLower(kind), categories=[]):: {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
    metadata: { name: plural + '.' + group },
    spec: {
      group: group,
      scope: scope,
      names: { kind: kind, plural: plural, singular: singular, listKind: kind + 'List' }
             + (if std.length(shortNames) > 0 then { shortNames: shortNames } else {})
             + (if std.length(categories) > 0 then { categories: categories } else {}),
      versions: versions,
    },
  },

  webhookClientConfig(service, ns, path, port=443):: {
    service: { name: service, namespace: ns, path: path, port: port },
  },
  webhookRule(groups, versions, resources, operations=['CREATE', 'UPDATE']):: {
    apiGroups: groups, apiVersions: versions, resources: resources, operations: operations,
  },
  mutatingWebhookConfiguration(name, webhooks, annotations={}):: {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration',
    metadata: $.meta(name, null, {}, annotations), webhooks: webhooks,
  },
  validatingWebhookConfiguration(name, webhooks, annotations={}):: {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration',
    metadata: $.meta(name, null, {}, annotations), webhooks: webhooks,
  },
  // failurePolicy Fail, as upstream: a webhook that is down must not silently skip its mutation
  // or validation (the kwok platform adjusts it to Ignore, since simulated pods serve nothing).
  webhook(name, clientConfig, rules, failurePolicy='Fail', namespaceSelector=null, objectSelector=null):: {
    name: name, clientConfig: clientConfig, rules: rules,
    failurePolicy: failurePolicy, sideEffects: 'None', admissionReviewVersions: ['v1'],
    timeoutSeconds: 10,
  } + (if namespaceSelector != null then { namespaceSelector: namespaceSelector } else {})
    + (if objectSelector != null then { objectSelector: objectSelector } else {}),

  // A ClusterRole filled by RBAC aggregation from roles labelled `selectorLabel: "true"`.
  // No `rules`: the controller-manager owns them, so applying must not fight it.
  aggregatedClusterRole(name, selectorLabel, labels={}):: {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole',
    metadata: $.meta(name, null, labels),
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [selectorLabel]: 'true' } }] },
  },

  // An istio VirtualService sending a URL prefix on the Kubeflow gateway to a Service.
  virtualService(name, ns, prefix, host, port, gateway='kubeflow/kubeflow-gateway', rewrite=null):: {
    apiVersion: 'networking.istio.io/v1', kind: 'VirtualService',
    metadata: $.meta(name, ns),
    spec: {
      gateways: [gateway],
      hosts: ['*'],
      http: [{
        match: [{ uri: { prefix: prefix } }],
        route: [{ destination: { host: host, port: { number: port } } }],
      } + (if rewrite != null then { rewrite: { uri: rewrite } } else {})],
    },
  },

  // NetworkPolicies (ingress), as Kubeflow's: every namespace the library creates admits traffic
  // from its own pods (allowSameNamespace); each component states who else may reach its pods.
  peers:: {
    sameNamespace: { podSelector: {} },
    namespace(name): { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } } },
    profiles: { namespaceSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'kubeflow-profile' } } },
  },
  networkPolicy(name, ns, podSelector, ingress):: {
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy',
    metadata: $.meta(name, ns),
    spec: { podSelector: podSelector, policyTypes: ['Ingress'], ingress: ingress },
  },
  allowSameNamespace(ns):: $.networkPolicy('default-allow-same-namespace', ns, {}, [{ from: [$.peers.sameNamespace] }]),
  // Pods named `selectorName` admit `from` (null: any source, e.g. the API server calling a
  // webhook, or a load balancer) on `ports` (empty: every port).
  allowIngress(name, ns, selectorName, from=null, ports=[]):: $.networkPolicy(name, ns, { matchLabels: $.labels(selectorName) }, [
    (if from != null then { from: from } else {})
    + (if std.length(ports) > 0 then { ports: [{ protocol: 'TCP', port: p } for p in ports] } else {}),
  ]),

  // An istio ALLOW policy letting the ingress gateway reach the pods named `selectorName`, and the
  // NetworkPolicy that lets its traffic in.
  allowFromGateway(name, ns, selectorName, istioNamespace='istio-system'):: [
    $.gatewayAuthorization(name, ns, selectorName, istioNamespace),
    $.allowIngress(name, ns, selectorName, [$.peers.namespace(istioNamespace)]),
  ],
  gatewayAuthorization(name, ns, selectorName, istioNamespace='istio-system'):: {
    apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy',
    metadata: $.meta(name, ns),
    spec: {
      action: 'ALLOW',
      selector: { matchLabels: $.labels(selectorName) },
      rules: [{ from: [{ source: { principals: [
        'cluster.local/ns/' + istioNamespace + '/sa/istio-ingressgateway-service-account',
      ] } }] }],
    },
  },

  // Flatten a list that may contain lists (components often build groups of objects).
  flat(xs):: std.flattenArrays([if std.isArray(x) then x else [x] for x in xs]),
}
