"""kfdeploy: one declarative KfDef spec to a running, health-checked Kubeflow platform.

The package is laid out as the pipeline runs: ``spec`` (load, validate) -> ``render``
(jsonnet + overlays + helm -> plain objects) -> ``kube`` (plan, server-side apply, wait,
inventory, prune) with ``platforms`` providing the cluster. ``workflow`` has one function per
verb; ``cli`` only parses and prints.
"""

__version__ = "0.1.0"
