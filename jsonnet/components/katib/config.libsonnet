// katib-config (KatibConfig v1beta1) and the trial templates ConfigMap, as upstream ships them.
local k = import 'k.libsonnet';

local suggestionImages = {
  random: 'suggestion-hyperopt', tpe: 'suggestion-hyperopt', grid: 'suggestion-optuna',
  hyperband: 'suggestion-hyperband', bayesianoptimization: 'suggestion-skopt',
  cmaes: 'suggestion-goptuna', sobol: 'suggestion-goptuna', 'multivariate-tpe': 'suggestion-optuna',
  enas: 'suggestion-enas', darts: 'suggestion-darts', pbt: 'suggestion-pbt',
};

local katibConfig(params) =
  local img(n) = params.registry + '/' + n + ':' + params.imageTag;
  {
    apiVersion: 'config.kubeflow.org/v1beta1',
    kind: 'KatibConfig',
    init: { controller: {
      webhookPort: 8443,
      trialResources: ['Job.v1.batch', 'TFJob.v1.kubeflow.org', 'PyTorchJob.v1.kubeflow.org',
                       'MPIJob.v1.kubeflow.org', 'XGBoostJob.v1.kubeflow.org', 'PaddleJob.v1.kubeflow.org',
                       'JAXJob.v1.kubeflow.org'],
    } },
    runtime: {
      metricsCollectors: [
        { kind: 'StdOut', image: img('file-metrics-collector') },
        { kind: 'File', image: img('file-metrics-collector') },
        { kind: 'TensorFlowEvent', image: img('tfevent-metrics-collector'),
          resources: { limits: { memory: '1Gi' } } },
      ],
      suggestions: [
        { algorithmName: a, image: img(suggestionImages[a]) }
        + (if a == 'enas' || a == 'darts' then { resources: { limits: { memory: '400Mi' } } } else {})
        + (if a == 'pbt' then { persistentVolumeClaimSpec: {
             accessModes: ['ReadWriteMany'], resources: { requests: { storage: '5Gi' } } } } else {})
        for a in std.objectFields(suggestionImages)
      ],
      earlyStoppings: [{ algorithmName: 'medianstop', image: img('earlystopping-medianstop') }],
    },
  };

local defaultTrialTemplate = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  spec: { template: { spec: {
    containers: [{
      name: 'training-container',
      image: 'ghcr.io/kubeflow/katib/mxnet-mnist:v0.18.0',
      command: ['python3', '/opt/mxnet-mnist/mnist.py', '--batch-size=64',
                '--lr=${trialParameters.learningRate}', '--num-layers=${trialParameters.numberLayers}',
                '--optimizer=${trialParameters.optimizer}'],
    }],
    restartPolicy: 'Never',
  } } },
};

local pytorchTemplate = {
  apiVersion: 'kubeflow.org/v1',
  kind: 'PyTorchJob',
  spec: { pytorchReplicaSpecs: { Master: { replicas: 1, restartPolicy: 'OnFailure', template: { spec: {
    containers: [{
      name: 'pytorch',
      image: 'ghcr.io/kubeflow/katib/pytorch-mnist-cpu:v0.18.0',
      command: ['python3', '/opt/pytorch-mnist/mnist.py', '--epochs=1',
                '--lr=${trialParameters.learningRate}', '--momentum=${trialParameters.momentum}'],
    }],
  } } } } },
};

{
  katibConfig(params):: k.configMap('katib-config', params.namespace, {
    'katib-config.yaml': std.manifestYamlDoc(katibConfig(params)),
  }),
  trialTemplates(params):: k.configMap('trial-templates', params.namespace, {
    'defaultTrialTemplate.yaml': std.manifestYamlDoc(defaultTrialTemplate),
    'pytorchJobTemplate.yaml': std.manifestYamlDoc(pytorchTemplate),
  }) + { metadata+: { labels+: { 'katib.kubeflow.org/component': 'trial-templates' } } },
}
