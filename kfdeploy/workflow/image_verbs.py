"""``kfdeploy images``: every image the spec would deploy, and the copies an air-gapped mirror needs.

The images are those of the rendered objects before ``spec.imageRegistry`` moves them, so the list
names what to copy from; with a registry (``--registry`` or the spec's) each image is paired with
its place in the mirror, as ``crane copy SRC DST`` lines a shell can run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kfdeploy.errors import UsageError
from kfdeploy.objects import describe
from kfdeploy.options import Options
from kfdeploy.render import images
from kfdeploy.spec.base import PATTERN_HINTS, REGISTRY
from kfdeploy.workflow.session import load_spec, render_session


@dataclass(frozen=True)
class Image:
    image: str
    applications: list[str]
    uses: list[tuple[str, str, str]]  # (application, object, field)
    mirror: str | None = None

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"image": self.image, "applications": self.applications}
        if self.mirror:
            data["mirror"] = self.mirror
        data["uses"] = [{"application": a, "object": o, "field": f} for a, o, f in self.uses]
        return data


@dataclass(frozen=True)
class ImagesResult:
    images: list[Image]
    registry: str | None
    verbose: int = 0

    def to_data(self) -> dict[str, Any]:
        return {"images": [i.to_data() for i in self.images]}

    def text(self) -> str:
        if self.registry:
            return "\n".join(f"crane copy {images.expand(i.image)} {i.mirror}" for i in self.images)
        width = max((len(i.image) for i in self.images), default=0)
        lines = []
        for i in self.images:
            lines.append(f"{i.image:<{width}}  {', '.join(i.applications)}")
            lines.extend(f"    {o} {f}" for _, o, f in i.uses if self.verbose)
        return "\n".join(lines)


def list_images(opts: Options, registry: str | None = None) -> ImagesResult:
    """The images of every application, from every source, sorted by reference."""
    if registry is not None and not re.match(REGISTRY, registry):
        raise UsageError(f"--registry {registry!r} is not {PATTERN_HINTS[REGISTRY]}")
    spec = load_spec(opts.file)
    registry = registry or spec.spec.image_registry
    found: dict[str, list[tuple[str, str, str]]] = {}
    # Secret values never reach an image list: spec.secrets render as placeholders, as in build.
    for app in render_session(opts, spec, masked=True, mirror=False).render().applications:
        for obj in app.objects:
            for use in images.find(obj):
                found.setdefault(use.image, []).append((app.name, describe(obj), use.field))
    result = [Image(image, list(dict.fromkeys(a for a, _, _ in uses)), uses,
                    images.mirror(image, registry) if registry else None)
              for image, uses in sorted(found.items())]
    return ImagesResult(result, registry, opts.verbose)
