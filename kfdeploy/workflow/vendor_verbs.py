"""``kfdeploy vendor``: pack what a spec's renders fetch and the kustomize binaries they run, or
fill an offline machine's cache and tools dir from such a bundle.

With ``spec.imageRegistry`` and ``kfdeploy images --registry`` this is the air-gapped procedure
(README): vendor on a connected machine, carry the bundle, import it, render with ``--offline``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfdeploy.errors import UsageError
from kfdeploy.options import Options
from kfdeploy.render import vendor as bundles
from kfdeploy.render.fetch import stderr_report
from kfdeploy.render.lock import Lock
from kfdeploy.render.repos import RepoResolver
from kfdeploy.workflow.session import load_spec


@dataclass(frozen=True)
class VendorResult:
    action: str  # "wrote" | "imported"
    bundle: str
    sources: list[dict[str, Any]]
    lock: str | None
    tools: list[dict[str, Any]]

    def to_data(self) -> dict[str, Any]:
        return {"action": self.action, "bundle": self.bundle, "lock": self.lock,
                "sources": [{"url": s["url"], "sha256": s["sha256"]} for s in self.sources],
                "tools": self.tools}

    def text(self) -> str:
        lines = [f"{self.action} {self.bundle}: {len(self.sources)} source(s), {len(self.tools)} kustomize binary(ies)"
                 + (f", pinned in {self.lock}" if self.lock else "")]
        lines += [f"  {s['url']}  sha256:{s['sha256'][:12]}" for s in self.sources]
        lines += [f"  kustomize {t['version']} {t['platform']}  sha256:{t['sha256'][:12]}  {tool_note(t)}"
                  for t in self.tools]
        return "\n".join(lines)


def tool_note(tool: dict[str, Any]) -> str:
    """Where an imported binary went, or which applications a packed one renders."""
    if "path" in tool:
        return f"{tool['installed']} {tool['path']}"
    return f"for {', '.join(tool['applications']) or '--kustomize'}"


def vendor(opts: Options, output_file: str | None = None, import_file: str | None = None,
           kustomize: tuple[str, ...] = ()) -> VendorResult:
    """Write a bundle of everything ``opts.file`` fetches (and the kustomize binaries it renders
    with, plus ``kustomize`` versions), or import one into the cache and the tools dir."""
    if (output_file is None) == (import_file is None):
        raise UsageError("give -o FILE.tar.gz to write a bundle, or --import FILE.tar.gz to read one")
    if import_file is not None:
        if kustomize:
            raise UsageError("--kustomize chooses what a bundle carries: give it with -o, not --import")
        return import_into_cache(opts, Path(import_file))
    spec = load_spec(opts.file)
    repos = RepoResolver.for_spec(spec)
    sources, tools = bundles.write_bundle(spec, repos, Path(output_file or ""), kustomize)
    return VendorResult("wrote", str(output_file), sources, str(repos.lock.path) if repos.lock.path else None, tools)


def import_into_cache(opts: Options, bundle: Path) -> VendorResult:
    """Fill the cache; the spec's lock (if the spec is here) verifies the bundle and gains its pins."""
    spec_file = Path(opts.file)
    if spec_file.is_file():
        repos = RepoResolver.for_spec(load_spec(opts.file))
    else:
        repos = RepoResolver(Path.cwd(), report=stderr_report, lock=Lock())
    sources, tools = bundles.import_bundle(bundle, repos)
    return VendorResult("imported", str(bundle), sources, str(repos.lock.path) if repos.lock.path else None, tools)
