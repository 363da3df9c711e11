// Default sidebar and landing-page links of the dashboard (upstream centraldashboard-config).
function(params) {
  menuLinks: [
    { type: 'item', link: '/jupyter/', text: 'Notebooks', icon: 'book' },
    { type: 'item', link: '/tensorboards/', text: 'TensorBoards', icon: 'assessment' },
    { type: 'item', link: '/volumes/', text: 'Volumes', icon: 'device:storage' },
    { type: 'item', link: '/katib/', text: 'Experiments (AutoML)', icon: 'kubeflow:katib' },
    { type: 'item', link: '/kserve-endpoints/', text: 'KServe Endpoints', icon: 'kubeflow:models' },
    { type: 'item', text: 'Pipelines', icon: 'kubeflow:pipeline-centered', link: '/pipeline/#/pipelines' },
    { type: 'item', text: 'Experiments (KFP)', icon: 'done-all', link: '/pipeline/#/experiments' },
    { type: 'item', text: 'Runs', icon: 'maps:directions-run', link: '/pipeline/#/runs' },
  ] + params.extraMenuLinks,
  externalLinks: params.externalLinks,
  quickLinks: [
    { text: 'Upload a pipeline', desc: 'Pipelines', link: '/pipeline/' },
    { text: 'View all pipeline runs', desc: 'Pipelines', link: '/pipeline/#/runs' },
    { text: 'Create a new Notebook server', desc: 'Notebook Servers', link: '/jupyter/new?namespace=kubeflow' },
    { text: 'View Katib Experiments', desc: 'Katib', link: '/katib/' },
  ],
  documentationItems: [
    { text: 'Getting Started with Kubeflow', desc: 'Get your machine-learning workflow up and running on Kubeflow',
      link: 'https://www.kubeflow.org/docs/started/getting-started/' },
    { text: 'Kubeflow Pipelines', desc: 'Build, deploy and manage portable ML workflows',
      link: 'https://www.kubeflow.org/docs/components/pipelines/' },
    { text: 'Kubeflow Notebooks', desc: 'Manage Jupyter, VS Code and RStudio servers',
      link: 'https://www.kubeflow.org/docs/components/notebooks/' },
  ],
}
