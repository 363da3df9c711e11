"""The command line: parse options, call one workflow function, print its result.

No logic lives here that a library user would need; see ``kfdeploy.workflow``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import click
import yaml

from kfdeploy import __version__
from kfdeploy.errors import EXIT_BAD_INPUT, KfdeployError, UsageError
from kfdeploy.options import (
    ApplyFlags,
    DeleteFlags,
    HasExitCode,
    HistoryFlags,
    Options,
    PlanFlags,
    Result,
    RollbackFlags,
    StreamResult,
)
from kfdeploy.scrub import scrub
from kfdeploy.templates.manifests import OPTION_NAMES

PLATFORMS = ["gke", "eks", "kind", "minikube", "kwok", "existing"]


def common(fn: Callable[..., Any]) -> Callable[..., Any]:
    """kubectl-style flags shared by every command that reads a spec."""
    decorators = [
        click.option("-f", "--file", "file", default="kfdef.yaml", show_default=True,
                     help="The KfDef spec to read; '-' reads it from stdin (its relative paths "
                          "then resolve against the current directory)."),
        click.option("--kubeconfig", default=None,
                     help="Use this kubeconfig instead of the platform's (skips creating the cluster)."),
        click.option("--context", default=None, help="Kubeconfig context to use (with --kubeconfig, or "
                     "instead of the platform's)."),
        click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text",
                     show_default=True, help="Output format."),
        click.option("-v", "--verbose", count=True, help="More detail; repeat for more."),
        click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation."),
    ]
    for d in reversed(decorators):
        fn = d(fn)
    return fn


def renders(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The render cache flag of the commands that render the spec."""
    return click.option("--no-cache", is_flag=True,
                        help="Render every application again, neither reading nor writing the render "
                             "cache (also: KFDEPLOY_NO_CACHE=1; docs/render.md).")(fn)


def make_options(kw: dict[str, Any]) -> Options:
    keys = ("file", "kubeconfig", "context", "output", "verbose", "yes", "dry_run", "no_cache")
    return Options(**{k: kw.pop(k) for k in keys if k in kw})


def emit(result: Result, output: str, clean: Callable[[str], str] = scrub) -> None:
    """Print a workflow result as text, JSON or YAML, every known secret value scrubbed."""
    if output == "json":
        text = json.dumps(result.to_data(), indent=2, sort_keys=False, default=str) + "\n"
    elif output == "yaml":
        text = result.yaml_text() if isinstance(result, StreamResult) else \
            yaml.safe_dump(result.to_data(), sort_keys=False)
    else:
        text = result.text()
        text = text if text.endswith("\n") else text + "\n"
    click.echo(clean(text), nl=False)


def ask(question: str, details: str = "") -> bool:
    """Show ``details`` and ask on the terminal; without one, refuse and point at --yes."""
    if details:
        click.echo(details, err=True)
    if not sys.stdin.isatty():
        raise UsageError(f"{question.rstrip('?')} needs confirmation: pass --yes (-y) to go ahead without a prompt")
    return click.confirm(question, default=False, err=True)


def run(fn: Callable[..., Result], opts: Options, *, reveal: bool = False, **kw: Any) -> None:
    """Call a workflow function; user errors print cleanly and set the exit code. Errors and
    results never show a secret value the run knows (``kfdeploy.scrub``), except a result a
    command exists to reveal (``reveal``: the dashboard login of ``credentials``)."""
    try:
        result = fn(opts, **kw)
    except KfdeployError as e:
        click.secho(f"error: {scrub(str(e))}", fg="red", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted; re-run the same command to converge", err=True)
        sys.exit(130)
    emit(result, opts.output, (lambda text: text) if reveal else scrub)
    if isinstance(result, HasExitCode) and result.exit_code:
        sys.exit(result.exit_code)


class Group(click.Group):
    """Usage errors (an unknown flag or command, a bad value) exit EXIT_BAD_INPUT like every
    other bad input, so that plan's exit code 2 can only mean "changes". With no arguments at
    all, the help is the answer: printed on stdout, exit 0."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and self.no_args_is_help:
            click.echo(ctx.get_help(), color=ctx.color)
            ctx.exit(0)
        return super().parse_args(ctx, args)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as e:
            e.exit_code = EXIT_BAD_INPUT  # type: ignore[misc]  # click declares it per class
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            e.exit_code = EXIT_BAD_INPUT  # type: ignore[misc]  # click declares it per class
            raise


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="kfdeploy")
@click.option("--offline", is_flag=True, envvar="KFDEPLOY_OFFLINE",
              help="Download nothing: repos and remote bases come from the cache (fill it with "
                   "`kfdeploy vendor --import`). Same as KFDEPLOY_OFFLINE=1.")
def cli(offline: bool) -> None:
    """kfdeploy: install and upgrade a Kubeflow platform from one declarative spec.

    \b
    Typical flow:
      kfdeploy init --platform kwok -o kfdef.yaml   # write a starter spec
      kfdeploy validate -f kfdef.yaml               # check it
      kfdeploy plan -f kfdef.yaml                   # what would change (exit 2 = changes)
      kfdeploy apply -f kfdef.yaml                  # create cluster, apply, wait healthy
      kfdeploy status -f kfdef.yaml                 # health per application

    Edit the spec and run `apply` again to upgrade: only what changed is applied and what
    was removed is pruned (PVCs and CRDs with data are kept).
    """
    if offline:
        os.environ["KFDEPLOY_OFFLINE"] = "1"  # read by the one downloader, render.fetch


@cli.command()
@click.option("--platform", "platform_kind", type=click.Choice(PLATFORMS), default="kwok",
              show_default=True, help="Where the platform runs.")
@click.option("--name", default="kubeflow", show_default=True, help="metadata.name (cluster name).")
@click.option("--project", help="GCP project (gke).")
@click.option("--location", help="GCP zone or region (gke).")
@click.option("--region", help="AWS region (eks).")
@click.option("--gpus", type=int, default=0, show_default=True,
              help="Add a GPU node pool with this many GPUs per node.")
@click.option("--context", "kube_context", help="Kubeconfig context (existing).")
@click.option("-o", "--output-file", "output_file", default="-", show_default=True,
              help="Where to write the spec ('-' = stdout).")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--manifests", metavar="URI",
              help="Install the official Kubeflow manifests from this release: a folder, a "
                   ".tar.gz/.zip, or an https:// archive URL (e.g. https://github.com/kubeflow/"
                   "manifests/archive/refs/tags/v1.10.2.tar.gz). Its example kustomization is "
                   "split into kustomize applications with dependencies.")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="With --manifests: check that the applications render exactly what "
                   "`kustomize build example` renders (builds the release twice).")
@click.option("--with", "with_options", multiple=True, type=click.Choice(OPTION_NAMES), metavar="NAME",
              help="With --manifests: add an optional piece the release ships (repeatable): "
                   + ", ".join(OPTION_NAMES) + ".")
def init(**kw: Any) -> None:
    """Write a commented, valid starter spec for a platform.

    \b
    With --manifests URI the spec installs an official Kubeflow manifests release instead of
    the built-in library:
      kfdeploy init --manifests https://github.com/kubeflow/manifests/archive/refs/tags/v1.10.2.tar.gz \\
          --platform kwok -o kfdef.yaml
    The platform picks upstream's overlays for it where the release has them (gke: Istio's
    gke overlay; kind: oauth2-proxy m2m-dex-and-kind; eks: m2m-dex-and-eks and its issuer);
    --with adds optional pieces (ambient, knative-eventing, pipelines-k8s-native,
    model-registry, ray); the spec lists those the release ships.
    """
    from kfdeploy.workflow import spec_verbs
    run(spec_verbs.init, Options(), **kw)


@cli.command()
@common
@click.option("--to", required=True, metavar="URI",
              help="The new manifests release: a folder, a .tar.gz/.zip, or an https:// archive URL.")
@click.option("--sha256", default=None, metavar="HEX", help="Pin the new archive's sha256.")
@click.option("--repo", default=None, metavar="NAME",
              help="The spec.repos entry to upgrade (default: the spec's only repo).")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Check that the new split renders exactly what the new release's example renders.")
def upgrade(**kw: Any) -> None:
    """Rewrite a manifests spec for a new release; show the diff, write it when asked.

    \b
    Splits the new release as `init --manifests` does (platform overlays and options kept),
    updates repos[].uri (and sha256), spec.version and each application's folders and
    dependsOn; keeps every patch, image, replica count, postRender, param, comment and
    application you added. What no longer applies is named with its fix and left out.
    Writes the file with --yes or after you confirm on a terminal; then plan and apply:
      kfdeploy upgrade -f kfdef.yaml --to https://github.com/kubeflow/manifests/archive/refs/tags/26.03.tar.gz
      kfdeploy plan -f kfdef.yaml && kfdeploy apply -f kfdef.yaml
    """
    from kfdeploy.workflow import upgrade_verbs
    run(upgrade_verbs.upgrade, make_options(kw), to=kw["to"], sha256=kw["sha256"], repo=kw["repo"],
        verify=kw["verify"], confirm=ask)


@cli.command()
@common
@click.option("--render", is_flag=True,
              help="Also render every application offline and report what build would reject "
                   "(an object two applications render, objects of the wrong shape, jsonnet errors).")
def validate(**kw: Any) -> None:
    """Check the spec: fields, types, applications and their params, dependsOn (unknown,
    disabled, cycles through components' defaults), all problems at once. Exit 3 on any."""
    from kfdeploy.workflow import spec_verbs
    opts = make_options(kw)
    run(spec_verbs.validate, opts, **kw)


@cli.command()
@click.option("-o", "--output-file", "output_file", default=None,
              help="Write the schema to this file instead of stdout.")
def schema(output_file: str | None) -> None:
    """Print the JSON Schema of KfDef (for editors and CI linters)."""
    from kfdeploy.workflow import spec_verbs
    run(spec_verbs.schema, Options(), output_file=output_file)


@cli.command()
@common
@renders
@click.option("-d", "--dir", "out_dir", default="build", show_default=True,
              help="Directory to write one YAML file per application into.")
def build(**kw: Any) -> None:
    """Render every application into plain YAML, one file per application, in apply order."""
    from kfdeploy.workflow import render_verbs
    run(render_verbs.build, make_options(kw), out_dir=kw["out_dir"])


@cli.command()
@common
@renders
@click.option("-a", "--application", "applications", multiple=True,
              help="Only this application (repeatable).")
def show(**kw: Any) -> None:
    """Print the rendered objects as one YAML (or JSON) stream."""
    from kfdeploy.workflow import render_verbs
    run(render_verbs.show, make_options(kw), applications=kw["applications"])


@cli.command()
@common
@renders
@click.option("--registry", metavar="HOST[/PATH]", default=None,
              help="Pair each image with its copy in this mirror, as `crane copy SRC DST` lines "
                   "(default: spec.imageRegistry, when set).")
def images(**kw: Any) -> None:
    """List every image the spec deploys (containers and images named in configuration),
    one line each with the applications using it; -v also names the objects and fields.

    \b
    Mirror for an air-gapped install:
      kfdeploy images -f kfdef.yaml --registry registry.corp.example/kubeflow | sh
    then set spec.imageRegistry: registry.corp.example/kubeflow and apply.
    """
    from kfdeploy.workflow import image_verbs
    run(image_verbs.list_images, make_options(kw), registry=kw["registry"])


@cli.command()
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text")
def components(output: str) -> None:
    """List the component library with each component's params."""
    from kfdeploy.workflow import render_verbs
    run(render_verbs.components, Options(output=output))  # type: ignore[arg-type]


@cli.command()
@common
@renders
@click.option("-a", "--application", "applications", multiple=True,
              help="Only this application (repeatable).")
def plan(**kw: Any) -> None:
    """Show what apply would change. Exit code: 0 no changes, 2 changes, 1 error, 3 bad input."""
    from kfdeploy.workflow import deploy_verbs
    opts = make_options(kw)
    run(deploy_verbs.plan, opts, flags=PlanFlags(**kw))


cli.add_command(plan, name="diff")


@cli.command()
@common
@renders
@click.option("--dry-run", is_flag=True, help="Plan only; change nothing.")
@click.option("--force-conflicts", is_flag=True,
              help="Take over fields owned by another field manager.")
@click.option("--recreate", is_flag=True,
              help="Delete and recreate objects whose changes touch immutable fields (plan marks them "
                   "'recreate'); never PVCs or CRDs.")
@click.option("--no-prune", is_flag=True, help="Do not delete objects removed from the spec.")
@click.option("--prune-pvcs", is_flag=True, help="Also prune PersistentVolumeClaims (deletes data).")
@click.option("--prune-crds", is_flag=True,
              help="Also prune CRDs that still have custom resources (deletes them).")
@click.option("--prune-namespaces", is_flag=True,
              help="Also prune namespaces that hold objects kfdeploy does not own (deletes them); "
                   "one holding PersistentVolumeClaims needs --prune-pvcs too.")
@click.option("--timeout", default=600, show_default=True, type=int,
              help="Seconds each application may take to become healthy.")
@click.option("--skip-cluster", is_flag=True, help="Do not create or check the cluster first.")
@click.option("--skip-preflight", is_flag=True,
              help="Do not run the pre-flight checks (`kfdeploy preflight`) before changing anything.")
@click.option("--revision-history-limit", type=click.IntRange(1, 100), default=None,
              help="Revisions to keep in the cluster (default: spec.revisionHistoryLimit, 10).")
def apply(**kw: Any) -> None:
    """Create the cluster if needed, apply every application in order and wait until healthy."""
    from kfdeploy.workflow import deploy_verbs
    opts = make_options(kw)
    run(deploy_verbs.apply, opts, flags=ApplyFlags(**kw), confirm=ask)


@cli.command()
@common
@renders
@click.option("--force-conflicts", is_flag=True,
              help="Report CRDs owned by another tool as taken over (WARN) instead of FAIL.")
def preflight(**kw: Any) -> None:
    """Check, changing nothing, what would make apply fail halfway. Exit code 1 on any FAIL.

    \b
    cluster    reachable; its version within each component's kubeVersion
    capacity   every workload's replicas fit an eligible node (nodeSelector, required
               affinity, taints); totals of cpu, memory, GPUs against what is free
    storage    a default StorageClass for claims without one; named classes exist
    crds       CRDs the spec renders that a Helm release, another KfDef or another
               field manager owns
    webhooks   others' admission webhooks with failurePolicy Fail and no ready backend
               that intercept what the spec applies
    cloud      (gke, eks) machine/instance and GPU types and the Kubernetes version are
               offered in the location and zones
    apply runs the same checks before its first change (--skip-preflight to bypass).
    """
    from kfdeploy.workflow import preflight_verbs
    run(preflight_verbs.preflight, make_options(kw), force_conflicts=kw["force_conflicts"])


@cli.command()
@common
@click.option("--revision", type=int, default=None, metavar="N",
              help="Print revision N's spec (YAML), e.g. to write it back: > kfdef.yaml")
@click.option("--lock", is_flag=True,
              help="With --revision N: print its recorded lock instead (the source digests it rendered"
                   " from), e.g. > kfdef.lock beside the written-back spec.")
def history(**kw: Any) -> None:
    """List the revisions kept in the cluster: when, who, outcome and what changed.

    \b
    Every apply that changes the cluster records a revision (its spec with secret
    references only, the lock, kfdeploy's version, a render digest per application);
    outcomes: healthy, failed, interrupted (the apply never finished).
      kfdeploy history -f kfdef.yaml
      kfdeploy history -f kfdef.yaml --revision 3 > kfdef.yaml   # bring the file back to 3
      kfdeploy history -f kfdef.yaml --revision 3 --lock > kfdef.lock   # and its lock
    """
    from kfdeploy.workflow import revision_verbs
    opts = make_options(kw)
    run(revision_verbs.history, opts, flags=HistoryFlags(**kw))


@cli.command()
@common
@click.option("--to", type=int, default=None, metavar="N",
              help="The revision to return to (default: the last healthy one before the live one).")
@click.option("--dry-run", is_flag=True, help="Plan only; change nothing.")
@click.option("--force-conflicts", is_flag=True, help="Take over fields owned by another field manager.")
@click.option("--recreate", is_flag=True,
              help="Delete and recreate objects whose changes touch immutable fields; never PVCs or CRDs.")
@click.option("--timeout", default=600, show_default=True, type=int,
              help="Seconds each application may take to become healthy.")
@click.option("--skip-preflight", is_flag=True, help="Do not run the pre-flight checks first.")
@click.option("--revision-history-limit", type=click.IntRange(1, 100), default=None,
              help="Revisions to keep in the cluster (default: spec.revisionHistoryLimit, 10).")
def rollback(**kw: Any) -> None:
    """Re-apply a recorded revision: its spec and lock, rendered again, through the same plan,
    pre-flight checks, confirmation and prune protections as apply (PVCs and CRDs with data
    are kept). The rollback is itself a revision.

    \b
    It changes the cluster, never the spec file; the next apply of the file upgrades again.
    Generated credentials are kept. It warns when it crosses a release of a component that
    migrates its database (Pipelines, Katib, Model Registry): a rollback cannot undo a
    schema migration or data written since.
      kfdeploy rollback -f kfdef.yaml            # to the last healthy revision before the live one
      kfdeploy rollback -f kfdef.yaml --to 3 --yes
    """
    from kfdeploy.workflow import revision_verbs
    opts = make_options(kw)
    run(revision_verbs.rollback, opts, flags=RollbackFlags(**kw), confirm=ask)


@cli.command()
@common
@renders
def status(**kw: Any) -> None:
    """Health of each application (Healthy, Progressing, Degraded or Missing), and the live revision."""
    from kfdeploy.workflow import deploy_verbs
    run(deploy_verbs.status, make_options(kw))


@cli.command()
@common
@renders
@click.option("--cluster", "delete_cluster", is_flag=True, help="Also delete the cluster.")
@click.option("--keep-pvcs/--delete-pvcs", default=True, show_default=True,
              help="Keep PersistentVolumeClaims (data).")
@click.option("--delete-crds", is_flag=True,
              help="Also delete CRDs that still have custom resources (deletes those too).")
@click.option("--delete-namespaces", is_flag=True,
              help="Also delete namespaces that hold objects kfdeploy does not own (deletes those too); "
                   "one holding PersistentVolumeClaims needs --delete-pvcs too.")
def delete(**kw: Any) -> None:
    """Remove everything kfdeploy owns, in reverse order; with --cluster, the cluster too."""
    from kfdeploy.workflow import deploy_verbs
    opts = make_options(kw)
    run(deploy_verbs.delete, opts, flags=DeleteFlags(**kw), confirm=ask)


@cli.group(cls=Group)
def cluster() -> None:
    """Create, delete or get the kubeconfig of the spec's cluster."""


@cluster.command("create")
@common
def cluster_create(**kw: Any) -> None:
    """Create (or reuse) the cluster described by spec.platform."""
    from kfdeploy.workflow import cluster_verbs
    run(cluster_verbs.create, make_options(kw))


@cluster.command("delete")
@common
def cluster_delete(**kw: Any) -> None:
    """Delete the cluster described by spec.platform."""
    from kfdeploy.workflow import cluster_verbs
    run(cluster_verbs.delete, make_options(kw))


@cluster.command("kubeconfig")
@common
def cluster_kubeconfig(**kw: Any) -> None:
    """Print a kubeconfig for the spec's cluster."""
    from kfdeploy.workflow import cluster_verbs
    run(cluster_verbs.kubeconfig, make_options(kw))


@cli.command()
@click.option("-f", "--file", "file", default="kfdef.yaml", show_default=True,
              help="The KfDef spec to edit and deploy.")
@click.option("--kubeconfig", default=None,
              help="Use this kubeconfig instead of the platform's (skips creating the cluster).")
@click.option("--context", default=None, help="Kubeconfig context to use.")
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="Port on 127.0.0.1 (default: a free one).")
@click.option("--no-browser", is_flag=True, help="Print the URL; do not open a browser.")
def ui(port: int, no_browser: bool, **kw: Any) -> None:
    """A local web page to edit, plan, apply, watch, log in to and delete the spec's platform.

    \b
      kfdeploy ui -f kfdef.yaml          # opens http://127.0.0.1:PORT/?token=...
      kfdeploy ui --no-browser --port 8765

    \b
    The page runs the same steps as the CLI: the spec as a form and as YAML, checked live
    with `validate`'s messages and saved to the file; `preflight` and `plan` per application
    with the dependency graph; `apply` and `delete` with their progress streamed live; `status`
    and, on request only, the login of `credentials`. It listens on 127.0.0.1 only; the random
    token in the printed URL is the only way in. Ctrl-C stops it.
    Needs the ui extra: pip install 'kfdeploy[ui]'.
    """
    try:
        from kfdeploy.ui import serve
    except ImportError as e:
        click.secho(f"error: kfdeploy ui needs its extra ({e.name} is missing): pip install 'kfdeploy[ui]'",
                    fg="red", err=True)
        sys.exit(EXIT_BAD_INPUT)
    opts = make_options(kw)
    try:
        serve(opts, port, open_browser=not no_browser, echo=click.echo)
    except KfdeployError as e:
        click.secho(f"error: {e}", fg="red", err=True)
        sys.exit(e.exit_code)


@cli.group("credentials", invoke_without_command=True)
@common
@click.pass_context
def credentials_cmd(ctx: click.Context, /, **kw: Any) -> None:
    """Print the dashboard login (url, user, password), read from the cluster.

    \b
    kfdeploy generates the password on the first apply and keeps it; apply never prints it.
    For an official release it is the dex user's (user@example.com), generated in place of the
    password the release publishes.
      kfdeploy credentials -f kfdef.yaml -o json   # {"url": ..., "user": ..., "password": ...}
      kfdeploy credentials seed -f kfdef.yaml      # before a GitOps engine's first sync
    """
    if ctx.invoked_subcommand is None:
        from kfdeploy.workflow import credentials_verbs
        run(credentials_verbs.credentials, make_options(kw), reveal=True)


@credentials_cmd.command("seed")
@common
def credentials_seed(**kw: Any) -> None:
    """Seed the Secrets that hold credentials into the cluster, for Flux or Argo CD.

    \b
    `kfdeploy export` keeps every Secret that holds a credential out of Git. This command
    reads the spec's credentials from the cluster (generating and storing them on the first
    run, as apply does) and applies only those Secrets; the engine never overwrites or
    prunes them. Run it before the engine's first sync and after adding an application.
    """
    from kfdeploy.workflow import export_verbs
    run(export_verbs.seed, make_options(kw))


@cli.command("export")
@click.option("-f", "--file", "files", multiple=True, default=("kfdef.yaml",), show_default=True,
              help="A KfDef spec; repeat for a fleet: each spec is one cluster, clusters/<metadata.name>/.")
@click.option("--format", "fmt", type=click.Choice(["flux", "argocd"]), required=True,
              help="The GitOps engine to write for.")
@click.option("-d", "--dir", "out_dir", default="gitops", show_default=True,
              help="The repository (or folder in it) to write into.")
@click.option("--repo-url", default="https://git.example.com/platform.git", show_default=True,
              help="The Git repository the engine reads (GitRepository url / Application repoURL).")
@click.option("--branch", default="main", show_default=True, help="The branch the engine follows.")
@click.option("--timeout", default=600, show_default=True, type=int,
              help="Seconds each application may take to become healthy (Flux timeout).")
@click.option("--sops-age-recipient", multiple=True, metavar="AGE1...",
              help="Flux: write the Secrets that hold credentials into the tree, SOPS-encrypted for this age "
                   "recipient (repeat for several), with the values the spec's cluster holds; needs sops.")
@click.option("--sops-rotate", is_flag=True,
              help="Encrypt every SOPS Secret again (new data keys), even where nothing changed.")
@click.option("--kubeconfig", default=None,
              help="With --sops-age-recipient: read the credentials from this kubeconfig's cluster "
                   "instead of the platform's.")
@click.option("--context", default=None, help="With --sops-age-recipient: the kubeconfig context to use.")
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text", show_default=True,
              help="Output format.")
def export_cmd(files: tuple[str, ...], fmt: str, output: str, kubeconfig: str | None, context: str | None,
               **kw: Any) -> None:
    """Write a Git-ready tree for Flux or Argo CD from the same render as apply.

    \b
    Flux: one Kustomization per application (dependsOn from the application graph, wait,
    prune with PVCs, CRDs and Namespaces protected). Argo CD: an app-of-apps whose
    Applications carry sync waves, server-side apply, prune protections and ignoreDifferences.
    No credential is ever written in plain text. Either seed the Secrets that hold them
    (`kfdeploy credentials seed -f SPEC`, the default), or, for Flux, put them in the tree
    SOPS-encrypted with --sops-age-recipient: export then reads the values from the spec's
    cluster (generating and storing them on the first run, never rotating them) and runs
    `sops`; Flux decrypts with the age key of the Secret sops-age in flux-system.
    Re-exporting an unchanged spec changes no byte. See docs/gitops.md.
      kfdeploy export -f kfdef.yaml --format flux -d ../platform-repo
      kfdeploy export -f dev.yaml -f prod.yaml --format argocd -d ../platform-repo
      kfdeploy export -f kfdef.yaml --format flux -d ../platform-repo --sops-age-recipient age1...
    """
    from kfdeploy.workflow import export_verbs
    opts = Options(output=output, kubeconfig=kubeconfig, context=context)  # type: ignore[arg-type]
    run(export_verbs.export, opts, files=files, fmt=fmt, **kw)


@cli.group("library", cls=Group)
def library_group() -> None:
    """Inspect the built-in component library."""


@library_group.command("compare")
@common
@click.option("--against", required=True, metavar="PATH",
              help="An upstream build: `kubectl kustomize <manifests>/example` output, or a directory of YAML.")
def library_compare(**kw: Any) -> None:
    """Compare the spec's library components with an upstream release, per component.

    \b
    Reports upstream objects the library lacks (missing), library objects upstream has not
    (extra), images that differ, and CRDs whose schema is open where upstream's is typed.
    Upstream objects are matched by identity, then by the rules in kfdeploy/fidelity.py.
      kubectl kustomize manifests-1.10.2/example > upstream.yaml
      kfdeploy library compare --against upstream.yaml [-o json]
    """
    from kfdeploy.workflow import library_verbs
    run(library_verbs.compare, make_options(kw), against=kw["against"])


@cli.command()
@click.option("-f", "--file", "file", default="kfdef.yaml", show_default=True, help="The KfDef spec to read.")
@click.option("-o", "--output-file", "output_file", metavar="FILE.tar.gz", default=None,
              help="Write the bundle here.")
@click.option("--import", "import_file", metavar="FILE.tar.gz", default=None,
              help="Fill this machine's cache and tools dir from a bundle (verified against the spec's lock).")
@click.option("--kustomize", "kustomize", metavar="VERSION", multiple=True,
              help="Also carry this kustomize version (e.g. v5.7.1), built first if missing. Repeatable.")
def vendor(**kw: Any) -> None:
    """Pack everything the spec's renders download (repos, remote bases, charts, as pinned in the
    lock) and the kustomize binary each release renders with into one file, or import such a
    file on a machine without network.

    \b
    The bundle carries the kustomize version each kustomize application's release pins
    (`kfdeploy build -v` says which), for this machine's os/arch; a version not built yet is built
    here first (needs Go and the Go module proxy), or the error gives the `go install` command.
    --import verifies every file's sha256, refuses binaries for another os/arch, and installs
    them into the tools dir where renders look for them.
      kfdeploy vendor -f kfdef.yaml -o kubeflow-bundle.tar.gz        # connected machine
      kfdeploy vendor -f kfdef.yaml --import kubeflow-bundle.tar.gz  # air-gapped machine
      kfdeploy --offline apply -f kfdef.yaml
    """
    from kfdeploy.workflow import vendor_verbs
    run(vendor_verbs.vendor, make_options(kw), output_file=kw["output_file"], import_file=kw["import_file"],
        kustomize=kw["kustomize"])


@cli.group("cache", cls=Group)
def cache_group() -> None:
    """Show and prune the download and render caches.

    \b
    kfdeploy keeps what it downloads (repos, remote bases, charts: ~/.cache/kfdeploy/repos,
    or $KFDEPLOY_REPO_CACHE) and what it renders (~/.cache/kfdeploy/render, or
    $KFDEPLOY_RENDER_CACHE); both grow with every release. Every use of an entry records it, so
    prune removes what no run has used for a while. Give your specs with -f: what their lock
    files pin is never removed (an air-gapped machine cannot download it again).
      kfdeploy cache list -f kfdef.yaml
      kfdeploy cache prune --older-than 30d -f kfdef.yaml --dry-run
    """


def cache_specs(fn: Callable[..., Any]) -> Callable[..., Any]:
    """-f (repeatable, none by default) and -o, shared by the cache commands."""
    fn = click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text",
                      show_default=True, help="Output format.")(fn)
    return click.option("-f", "--file", "files", multiple=True, metavar="SPEC",
                        help="A KfDef spec whose lock's pins are marked (list) or kept (prune); repeatable.")(fn)


@cache_group.command("list")
@cache_specs
def cache_list(files: tuple[str, ...], output: str) -> None:
    """Each cache's path, entries and bytes; the downloads each spec's lock pins are marked.

    \b
    Text lists every download (digest, size, last use, URL); the render cache, one entry per
    application render, is summed up (every entry: -o json).
      kfdeploy cache list -f kfdef.yaml -o json
    """
    from kfdeploy.workflow import cache_verbs
    run(cache_verbs.cache_list, Options(output=output), files=files)  # type: ignore[arg-type]


@cache_group.command("prune")
@cache_specs
@click.option("--older-than", "older_than", default="30d", show_default=True, metavar="DURATION",
              help="Remove entries no run used for this long: a number and a unit, s m h d or w (12h, 1w2d, 0s).")
@click.option("--dry-run", "dry_run", is_flag=True, help="Say what would be removed; remove nothing.")
def cache_prune(files: tuple[str, ...], output: str, older_than: str, dry_run: bool) -> None:
    """Remove cache entries not used for a while; never what a given spec's lock pins.

    \b
    Safe while other kfdeploy runs work: files being written (temporary names) are left alone
    until their writer is gone and they sat unchanged for a day, and an entry is moved away
    before it is deleted. Symlinks are never followed. A removed entry costs a download or a
    render when next needed; without -f, downloads an offline machine still needs may go.
      kfdeploy cache prune --dry-run                      # what 30 days unused would free
      kfdeploy cache prune --older-than 7d -f prod.yaml -f dev.yaml
    """
    from kfdeploy.workflow import cache_verbs
    run(cache_verbs.cache_prune, Options(output=output),  # type: ignore[arg-type]
        files=files, older_than=older_than, dry_run=dry_run)


@cli.command()
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text")
def version(output: str) -> None:
    """Print kfdeploy's version and the tool versions it builds."""
    from kfdeploy.workflow import spec_verbs
    run(spec_verbs.version, Options(output=output))  # type: ignore[arg-type]


def main() -> None:
    from kfdeploy.render.fetch import install_interrupt

    install_interrupt()  # Ctrl-C also ends downloads running in render's worker threads
    cli(prog_name="kfdeploy")
