"""``kfdeploy vendor``: pack what a spec's renders fetch, or fill an offline machine's cache from it.

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

    def to_data(self) -> dict[str, Any]:
        return {"action": self.action, "bundle": self.bundle, "lock": self.lock,
                "sources": [{"url": s["url"], "sha256": s["sha256"]} for s in self.sources]}

    def text(self) -> str:
        lines = [f"{self.action} {self.bundle}: {len(self.sources)} source(s)"
                 + (f", pinned in {self.lock}" if self.lock else "")]
        lines += [f"  {s['url']}  sha256:{s['sha256'][:12]}" for s in self.sources]
        return "\n".join(lines)


def vendor(opts: Options, output_file: str | None = None, import_file: str | None = None) -> VendorResult:
    """Write a bundle of everything ``opts.file`` fetches, or import one into the cache."""
    if (output_file is None) == (import_file is None):
        raise UsageError("give -o FILE.tar.gz to write a bundle, or --import FILE.tar.gz to read one")
    if import_file is not None:
        return import_into_cache(opts, Path(import_file))
    spec = load_spec(opts.file)
    repos = RepoResolver.for_spec(spec)
    sources = bundles.write_bundle(spec, repos, Path(output_file or ""))
    return VendorResult("wrote", str(output_file), sources, str(repos.lock.path) if repos.lock.path else None)


def import_into_cache(opts: Options, bundle: Path) -> VendorResult:
    """Fill the cache; the spec's lock (if the spec is here) verifies the bundle and gains its pins."""
    spec_file = Path(opts.file)
    if spec_file.is_file():
        repos = RepoResolver.for_spec(load_spec(opts.file))
    else:
        repos = RepoResolver(Path.cwd(), report=stderr_report, lock=Lock())
    sources = bundles.import_bundle(bundle, repos)
    return VendorResult("imported", str(bundle), sources, str(repos.lock.path) if repos.lock.path else None)
