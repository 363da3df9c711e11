"""The KfDef document: metadata, the spec, applications and secrets.

``KfDef`` is the one value every verb starts from. It knows where it was read from (``source``,
``base_dir``) so relative paths in it (jsonnet paths, helm charts, kubeconfig) resolve against
the spec's folder, not the working directory; a spec that comes with its lock (a recorded
revision's) carries the lock's pins too, instead of the lock file beside the spec.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, SecretStr, model_validator

from kfdeploy import scrub
from kfdeploy.credentials import SECRET_PLACEHOLDER
from kfdeploy.errors import SpecError
from kfdeploy.kinds import BUILTIN_KINDS, KindRule, extension_rule
from kfdeploy.spec.base import ENV_NAME, REGISTRY, DnsLabel, SpecModel, rule_error
from kfdeploy.spec.platform import BLOCK_NAMES, Platform
from kfdeploy.spec.sources import ImageOverride, KustomizeSource, Patch, ReplicaOverride, Repo

API_VERSION = "kfdef.apps.kubeflow.org/v1"
KIND = "KfDef"
DEFAULT_VERSION = "1.10"
SourceKind = Literal["library", "jsonnet", "helm", "kustomize"]
SOURCES = ("jsonnet", "helm", "kustomize")
CUSTOMIZATIONS = ("patches", "images", "replicas", "post_render")

class Metadata(SpecModel):
    """Identity of the deployment."""

    name: DnsLabel = Field(description="Names the cluster and the inventory (DNS-1123 label).")
    namespace: DnsLabel = Field("kubeflow", description="Default namespace of the platform.")

class JsonnetSource(SpecModel):
    """A component folder of your own (main.jsonnet + component.yaml)."""

    path: str = Field(min_length=1, description="Folder, relative to the spec file.")

class HelmSource(SpecModel):
    """A Helm chart rendered with ``helm template``."""

    chart: str = Field(min_length=1, description="Chart: local path, repo chart name, or oci:// URL.")
    repo: str | None = Field(None, description="Chart repository URL.")
    version: str | None = Field(None, description="Chart version; default: latest.")
    namespace: DnsLabel | None = Field(None, description="Release namespace; default: metadata.namespace.")
    values: dict[str, Any] = Field({}, description="Values, applied after valuesFiles.")
    values_files: list[str] = Field([], description="Values files, relative to the spec file.")

class Application(SpecModel):
    """One deployed unit: a library component (by name), your jsonnet folder, a Helm chart or
    kustomize folders."""

    name: DnsLabel = Field(description="Application name; the library component of this name "
                           "unless jsonnet, helm or kustomize is set.")
    enabled: bool = Field(True, description="false keeps it listed but not deployed (and prunes it).")
    params: dict[str, Any] = Field({}, description="Component params; highest precedence. For helm "
                                   "and kustomize: the params of postRender.")
    overlays: list[str] = Field([], description="Overlays for this application only.")
    depends_on: list[str] | None = Field(
        None, description="Applications applied and healthy first; default: the component's own.")
    jsonnet: JsonnetSource | None = Field(None, description="Render this jsonnet component folder.")
    helm: HelmSource | None = Field(None, description="Render this Helm chart.")
    kustomize: KustomizeSource | None = Field(None, description="Render these kustomize folders.")
    patches: list[Patch] = Field([], description="helm/kustomize: strategic-merge or JSON 6902 "
                                 "patches, applied to the rendered objects in order.")
    images: list[ImageOverride] = Field([], description="helm/kustomize: image overrides.")
    replicas: list[ReplicaOverride] = Field([], description="helm/kustomize: replica counts.")
    post_render: str | None = Field(None, min_length=1, description="helm/kustomize: a jsonnet file "
                                    "(relative to the spec) holding function(objects, params) -> "
                                    "objects, run last.")

    @property
    def source_kind(self) -> SourceKind:
        for kind in SOURCES:
            if getattr(self, kind) is not None:
                return kind  # type: ignore[return-value]
        return "library"

    @model_validator(mode="after")
    def _one_source(self) -> Application:
        chosen = [k for k in SOURCES if getattr(self, k) is not None]
        if len(chosen) > 1:
            raise rule_error(chosen[1], f"both {' and '.join(chosen)} are set; an application has "
                             f"one source: keep one of them (or none, for the library component)")
        if self.source_kind in ("library", "jsonnet"):
            for field in CUSTOMIZATIONS:
                if getattr(self, field):
                    alias = "postRender" if field == "post_render" else field
                    raise rule_error(alias, f"{alias} applies to helm and kustomize applications; "
                                     "a jsonnet component is changed through its params")
        return self

class EnvSource(SpecModel):
    """A value read from an environment variable when kfdeploy runs."""

    name: str = Field(pattern=ENV_NAME, description="Environment variable holding the value.")

class LiteralSource(SpecModel):
    """A value written in the spec itself."""

    value: SecretStr = Field(description="The value itself (avoid in committed files).")

class SecretSource(SpecModel):
    """Where a secret's value comes from: exactly one of envSource or literalSource."""

    env_source: EnvSource | None = Field(None, description="Read the value from the environment.")
    literal_source: LiteralSource | None = Field(None, description="The value, inline.")

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretSource:
        if (self.env_source is None) == (self.literal_source is None):
            raise ValueError("set exactly one of envSource or literalSource")
        return self

class SecretSpec(SpecModel):
    """A secret value components can use, read at apply time; never printed."""

    name: DnsLabel = Field(description="Secret name, referenced by components.")
    secret_source: SecretSource = Field(description="Where the value comes from.")

    def resolve(self, env: Mapping[str, str]) -> str:
        """The secret's value; ``env`` is usually ``os.environ``."""
        source = self.secret_source
        if source.literal_source is not None:
            value = source.literal_source.value.get_secret_value()
        else:
            assert source.env_source is not None
            var = source.env_source.name
            if var not in env:
                raise SpecError("spec.secrets", [f"secret {self.name!r} reads environment variable "
                                                 f"{var}, which is not set"],
                                hint=f"export {var}=... before running kfdeploy")
            value = env[var]
        scrub.remember(value, SECRET_PLACEHOLDER.format(self.name))
        return value

class KindSpec(SpecModel):
    """How kfdeploy treats a custom resource of yours: a row of its kind table (docs/spec.md)."""

    group: str = Field(min_length=1, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
                       description="API group of the custom resource (its CRD's spec.group).")
    kind: str = Field(min_length=1, pattern=r"^[A-Z][A-Za-z0-9]*$", description="Kind, as in its CRD.")
    wait: Literal["health", "exists"] = Field(
        "health", description="health: apply waits until its health rule says ready; exists: ready once it exists.")
    health: Literal["generic", "ready"] = Field(
        "generic", description="generic: the generic chain (observedGeneration, Stalled, a Ready condition "
        "when there is one); ready: not ready until a Ready condition exists and is True.")
    protection: Literal["none", "data"] = Field(
        "none", description="data: prune and delete keep it, like a PersistentVolumeClaim, unless "
        "--prune-pvcs / --delete-pvcs is given.")

    @model_validator(mode="after")
    def _custom(self) -> KindSpec:
        if (self.group, self.kind) in BUILTIN_KINDS:
            raise rule_error("kind", f"{self.kind}.{self.group} is a built-in Kubernetes kind; spec.kinds "
                             "describes custom resources only")
        return self

    def rule(self) -> KindRule:
        """This kind as a row of ``kfdeploy.kinds``."""
        return extension_rule(self.group, self.kind, wait=self.wait,
                              health="" if self.health == "generic" else self.health,
                              protection="" if self.protection == "none" else self.protection)


class KfDefSpec(SpecModel):
    """The deployment: platform, params and the applications to run."""

    version: str = Field(DEFAULT_VERSION, min_length=1, description="Component library release.")
    platform: Platform = Field(description="Where the platform runs.")
    overlays: list[str] = Field([], description="Named overlays (overlays/<name>.yaml), in order.")
    params: dict[str, dict[str, Any]] = Field(
        {}, description='Param overrides: "*" for every component that has the param, or an '
        "application name.")
    secrets: list[SecretSpec] = Field([], description="Secret values for components.")
    image_registry: str | None = Field(
        None, pattern=REGISTRY, description="HOST[/PATH] of a mirror registry: every image of every "
        "application is pulled from there (its path kept; `kfdeploy images --registry` lists the copies).")
    repos: list[Repo] = Field([], description="Manifest trees that kustomize applications read from.")
    applications: list[Application] = Field(
        [], description="What to deploy, in any order (dependsOn decides the order); "
        "empty = the library's default components.")
    revision_history_limit: int = Field(
        10, ge=1, le=100, description="Revisions kept in the cluster (`kfdeploy history`, `kfdeploy rollback`);"
        " `apply --revision-history-limit` overrides it.")
    kinds: list[KindSpec] = Field(
        [], description="Waits, health rules and prune protections for your own custom resources "
        "(rows added to kfdeploy's kind table).")

class KfDef(SpecModel):
    """A Kubeflow deployment: which cluster, which applications, with which params."""

    api_version: Literal["kfdef.apps.kubeflow.org/v1"] = Field(description="Always " + API_VERSION + ".")
    kind: Literal["KfDef"] = Field(description="Always KfDef.")
    metadata: Metadata = Field(description="Name and namespace.")
    spec: KfDefSpec = Field(description="The deployment.")
    _source: str = PrivateAttr("<memory>")
    _base_dir: Path = PrivateAttr(default_factory=Path)
    _pins: dict[str, str] | None = PrivateAttr(None)

    @property
    def source(self) -> str:
        """The file this spec was read from (for messages)."""
        return self._source

    @property
    def base_dir(self) -> Path:
        """Folder that relative paths in the spec are resolved against."""
        return self._base_dir

    @property
    def pins(self) -> dict[str, str] | None:
        """The lock's URL -> sha256 pins given with the spec (kept in memory, never written);
        None: the lock is the file beside the spec (``kfdeploy.render.lock``)."""
        return self._pins

    def with_origin(self, source: str, base_dir: Path, pins: dict[str, str] | None = None) -> KfDef:
        self._source, self._base_dir, self._pins = source, base_dir, pins
        return self

    def resolve_path(self, path: str) -> Path:
        """A path from the spec, made absolute against the spec's folder (``~`` expanded)."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self._base_dir / p).resolve()

    @property
    def enabled_applications(self) -> list[Application]:
        return [a for a in self.spec.applications if a.enabled]

    def canonical(self) -> dict[str, Any]:
        """The document with defaults filled in (the platform block too), YAML names, secret
        literals included."""
        data = self.model_dump(mode="json", by_alias=True)
        platform = self.spec.platform
        data["spec"]["platform"][BLOCK_NAMES[platform.kind]] = platform.settings.model_dump(
            mode="json", by_alias=True)
        for raw, secret in zip(data["spec"]["secrets"], self.spec.secrets, strict=True):
            literal = secret.secret_source.literal_source
            if literal is not None:
                raw["secretSource"]["literalSource"]["value"] = literal.value.get_secret_value()
        return data

    def spec_hash(self) -> str:
        """sha256 of the canonical JSON: equal for documents that mean the same thing."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()
