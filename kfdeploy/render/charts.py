"""Charts from a chart repository (``helm.repo``), fetched by kfdeploy like any other source.

helm would read the repository's ``index.yaml`` and download the chart itself, on every render,
unpinned. Instead: the index names the chart archive's URL for the chart and version; that
archive is fetched through the repo cache (https, bounded, rewritten, pinned in the lock) and
helm renders the local file with the network closed. The chart -> URL answer is remembered in
the cache (and carried by vendor bundles), so a pinned ``helm.version`` renders offline; without
a version the index is read on each render for the latest one. A chart in an OCI registry
(``oci://``) is fetched the same way by ``render.oci``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import yaml

from kfdeploy.errors import RenderError
from kfdeploy.render import oci
from kfdeploy.render.fetch import download
from kfdeploy.render.remote import file_name

if TYPE_CHECKING:
    from kfdeploy.render.repos import RepoResolver


def chart_key(repo: str, chart: str, version: str) -> str:
    return f"{repo.rstrip('/')}#{chart}@{version}"


def fetched(source: Any) -> bool:
    """Whether kfdeploy fetches the chart (helm then renders a local file): from a chart
    repository or an archive over https, or from an OCI registry."""
    return oci.is_oci(source) or str(source.repo or source.chart).startswith("https://")


def fetch_chart(source: Any, repos: RepoResolver, who: str) -> Path:
    """The local chart archive of ``source``: ``chart`` in ``repo`` at ``version``, ``chart``
    itself when it is an https URL of a chart archive, or the chart of an OCI registry."""
    if oci.is_oci(source):
        return oci.fetch_chart(source, repos, who)
    hint = ("run once with network access, `kfdeploy vendor --import` a bundle holding the chart, or"
            " `helm pull` it and point helm.chart at the file")
    if not source.repo:
        name = file_name(source.chart)
        return repos.fetch(source.chart, f"{who}: chart", hint, file_name=name) / name
    key = chart_key(source.repo, source.chart, source.version) if source.version else None
    url = repos.recall(key) if key else None
    if url is None:
        url = chart_url(source, repos, who, hint)
        if key:
            repos.remember(key, url)
    name = file_name(url)
    return repos.fetch(url, f"{who}: chart {source.chart}", hint, file_name=name) / name


def chart_url(source: Any, repos: RepoResolver, who: str, hint: str) -> str:
    """The archive URL the repository's index gives for the chart (latest when no version)."""
    index_url = source.repo.rstrip("/") + "/index.yaml"
    with tempfile.TemporaryDirectory(prefix="kfdeploy-index-") as tmp:
        target = Path(tmp) / "index.yaml"
        download(index_url, target, f"{who}: chart repository", repos.report, hint)
        try:
            index = yaml.load(target.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        except (UnicodeDecodeError, yaml.YAMLError) as e:
            raise RenderError(f"{who}: {index_url} is not a chart repository index: {e}", hint=hint) from e
    entries = (index.get("entries") or {}).get(source.chart) if isinstance(index, dict) else None
    versions = [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    match = [e for e in versions if not source.version or str(e.get("version")) == source.version]
    urls = match[0].get("urls") if match else None
    if not isinstance(urls, list) or not urls or not isinstance(urls[0], str):
        offered = ", ".join(str(e.get("version")) for e in versions[:10]) or "none"
        raise RenderError(f"{who}: {index_url} has no chart {source.chart}"
                          + (f" at version {source.version}" if source.version else "")
                          + f" (versions offered: {offered})", hint="fix helm.chart or helm.version")
    return urljoin(str(source.repo).rstrip("/") + "/", urls[0])
