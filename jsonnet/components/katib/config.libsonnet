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

// Trial templates of katib 0.18 (MXNet examples were removed in 0.17): PyTorch MNIST on CPU by
// default, ENAS on CIFAR-10, and a PyTorchJob with one master and two workers.
local trialImage(name) = 'ghcr.io/kubeflow/katib/' + name + ':v0.18.0';
local pytorchMnist = {
  image: trialImage('pytorch-mnist-cpu'),
  command: ['python3', '/opt/pytorch-mnist/mnist.py', '--epochs=1',
            '--lr=${trialParameters.learningRate}', '--momentum=${trialParameters.momentum}'],
};
local job(container) = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  spec: { template: { spec: { containers: [{ name: 'training-container' } + container], restartPolicy: 'Never' } } },
};
local defaultTrialTemplate = job(pytorchMnist + { command: pytorchMnist.command[:3] + ['--batch-size=16'] + pytorchMnist.command[3:] });
local enasTemplate = job({
  image: trialImage('enas-cnn-cifar10-cpu'),
  command: ['python3', '-u', 'RunTrial.py', '--num_epochs=1',
            '--architecture="${trialParameters.neuralNetworkArchitecture}"',
            '--nn_config="${trialParameters.neuralNetworkConfig}"'],
});

local pytorchReplica(replicas) = {
  replicas: replicas, restartPolicy: 'OnFailure',
  template: { spec: { containers: [{ name: 'pytorch' } + pytorchMnist] } },
};
local pytorchTemplate = {
  apiVersion: 'kubeflow.org/v1',
  kind: 'PyTorchJob',
  spec: { pytorchReplicaSpecs: { Master: pytorchReplica(1), Worker: pytorchReplica(2) } },
};

{
  katibConfig(params):: k.configMap('katib-config', params.namespace, {
    'katib-config.yaml': std.manifestYamlDoc(katibConfig(params)),
  }),
  trialTemplates(params):: k.configMap('trial-templates', params.namespace, {
    'defaultTrialTemplate.yaml': std.manifestYamlDoc(defaultTrialTemplate),
    enasCPUTemplate: std.manifestYamlDoc(enasTemplate),
    pytorchJobTemplate: std.manifestYamlDoc(pytorchTemplate),
  }) + { metadata+: { labels+: { 'katib.kubeflow.org/component': 'trial-templates' } } },
}
