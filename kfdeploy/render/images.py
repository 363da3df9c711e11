"""Container image references: parse, format, override, mirror, and find them in objects.

Air-gapped installs need every image a platform pulls, and a platform pulls more than its pod
specs show: controllers start images named in their configuration (the notebook spawner's image
options, katib's metrics collectors and trial templates, kserve's storage initializer and serving
runtimes, the pipelines launcher and driver). So images are found, and rewritten, in two places:

- **containers**: ``image`` of every item under a ``containers`` / ``initContainers`` /
  ``ephemeralContainers`` list anywhere in an object (every workload kind, CronJob, pod templates
  inside custom resources such as ServingRuntime, Notebook or a katib trial template);
- **configuration**: ConfigMap data (a value under a key naming an image, also inside YAML or JSON
  documents held in the data), env values of variables naming an image (``V2_LAUNCHER_IMAGE``),
  ``--*-image`` command-line flags, and an ``image`` field anywhere else in a custom resource
  (knative's caching ``Image``).

Configuration text is rewritten in place, by exact reference, so its formatting and comments stay.
The reference grammar follows the Docker distribution reference: ``[registry/]path[:tag][@digest]``,
with Docker Hub shorthands (``mysql:8.0`` is ``docker.io/library/mysql:8.0``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import yaml

from kfdeploy.kinds import rule_of

DOCKER_HUB = "docker.io"
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
OFFICIAL_PATH = "library"
CONTAINER_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers"})
# A single container (kserve ClusterStorageContainer, Argo templates) is the key "container".
# Keys whose values are never images even though they mention one.
NOT_IMAGE_KEY = re.compile(r"pull[ _-]?(policy|secret)", re.IGNORECASE)
IMAGE_KEY = re.compile(r"image", re.IGNORECASE)
IMAGE_FLAG = re.compile(r"^(--?[\w-]*image[\w-]*)=(.+)$", re.IGNORECASE)
IMAGE_FLAG_NAME = re.compile(r"^--?[\w-]*image[\w-]*$", re.IGNORECASE)
# Keys holding a registry prefix that a controller joins with image names (istio's global.hub).
HUB_KEYS = frozenset({"hub"})
# Keys holding the tag of an image written without one (kserve explainers, the KFP profile
# controller's FRONTEND_IMAGE), besides the image key with IMAGE/Image/image turned into TAG/Tag/tag.
TAG_KEYS = ("defaultImageVersion", "KFP_VERSION")

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
PATH_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
DOMAIN_RE = re.compile(rf"^{_DOMAIN}$")
TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")
# Characters that may appear inside a reference: an occurrence bounded by others is a whole one.
_REF_CHARS = r"[\w./:@-]"


class ImageError(ValueError):
    """Not a valid image reference."""


@dataclass(frozen=True)
class ImageRef:
    """One image reference, as written: ``registry`` is "" when the reference names none."""

    registry: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def name(self) -> str:
        """The repository as written, without tag or digest (what kustomize matches on)."""
        return f"{self.registry}/{self.path}" if self.registry else self.path

    def __str__(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def expanded(self) -> ImageRef:
        """The fully qualified form: Docker Hub named, its official images under ``library/``."""
        if self.registry and self.registry not in DOCKER_HUB_ALIASES:
            return self
        official = "/" not in self.path
        return replace(self, registry=DOCKER_HUB, path=f"{OFFICIAL_PATH}/{self.path}" if official else self.path)


def split_registry(name: str) -> tuple[str, str]:
    """(registry, path) of a repository name, by Docker's rule: the first component is a
    registry when it has a '.' or ':', is ``localhost``, or has upper-case letters."""
    first, sep, rest = name.partition("/")
    if sep and (any(c in first for c in ".:") or first == "localhost" or first != first.lower()):
        return first, rest
    return "", name


def parse(text: str) -> ImageRef:
    """Parse ``[registry/]path[:tag][@digest]``; raise ImageError saying what is wrong."""
    rest, _, digest = text.partition("@")
    name, tag = rest, ""
    colon = rest.rfind(":")
    if colon > rest.rfind("/"):
        name, tag = rest[:colon], rest[colon + 1:]
    registry, path = split_registry(name)
    problems = [what for what, bad in (
        ("registry", registry and not DOMAIN_RE.match(registry)),
        ("repository path", not PATH_RE.match(path)),
        ("tag", (tag or ":" in rest[len(name):]) and not TAG_RE.match(tag)),
        ("digest", ("@" in text) and not DIGEST_RE.match(digest)),
    ) if bad]
    if problems:
        raise ImageError(f"'{text}' is not an image reference: bad {', '.join(problems)}"
                         " (expected [registry/]path[:tag][@digest], path in lower case)")
    return ImageRef(registry, path, tag, digest)


def is_image(text: Any) -> bool:
    if not isinstance(text, str) or not text:
        return False
    try:
        parse(text)
    except ImageError:
        return False
    return True


def expand(image: str) -> str:
    """``mysql:8.0`` -> ``docker.io/library/mysql:8.0``; qualified references are unchanged."""
    return str(parse(image).expanded())


def mirror(image: str, registry: str) -> str:
    """The reference in the mirror ``registry`` (``HOST[/PATH]``): the original registry host
    replaced, its path kept, tag and digest kept. References already there are unchanged."""
    registry = registry.rstrip("/")
    if image.startswith(registry + "/"):
        return image
    ref = parse(image).expanded()
    return str(replace(ref, registry=registry))


@dataclass(frozen=True)
class ImageOverride:
    """A kustomize ``images`` entry: references whose name is ``name`` get ``new_name``,
    ``new_tag`` and/or ``digest``. A new tag or digest replaces both the old tag and digest."""

    name: str
    new_name: str = ""
    new_tag: str = ""
    digest: str = ""

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> ImageOverride:
        """From a kustomize-style entry: ``{name, newName?, newTag?, digest?}``."""
        return cls(str(entry["name"]), str(entry.get("newName") or ""), str(entry.get("newTag") or ""),
                   str(entry.get("digest") or ""))

    def matches(self, image: str) -> bool:
        try:
            return parse(image).name == self.name
        except ImageError:
            return False

    def apply(self, image: str) -> str:
        """``image`` overridden, or unchanged when its name is not ``name``."""
        if not self.matches(image):
            return image
        ref = parse(image)
        registry, path = split_registry(self.new_name) if self.new_name else (ref.registry, ref.path)
        tag, digest = ref.tag, ref.digest
        if self.new_tag or self.digest:
            tag, digest = self.new_tag, self.digest
        return str(ImageRef(registry, path, tag, digest))


def override(image: str, overrides: Iterable[ImageOverride]) -> str:
    """The first matching override applied (kustomize applies one entry per name)."""
    for o in overrides:
        if o.matches(image):
            return o.apply(image)
    return image


# --- finding and rewriting images in objects -----------------------------------------------

Rewrite = Callable[[str], str]


@dataclass(frozen=True)
class ImageUse:
    """Where an object names an image. ``field`` is a path inside the object; ``written`` is the
    text there when it is not the whole reference (a name whose tag sits in a sibling key, or a
    registry prefix such as istio's ``hub``, which is rewritten but not an image to list)."""

    image: str
    field: str
    in_config: bool
    written: str = ""
    prefix: bool = False

    @property
    def text(self) -> str:
        return self.written or self.image


Visit = Callable[[ImageUse], str]


def find(obj: dict[str, Any]) -> list[ImageUse]:
    """Every image an object names, in containers and in configuration values."""
    found: list[ImageUse] = []

    def record(use: ImageUse) -> str:
        if not use.prefix:
            found.append(use)
        return use.text

    _walk_object(obj, record)
    return found


def rewrite(obj: dict[str, Any], fn: Rewrite, *, config: bool = True) -> dict[str, Any]:
    """A copy of ``obj`` with every image replaced by ``fn(image)``: in containers always, in
    configuration values too unless ``config`` is False (kustomize ``images`` touch containers)."""
    return _walk_object(obj, lambda use: fn(use.text) if config or not use.in_config else use.text)


def _walk_object(obj: dict[str, Any], visit: Visit) -> dict[str, Any]:
    where = rule_of(obj).images
    if where == "none":
        return obj
    if where == "fields":
        walked: dict[str, Any] = _walk(obj, "", visit)
        return walked
    out: dict[str, Any] = {**_walk({k: v for k, v in obj.items() if k != "data"}, "", visit)}
    if "data" in obj:
        out["data"] = _config_data(obj["data"], visit) if isinstance(obj["data"], dict) else obj["data"]
    return {k: out[k] for k in obj}


def _walk(value: Any, field: str, visit: Visit) -> Any:
    if isinstance(value, list):
        return [_walk(v, f"{field}[{i}]", visit) for i, v in enumerate(value)]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, v in value.items():
        path = f"{field}.{key}"
        if key in CONTAINER_LISTS and isinstance(v, list):
            out[key] = [_container(c, f"{path}[{i}]", visit) for i, c in enumerate(v)]
        elif key == "container" and isinstance(v, dict):
            out[key] = _container(v, path, visit)
        elif key == "image" and _config_image(v):  # a custom resource's own image (knative's Image)
            out[key] = visit(ImageUse(v, path, True))
        else:
            out[key] = _walk(v, path, visit)
    return out


def _container(c: Any, field: str, visit: Visit) -> Any:
    if not isinstance(c, dict):
        return c
    out = _walk({k: v for k, v in c.items() if k != "image"}, field, visit)
    if is_image(c.get("image")):
        out["image"] = visit(ImageUse(c["image"], f"{field}.image", False))
    elif "image" in c:
        out["image"] = c["image"]
    if isinstance(c.get("env"), list):
        out["env"] = [_env(e, f"{field}.env[{i}]", visit) for i, e in enumerate(c["env"])]
    for key in ("args", "command"):
        if isinstance(c.get(key), list):
            out[key] = _flags(c[key], f"{field}.{key}", visit)
    return {k: out[k] for k in c}


def _env(e: Any, field: str, visit: Visit) -> Any:
    if isinstance(e, dict) and _image_key(str(e.get("name", ""))) and _config_image(e.get("value")):
        return {**e, "value": visit(ImageUse(e["value"], f"{field}.value", True))}
    return e


def _flags(args: list[Any], field: str, visit: Visit) -> list[Any]:
    out = list(args)
    for i, arg in enumerate(args):
        if not isinstance(arg, str):
            continue
        m = IMAGE_FLAG.match(arg)
        if m and _config_image(m.group(2)):
            out[i] = f"{m.group(1)}={visit(ImageUse(m.group(2), f'{field}[{i}]', True))}"
        elif i and isinstance(args[i - 1], str) and IMAGE_FLAG_NAME.match(args[i - 1]) and _config_image(arg):
            out[i] = visit(ImageUse(arg, f"{field}[{i}]", True))
    return out


def _config_data(data: dict[str, Any], visit: Visit) -> dict[str, Any]:
    """ConfigMap data: values under keys naming an image, and images inside the YAML or JSON
    documents the values hold, each replaced where it is written so layout and comments stay.
    Knative's ``_example`` keys are documentation guarded by a checksum: left alone."""
    out = dict(data)
    for key, use in _uses_in(data):
        if str(key).startswith("_example"):
            continue
        new = visit(use)
        if new != use.text and isinstance(out[key], str):
            out[key] = re.sub(rf"(?<!{_REF_CHARS}){re.escape(use.text)}(?!{_REF_CHARS})", new, out[key])
    return out


def _uses_in(data: dict[str, Any]) -> Iterator[tuple[str, ImageUse]]:
    """(data key, use) for the images of ConfigMap data; the field names the data key."""
    for use in _mapping_uses(data, ".data", in_image_key=False):
        yield use.field.removeprefix(".data."), use
    for key, text in data.items():
        if isinstance(text, str) and not _image_key(str(key)):
            doc = _document(text)
            if isinstance(doc, (dict, list)):
                yield from ((key, replace(u, field=f".data.{key}")) for u in _doc_uses(doc, "", False))


def _document(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        try:
            return json.loads(text)
        except ValueError:
            return None


def _doc_uses(value: Any, field: str, in_image_key: bool) -> Iterator[ImageUse]:
    if isinstance(value, dict):
        yield from _mapping_uses(value, field, in_image_key)
        for k, v in value.items():
            if isinstance(v, (dict, list)):
                yield from _doc_uses(v, f"{field}.{k}", in_image_key or _image_key(str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, (dict, list)):
                yield from _doc_uses(v, f"{field}[{i}]", in_image_key)
            elif in_image_key and _config_image(v):
                yield ImageUse(v, f"{field}[{i}]", True)


def _mapping_uses(m: dict[Any, Any], field: str, in_image_key: bool) -> Iterator[ImageUse]:
    """The string values of one mapping that are images (with a tag from a sibling key when the
    image names none) or registry prefixes (``hub``)."""
    for k, v in m.items():
        if not isinstance(v, str) or not (in_image_key or _image_key(str(k)) or k in HUB_KEYS):
            continue
        if k in HUB_KEYS and v and PATH_RE.match(split_registry(v)[1]) and "/" in v:
            yield ImageUse(v, f"{field}.{k}", True, prefix=True)
        elif _config_image(v):
            tag = _sibling_tag(str(k), m) if not parse(v).tag and not parse(v).digest else ""
            yield ImageUse(f"{v}:{tag}" if tag else v, f"{field}.{k}", True, written=v if tag else "")


def _sibling_tag(key: str, m: dict[Any, Any]) -> str:
    names = [key.replace("IMAGE", "TAG"), key.replace("Image", "Tag"), key.replace("image", "tag"), *TAG_KEYS]
    tags = [m[n] for n in names if n != key and isinstance(m.get(n), str) and TAG_RE.match(m[n])]
    return tags[0] if tags else ""


def _image_key(key: str) -> bool:
    return bool(IMAGE_KEY.search(key)) and not NOT_IMAGE_KEY.search(key)


def _config_image(value: Any) -> bool:
    """Configuration strings count as images only when they look like one beyond doubt: a path
    with a '/', a tag or a digest (a bare word such as ``proxyv2`` or ``v1.10`` is not taken)."""
    if not is_image(value):
        return False
    ref = parse(value)
    return "/" in ref.name or bool(ref.tag or ref.digest)
