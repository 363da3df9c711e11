"""The KfDef spec: the typed model, loading and validation, and its JSON Schema.

Start here: ``load_spec(path) -> KfDef``; every problem in a file comes back at once as one
``SpecError`` whose messages name the field path (``spec.applications[2].helm``) and the line.
"""

from kfdeploy.spec.base import Taint
from kfdeploy.spec.load import load_spec, parse_spec, parse_text
from kfdeploy.spec.model import (
    API_VERSION,
    DEFAULT_VERSION,
    KIND,
    Application,
    EnvSource,
    HelmSource,
    JsonnetSource,
    KfDef,
    KfDefSpec,
    LiteralSource,
    Metadata,
    SecretSource,
    SecretSpec,
)
from kfdeploy.spec.platform import (
    PLATFORM_KINDS,
    Accelerator,
    Autoscaling,
    EksCluster,
    EksNodeGroup,
    EksPlatform,
    EksScaling,
    EksVpc,
    ExistingPlatform,
    GkeCluster,
    GkeNodePool,
    GkePlatform,
    KindPlatform,
    KwokNodePool,
    KwokPlatform,
    MinikubePlatform,
    Platform,
    PlatformKind,
    PlatformSettings,
)
from kfdeploy.spec.sources import ImageOverride, KustomizeSource, Patch, PatchTarget, ReplicaOverride, Repo

__all__ = [
    "API_VERSION", "DEFAULT_VERSION", "KIND", "PLATFORM_KINDS", "Accelerator", "Application",
    "Autoscaling", "EksCluster", "EksNodeGroup", "EksPlatform", "EksScaling", "EksVpc",
    "EnvSource", "ExistingPlatform", "GkeCluster", "GkeNodePool", "GkePlatform", "HelmSource",
    "JsonnetSource", "KfDef", "KfDefSpec", "KindPlatform", "KwokNodePool", "KwokPlatform",
    "LiteralSource", "Metadata", "MinikubePlatform", "Platform", "PlatformKind",
    "PlatformSettings", "SecretSource", "SecretSpec", "Taint", "load_spec", "parse_spec",
    "parse_text", "ImageOverride", "KustomizeSource", "Patch", "PatchTarget", "ReplicaOverride", "Repo",
]
