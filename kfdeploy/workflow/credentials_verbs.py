"""``kfdeploy credentials``: the dashboard login, read from the cluster on demand.

The application that declares ``login:`` in its component.yaml (the library's auth) names the
params of the user, the password and its hash, and the ingress Service; the password is the
value stored by apply (or the one the spec supplies). An official release's login is its dex
user, with the password kfdeploy generated in place of the published one
(``render.published.LOGIN``). Apply only ever says that this command exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kfdeploy.credentials import hash_matches, store_key
from kfdeploy.errors import KfdeployError
from kfdeploy.kube import credential_store
from kfdeploy.kube.client import Cluster
from kfdeploy.library import Library
from kfdeploy.options import Options
from kfdeploy.render.params import AppPlan, plan_applications, resolve_secrets
from kfdeploy.render.published import LOGIN, RELEASE
from kfdeploy.spec import KfDef
from kfdeploy.workflow.session import connect, load_spec, printer


@dataclass(frozen=True)
class Login:
    url: str
    user: str
    password: str | None
    note: str = ""

    def to_data(self) -> dict[str, Any]:
        return {"url": self.url, "user": self.user, "password": self.password}

    def text(self) -> str:
        lines = [f"url:      {self.url}", f"user:     {self.user}",
                 f"password: {self.password if self.password is not None else '(not known to kfdeploy)'}"]
        return "\n".join(lines + ([self.note] if self.note else []))


def login_plan(spec: KfDef, library: Library) -> AppPlan | None:
    """The application that declares the dashboard login, if one does."""
    plans, problems = plan_applications(spec, library)
    if problems:
        raise KfdeployError(f"{spec.source}: {problems[0]}", hint="kfdeploy validate lists every problem")
    return next((p for p in plans if p.component is not None and p.component.login), None)


def credentials(opts: Options) -> Login:
    spec = load_spec(opts.file)
    plan = login_plan(spec, Library.load())
    release = spec.spec.repos and any(a.kustomize is not None for a in spec.spec.applications)
    if plan is None and not release:
        raise KfdeployError(f"{spec.source}: no application declares a dashboard login",
                            hint="the library's auth application does: add {name: auth} to spec.applications")
    cluster = connect(opts, spec, printer(opts), create=False)
    stored = credential_store.read(cluster, spec.metadata.name)
    if plan is None:
        return release_login(cluster, spec, stored, opts.file)
    assert plan.component is not None
    login = plan.component.login
    params = resolve_secrets({k: plan.params.get(v) for k, v in login.items() if v in plan.params}, spec)
    password = params.get("password") or stored.get(store_key(plan.name, login["password"]))
    hashed = params.get("passwordHash") or stored.get(store_key(plan.name, login.get("passwordHash", "")))
    if password is None and hashed is None:
        raise KfdeployError(f"no credentials of '{spec.metadata.name}' in the cluster yet",
                            hint=f"run kfdeploy apply -f {opts.file} first")
    note = ""
    if password is not None and hashed is not None and not hash_matches(str(password), str(hashed)):
        password, note = None, "The password hash comes from the spec; the password is the one you hashed."
    url, how = dashboard_url(cluster, login["service"].format_map(plan.params), bool(plan.params.get("tls")))
    return Login(url, str(params.get("user", "")), None if password is None else str(password),
                 "\n".join(filter(None, [note, how])))


def release_login(cluster: Cluster, spec: KfDef, stored: dict[str, str], file: str) -> Login:
    """An official release's dex user, with the password generated in place of the published one."""
    password = stored.get(store_key(RELEASE, LOGIN["password"]))
    if password is None:
        raise KfdeployError(f"no generated login of '{spec.metadata.name}' in the cluster",
                            hint=f"run kfdeploy apply -f {file} first; a release whose dex Secret kfdeploy"
                                 " does not recognise keeps its own password (kfdeploy preflight names it)")
    url, how = dashboard_url(cluster, LOGIN["service"])
    return Login(url, LOGIN["user"], password, how)


def dashboard_url(cluster: Cluster, service_ref: str, tls: bool = False) -> tuple[str, str]:
    """(url, how to reach it): a load balancer's address, a node port, else a port-forward;
    https when the gateway serves TLS (the application's ``tls`` param)."""
    namespace, _, name = service_ref.partition("/")
    svc = cluster.get({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace}})
    if svc is None:
        raise KfdeployError(f"Service {service_ref} (the ingress gateway) does not exist",
                            hint="run kfdeploy apply first; kfdeploy status shows what is missing")
    ports = svc.get("spec", {}).get("ports") or []
    wanted = 443 if tls else 80
    port = next((p for p in ports if p.get("port") == wanted), ports[0] if ports else {"port": wanted})
    scheme = "https" if tls else "http"
    ingress = (svc.get("status", {}).get("loadBalancer") or {}).get("ingress") or []
    if ingress:
        host = ingress[0].get("hostname") or ingress[0].get("ip")
        return f"{scheme}://{host}{'' if port.get('port') in (80, 443) else ':' + str(port['port'])}/", ""
    if svc["spec"].get("type") == "NodePort" and port.get("nodePort"):
        address = node_address(cluster)
        if address:
            return f"{scheme}://{address}:{port['nodePort']}/", ""
    forward = f"kubectl port-forward -n {namespace} svc/{name} 8080:{port.get('port', 80)}"
    return f"{scheme}://localhost:8080/", f"Reach it with: {forward}"


def node_address(cluster: Cluster) -> str | None:
    """A node's external address, else its internal one."""
    addresses = [a for n in cluster.list("v1", "Node") for a in (n.get("status", {}).get("addresses") or [])]
    for kind in ("ExternalIP", "InternalIP"):
        found = next((a["address"] for a in addresses if a.get("type") == kind), None)
        if found:
            return str(found)
    return None
