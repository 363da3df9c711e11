// The Jupyter web app's spawner_ui_config.yaml: the form defaults users see when creating a notebook.
local editable(value) = { value: value, readOnly: false };
local images(list) = { value: if std.length(list) > 0 then list[0] else '', options: list };

function(params) {
  spawnerFormDefaults: {
    image: images(params.images),
    imageGroupOne: images(params.codeServerImages),
    imageGroupTwo: images(params.rstudioImages),
    allowCustomImage: params.allowCustomImage,
    imagePullPolicy: editable('IfNotPresent'),
    cpu: editable(params.defaultCpu) + { limitFactor: '1.2' },
    memory: editable(params.defaultMemory) + { limitFactor: '1.2' },
    environment: editable({}),
    workspaceVolume: editable({
      mount: '/home/jovyan',
      newPvc: {
        metadata: { name: '{notebook-name}-workspace' },
        spec: { resources: { requests: { storage: params.workspaceSize } }, accessModes: ['ReadWriteOnce'] },
      },
    }),
    dataVolumes: editable([]),
    gpus: editable({ num: 'none', vendors: params.gpuVendors, vendor: '' }),
    affinityConfig: editable('') + { options: [] },
    tolerationGroup: editable('') + { options: [] },
    shm: editable(true),
    configurations: editable([]),
  },
}
