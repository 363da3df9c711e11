"""Spec types for sources that are not jsonnet: repositories, kustomize directories, and the
customizations (patches, images, replicas) applied to what such a source renders.

Their shapes follow kustomize's own fields (``patches[].target``, ``images[].newTag``) so a user
who knows a kustomization reads them without a manual.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from kfdeploy.spec.base import DnsLabel, NonNegative, SpecModel, rule_error

SHA256 = r"^[0-9a-f]{64}$"
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".zip")


class RepoKustomize(SpecModel):
    """Which kustomize renders a repo's folders, instead of the one the release pins."""

    version: str = Field(pattern=r"^(v\d+\.\d+\.\d+|kubectl)$", description="A kustomize release "
                         "(e.g. v5.4.3; built from the Go module proxy into the tools dir when "
                         "missing), or `kubectl` for kubectl's built-in kustomize.")


class Repo(SpecModel):
    """A tree of manifests kustomize applications read from: a folder, an archive, or an
    https:// archive URL (downloaded once into the cache)."""

    name: DnsLabel = Field(description="Name applications refer to in kustomize.repo.")
    uri: str = Field(min_length=1, description="A local folder, a local .tar.gz/.tgz/.zip (paths "
                     "relative to the spec), or an https:// URL of such an archive; an archive "
                     "holding one top-level folder is read from inside it.")
    sha256: str | None = Field(None, pattern=SHA256, description="Expected sha256 of the archive "
                               "(lowercase hex); a download that differs is refused.")
    kustomize: RepoKustomize | None = Field(None, description="Override the kustomize version; "
                                            "default: the release's CI pin, else kubectl's built-in.")

    @property
    def is_url(self) -> bool:
        return self.uri.startswith("https://")

    @field_validator("uri")
    @classmethod
    def _scheme(cls, uri: str) -> str:
        scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", uri)
        if scheme and scheme.group(1) != "https":
            raise ValueError(f"unsupported URL scheme {scheme.group(1)!r}: use an https:// archive "
                             "URL, or a local folder or archive path")
        if scheme and not uri.split("?")[0].endswith(ARCHIVE_SUFFIXES):
            raise ValueError("an https:// repo must be an archive ending in .tar.gz, .tgz or .zip "
                             "(for a git repository, use its archive URL)")
        return uri


class KustomizeSource(SpecModel):
    """Folders rendered with ``kubectl kustomize``, each on its own; objects of all of them
    form the application."""

    repo: DnsLabel | None = Field(None, description="A spec.repos name; paths are relative to "
                                  "that repo. Omitted: relative to the spec file.")
    path: str | list[str] = Field(description="A kustomization folder, or a list of them.")
    components: list[str] = Field([], description="kustomize Components (folders, same base as "
                                  "path) applied to each path, as a kustomization's `components:`.")

    @property
    def paths(self) -> list[str]:
        return [self.path] if isinstance(self.path, str) else list(self.path)

    @field_validator("path")
    @classmethod
    def _paths(cls, path: str | list[str]) -> str | list[str]:
        paths = [path] if isinstance(path, str) else path
        if not paths or any(not p for p in paths):
            raise ValueError("give a folder, or a non-empty list of folders")
        return path

    @model_validator(mode="after")
    def _inside_repo(self) -> KustomizeSource:
        if self.repo is not None:
            for p in [*self.paths, *self.components]:
                if p.startswith("/") or ".." in p.split("/"):
                    raise rule_error("path", f"{p!r} leaves repo {self.repo!r}: paths in a repo are "
                                     "relative to its top folder, without '..'")
        return self


class PatchTarget(SpecModel):
    """Which objects a patch applies to; every field set must match (kustomize selector).
    ``name`` and ``namespace`` are regular expressions matched against the whole value."""

    group: str | None = Field(None, description="API group ('' for the core group).")
    version: str | None = Field(None, description="API version, e.g. v1.")
    kind: str | None = Field(None, description="Kind, e.g. Deployment.")
    name: str | None = Field(None, description="Object name (regular expression).")
    namespace: str | None = Field(None, description="Namespace (regular expression).")
    label_selector: str | None = Field(None, description="Label selector, e.g. 'app=x,tier in (a,b)'.")
    annotation_selector: str | None = Field(None, description="Annotation selector, same syntax.")

    @field_validator("name", "namespace")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as e:
                raise ValueError(f"not a valid regular expression: {e}") from e
        return value


class Patch(SpecModel):
    """A strategic-merge patch (a partial object) or a JSON 6902 patch (a list of operations),
    inline or from a file."""

    patch: str | dict[str, Any] | list[dict[str, Any]] | None = Field(
        None, description="The patch inline: a partial object, a list of JSON 6902 operations, or "
        "either as YAML text.")
    path: str | None = Field(None, description="A YAML file holding the patch, relative to the spec.")
    target: PatchTarget | None = Field(None, description="Objects to patch; default: the object "
                                       "the strategic-merge patch names (required for JSON 6902).")

    @model_validator(mode="after")
    def _one_body(self) -> Patch:
        if (self.patch is None) == (self.path is None):
            raise rule_error("patch", "set exactly one of patch (inline) or path (a file)")
        return self


class ImageOverride(SpecModel):
    """Change the image of every container whose image is ``name`` (kustomize ``images``)."""

    name: str = Field(min_length=1, description="Image name as written in the source, without "
                      "tag or digest, e.g. ghcr.io/kubeflow/kfp-api-server.")
    new_name: str | None = Field(None, min_length=1, description="Replacement name (registry/repository).")
    new_tag: str | None = Field(None, pattern=r"^[\w][\w.-]{0,127}$", description="Replacement tag.")
    digest: str | None = Field(None, pattern=r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$",
                               description="Replacement digest (sha256:...).")

    @model_validator(mode="after")
    def _changes_something(self) -> ImageOverride:
        if self.new_name is None and self.new_tag is None and self.digest is None:
            raise rule_error("name", "set at least one of newName, newTag or digest")
        return self


class ReplicaOverride(SpecModel):
    """Set ``spec.replicas`` of the Deployment, StatefulSet or ReplicaSet of this name."""

    name: str = Field(min_length=1, description="Workload name.")
    count: NonNegative = Field(description="Replicas.")
