"""``kfdeploy ui``: a local web page over the same workflow functions as the command line.

Every request carries the access token (the URL's ``?token=``, then an HttpOnly SameSite=Strict
cookie, or the ``X-Kfdeploy-Token`` header); a state-changing request (POST) needs the header and a
same-origin ``Origin`` (or ``Referer``), so another site cannot make the browser send one. Pages
and streams carry what the CLI prints, which never holds a secret value; only ``/api/credentials``
(the page's "Reveal login") returns the password, on request.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from kfdeploy.errors import KfdeployError, UsageError
from kfdeploy.options import ApplyFlags, DeleteFlags, Options
from kfdeploy.scrub import scrub

STATIC = Path(__file__).parent / "static"
COOKIE = "kfdeploy_ui"
HEADER = "x-kfdeploy-token"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",  # the token in the URL never leaves for another site
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


@dataclass
class Job:
    """One apply or delete running in a thread: the progress lines as events, then its result."""

    verb: str
    events: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False


@dataclass
class Ui:
    opts: Options
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    job: Job | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, verb: str, work: Callable[[], Any]) -> Job:
        """Run ``work`` in a thread with its progress lines collected as events; one job at a time."""
        from kfdeploy.workflow.session import OBSERVER
        with self.lock:
            if self.job is not None and not self.job.done:
                raise UsageError(f"a {self.job.verb} is running; wait for it to finish")
            job = self.job = Job(verb)

        def observe(kind: str, text: str, app: str, state: str) -> None:
            job.events.append({"kind": kind, "text": text, "app": app, "state": state})

        def run() -> None:
            OBSERVER.set(observe)
            try:
                result = work()
                job.events.append(json.loads(scrub(json.dumps(
                    {"kind": "done", "verb": verb, "text": result.text(), "result": result.to_data(),
                     "ok": getattr(result, "exit_code", 0) == 0}, default=str))))
            except KfdeployError as e:
                job.events.append({"kind": "done", "verb": verb, "text": scrub(f"error: {e}"), "ok": False})
            except Exception as e:  # noqa: BLE001 - the page must learn that the job ended
                job.events.append({"kind": "done", "verb": verb, "ok": False,
                                   "text": scrub(f"error: {type(e).__name__}: {e}")})
            finally:
                job.done = True

        threading.Thread(target=run, name=f"kfdeploy-ui-{verb}", daemon=True).start()
        return job


class Guard:
    """The token on every request; the header and a same-origin Origin/Referer on every POST."""

    def __init__(self, app: ASGIApp, ui: Ui) -> None:
        self.app, self.ui = app, ui

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        status, refusal = self.refusal(request)
        if refusal:
            await JSONResponse({"error": refusal}, status_code=status, headers=SECURITY_HEADERS)(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                if request.query_params.get("token"):  # the page's later requests carry the cookie
                    message["headers"].append((b"set-cookie", f"{COOKIE}={self.ui.token}; HttpOnly; "
                                               "SameSite=Strict; Path=/".encode()))
            await send(message)

        await self.app(scope, receive, with_headers)

    def refusal(self, request: Request) -> tuple[int, str]:
        """(401 or 403, why) when the request is refused, else (200, '')."""
        token = self.ui.token
        header = request.headers.get(HEADER, "")
        given = request.query_params.get("token") or request.cookies.get(COOKIE) or header
        if not secrets.compare_digest(given.encode(), token.encode()):
            return 401, "missing or wrong access token: open the URL that kfdeploy ui printed"
        if request.method in ("GET", "HEAD"):
            return 200, ""
        if not secrets.compare_digest(header.encode(), token.encode()):
            return 403, f"a {request.method} needs the {HEADER} header (the page sends it)"
        origin = request.headers.get("origin") or request.headers.get("referer") or ""
        parts = urlsplit(origin)
        if f"{parts.scheme}://{parts.netloc}" != f"{request.url.scheme}://{request.url.netloc}":
            return 403, f"cross-site request refused (Origin {origin or 'missing'})"
        return 200, ""


def create_app(opts: Options) -> tuple[Starlette, Ui]:
    """The web app over ``opts.file`` (with ``opts``' kubeconfig and context), and its state."""
    from kfdeploy.workflow import credentials_verbs, deploy_verbs, preflight_verbs, render_verbs, spec_verbs
    from kfdeploy.workflow.session import load_spec

    ui = Ui(replace(opts, output="text", yes=True))
    run_opts = ui.opts

    async def call(fn: Callable[[], Any], reveal: bool = False) -> Response:
        """``fn``'s data as JSON, every known secret value scrubbed as the CLI does; not for the
        login's reveal, nor for the spec's own text, which the editor must save back unchanged.
        A user error as ``{"error": ...}``."""
        try:
            data = await run_in_threadpool(fn)
            text = json.dumps(data, default=str)
            return Response(text if reveal else scrub(text), media_type="application/json")
        except KfdeployError as e:
            return JSONResponse({"error": scrub(str(e))}, status_code=400 if isinstance(e, UsageError) else 409)

    async def index(request: Request) -> Response:
        page = (STATIC / "index.html").read_text(encoding="utf-8")
        return HTMLResponse(page.replace("{{file}}", _escape(run_opts.file)))

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        path = STATIC / name
        if name not in {"ui.js", "ui.css"} or not path.is_file():
            return JSONResponse({"error": f"no such file: {name}"}, status_code=404)
        return FileResponse(path)

    async def spec_text(request: Request) -> Response:
        def read() -> dict[str, Any]:
            path = Path(run_opts.file)
            return {"file": run_opts.file, "text": path.read_text(encoding="utf-8") if path.is_file() else ""}
        return await call(read, reveal=True)

    async def catalog(request: Request) -> Response:
        def read() -> dict[str, Any]:
            from kfdeploy.spec.schema import schema_text
            schema = json.loads(schema_text())
            return {"components": render_verbs.components(run_opts).to_data(),
                    "platforms": _enum_at(schema, "Platform", "kind")}
        return await call(read)

    async def validate(request: Request) -> Response:
        text = str((await request.json()).get("text", ""))
        return await call(lambda: {**spec_verbs.validate_text(run_opts.file, text).to_data(),
                                   "form": form_of(text)}, reveal=True)

    async def form(request: Request) -> Response:
        body = await request.json()
        return await call(lambda: {"text": apply_form(str(body.get("text", "")), body.get("form") or {})},
                          reveal=True)

    async def save(request: Request) -> Response:
        text = str((await request.json()).get("text", ""))

        def write() -> dict[str, Any]:
            checked = spec_verbs.validate_text(run_opts.file, text).to_data()
            if checked["valid"]:
                Path(run_opts.file).write_text(text, encoding="utf-8")
            return {**checked, "saved": checked["valid"]}
        return await call(write, reveal=True)

    async def plan(request: Request) -> Response:
        def both() -> dict[str, Any]:
            findings = preflight_verbs.preflight(run_opts).to_data()
            result = deploy_verbs.plan(run_opts)
            return {"preflight": findings, "plan": result.to_data(), "text": result.text(),
                    "graph": _graph(load_spec(run_opts.file))}
        return await call(both)

    async def graph(request: Request) -> Response:
        return await call(lambda: _graph(load_spec(run_opts.file)))

    async def status(request: Request) -> Response:
        return await call(lambda: deploy_verbs.status(run_opts).to_data())

    async def reveal(request: Request) -> Response:
        return await call(lambda: credentials_verbs.credentials(run_opts).to_data(), reveal=True)

    async def apply(request: Request) -> Response:
        return await call(lambda: {"started": ui.start("apply", lambda: deploy_verbs.apply(
            run_opts, ApplyFlags(), confirm=lambda question, details: True)).verb})

    async def delete(request: Request) -> Response:
        body = await request.json()

        def start() -> dict[str, Any]:
            name = load_spec(run_opts.file).metadata.name
            if body.get("confirm") != name:
                raise UsageError(f"type the KfDef name {name!r} to confirm the delete; nothing was changed")
            flags = DeleteFlags(delete_cluster=bool(body.get("cluster")), keep_pvcs=not body.get("deletePvcs"),
                                delete_crds=bool(body.get("deleteCrds")),
                                delete_namespaces=bool(body.get("deleteNamespaces")))
            return {"started": ui.start("delete", lambda: deploy_verbs.delete(
                run_opts, flags, confirm=lambda question, details: True)).verb}
        return await call(start)

    async def events(request: Request) -> Response:
        since = int(request.query_params.get("since", "0") or 0)

        async def stream() -> AsyncIterator[str]:
            job, sent = ui.job, since
            while job is not None:
                while sent < len(job.events):
                    yield f"id: {sent + 1}\ndata: {json.dumps(job.events[sent])}\n\n"
                    sent += 1
                if job.done and sent >= len(job.events) or await request.is_disconnected():
                    break
                await asyncio.sleep(0.2)
            yield "event: end\ndata: {}\n\n"
        return StreamingResponse(stream(), media_type="text/event-stream")

    routes = [
        Route("/", index), Route("/static/{name}", static),
        Route("/api/spec", spec_text), Route("/api/catalog", catalog), Route("/api/graph", graph),
        Route("/api/status", status), Route("/api/events", events),
        Route("/api/validate", validate, methods=["POST"]), Route("/api/form", form, methods=["POST"]),
        Route("/api/save", save, methods=["POST"]),
        Route("/api/plan", plan, methods=["POST"]), Route("/api/apply", apply, methods=["POST"]),
        Route("/api/delete", delete, methods=["POST"]), Route("/api/credentials", reveal, methods=["POST"]),
    ]
    return Starlette(routes=routes, middleware=[Middleware(Guard, ui=ui)]), ui


def form_of(text: str) -> dict[str, Any] | None:
    """The form's fields as the YAML holds them (None when it is not a mapping yet)."""
    import yaml
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict):
        return None
    meta, spec = data.get("metadata") or {}, data.get("spec") or {}
    apps = [a for a in spec.get("applications") or [] if isinstance(a, dict)]
    return {"name": meta.get("name", "") if isinstance(meta, dict) else "",
            "platform": ((spec.get("platform") or {}).get("kind", "")) if isinstance(spec, dict) else "",
            "applications": [{"name": a.get("name"), "enabled": a.get("enabled", True),
                              "params": a.get("params") or {}} for a in apps]}


def apply_form(text: str, form: dict[str, Any]) -> str:
    """The YAML with the form's fields written in: metadata.name, spec.platform.kind, and per
    library application its entry (enabled or ``enabled: false``) and params. Everything else in
    the spec stays; YAML comments do not survive a form edit (the editor keeps them)."""
    import yaml
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise UsageError(f"the YAML does not parse, so the form cannot change it: {e}") from e
    data = data if isinstance(data, dict) else {}
    data.setdefault("metadata", {})["name"] = form.get("name", "")
    spec = data.setdefault("spec", {})
    spec.setdefault("platform", {})["kind"] = form.get("platform", "")
    apps = spec.setdefault("applications", [])
    for entry in form.get("applications", []):
        found = next((a for a in apps if isinstance(a, dict) and a.get("name") == entry["name"]), None)
        if found is None and not entry.get("enabled"):
            continue
        if found is None:
            found = {"name": entry["name"]}
            apps.append(found)
        if entry.get("enabled"):
            found.pop("enabled", None)
        else:
            found["enabled"] = False
        known = set(entry.get("known", []))  # the form's params; others in the YAML stay
        params = {k: v for k, v in (found.get("params") or {}).items() if k not in known}
        params.update(entry.get("params") or {})
        if params:
            found["params"] = params
        else:
            found.pop("params", None)
    return str(yaml.safe_dump(data, sort_keys=False, width=1 << 16))


def _escape(text: str) -> str:
    import html
    return html.escape(text, quote=True)


def _enum_at(schema: dict[str, Any], definition: str, prop: str) -> list[str]:
    """The allowed values of ``definition.prop`` in the KfDef JSON Schema ([] when not an enum)."""
    node = schema.get("$defs", {}).get(definition, {}).get("properties", {}).get(prop, {})
    return list(node.get("enum", []))


def _graph(spec: Any) -> dict[str, Any]:
    """The enabled applications and their dependsOn edges, in apply order."""
    from kfdeploy.graph import stable_order
    from kfdeploy.library import Library
    from kfdeploy.render.params import plan_applications
    plans, _ = plan_applications(spec, Library.load())
    edges = {p.name: [d for d in p.depends_on] for p in plans}
    try:
        order = stable_order(edges)
    except ValueError:
        order = list(edges)
    return {"nodes": order, "edges": [[a, d] for a in order for d in edges[a] if d in edges]}


def serve(opts: Options, port: int, open_browser: bool, echo: Callable[[str], None]) -> None:
    """Serve on 127.0.0.1:``port`` (0 picks a free one) until interrupted."""
    import socket

    import uvicorn
    app, ui = create_app(opts)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as e:
        raise UsageError(f"--port {port}: cannot listen on 127.0.0.1:{port} ({e.strerror})",
                         hint="choose another port, or --port 0 for a free one") from e
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/?token={ui.token}"
    echo(f"kfdeploy ui for {opts.file}: {url}\n(Ctrl-C stops it; the token in the URL is the only way in)")
    if open_browser:
        import webbrowser
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
