"""The component catalog: components (jsonnet/components/*/component.yaml), named parameter
overlays (overlays/*.yaml) and platform defaults (platforms/*.yaml).

Everything the renderer needs to know about a component before evaluating it lives here, read
once and validated, so a typo in a component.yaml or an overlay is reported with its file name
instead of surfacing later as a confusing jsonnet error.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kfdeploy import kubeversion
from kfdeploy.credentials import CredentialDecl
from kfdeploy.errors import RenderError

PARAM_TYPES = ("string", "integer", "number", "boolean", "array", "object")
# The param type of a Python value: the first that matches (bool before int, as bool is an int).
VALUE_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"), (dict, "object"))
ENV_ROOT = "KFDEPLOY_LIBRARY"
COMPONENT_KEYS = {"description", "enabledByDefault", "dependsOn", "kubeVersion", "params", "credentials", "login"}
CREDENTIAL_KEYS = {"length", "bcrypt", "adopt"}
LOGIN_KEYS = {"user", "password", "passwordHash", "service"}
PARAM_KEYS = {"type", "default", "doc"}
SPLIT_HINT = " (an unquoted ',' inside {...} ends the value before it: quote the doc string)"


def type_of(value: Any) -> str:
    """The param type name of a value (a bool is a boolean, never an integer)."""
    for python_type, name in VALUE_TYPES:
        if isinstance(value, python_type):
            return name
    return "null" if value is None else type(value).__name__


def matches_type(type_name: str, value: Any) -> bool:
    """Whether ``value`` is acceptable for a param of ``type_name`` (an integer is a number)."""
    actual = type_of(value)
    return actual == type_name or (type_name == "number" and actual == "integer")


def suggest(word: str, choices: Any) -> str:
    """' (did you mean X?)' when a choice is spelled close to ``word``, else ''."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def choices_text(choices: Any) -> str:
    return ", ".join(sorted(choices)) or "(none)"


@dataclass(frozen=True)
class ParamDecl:
    name: str
    type: str
    default: Any
    doc: str = ""


@dataclass(frozen=True)
class Component:
    """A jsonnet component: ``main.jsonnet`` plus its declared params.

    ``typed`` is False for a user component without component.yaml: its params are passed
    through unchecked.
    """

    name: str
    path: Path
    description: str = ""
    enabled_by_default: bool = False
    depends_on: tuple[str, ...] = ()
    params: Mapping[str, ParamDecl] = field(default_factory=dict)
    typed: bool = True
    kube_version: str = ""  # supported Kubernetes versions, e.g. ">=1.29"; "" = any
    credentials: tuple[CredentialDecl, ...] = ()
    login: Mapping[str, str] = field(default_factory=dict)

    @property
    def main(self) -> Path:
        return self.path / "main.jsonnet"

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params.values()}


@dataclass(frozen=True)
class Overlay:
    name: str
    path: Path
    description: str
    params: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class PlatformDefaults:
    kind: str
    path: Path | None = None
    kubernetes_version: str | None = None
    overlays: tuple[str, ...] = ()
    addons: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    adjust: Mapping[str, Any] = field(default_factory=dict)  # render.adjust rule -> value


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise RenderError(f"{path}: not valid YAML: {e}") from e
    except OSError as e:
        raise RenderError(f"{path}: cannot read: {e.strerror}") from e


def _param_problems(where: str, name: str, raw: Any) -> list[str]:
    if not isinstance(raw, dict):
        return [f"{where}: param '{name}' must be a mapping with type, default, doc"]
    problems = [f"{where}: param '{name}' has unknown key '{k}'{suggest(k, PARAM_KEYS)}"
                + (SPLIT_HINT if raw[k] is None else "")
                for k in sorted(set(raw) - PARAM_KEYS, key=str)]
    ptype = raw.get("type")
    if ptype not in PARAM_TYPES:
        problems.append(f"{where}: param '{name}' has type {ptype!r}{suggest(str(ptype), PARAM_TYPES)};"
                        f" valid types: {', '.join(PARAM_TYPES)}")
    elif "default" not in raw:
        problems.append(f"{where}: param '{name}' needs a default")
    elif not matches_type(ptype, raw["default"]):
        problems.append(f"{where}: param '{name}' is {ptype} but its default"
                        f" {raw['default']!r} is {type_of(raw['default'])}")
    return problems


def load_component(path: Path, name: str | None = None, *, required: bool = True) -> Component:
    """Read ``<path>/component.yaml``; with ``required=False`` a missing file gives an untyped
    component (user components may skip it)."""
    name = name or path.name
    meta_file = path / "component.yaml"
    if not (path / "main.jsonnet").is_file():
        raise RenderError(f"component '{name}': {path / 'main.jsonnet'} does not exist",
                          hint="a component folder holds main.jsonnet and component.yaml")
    if not meta_file.is_file():
        if required:
            raise RenderError(f"component '{name}': {meta_file} does not exist")
        return Component(name=name, path=path, typed=False)
    raw = _read_yaml(meta_file)
    where = str(meta_file)
    if not isinstance(raw, dict):
        raise RenderError(f"{where}: must be a mapping with description, dependsOn, params")
    problems = [f"{where}: unknown key '{k}'{suggest(k, COMPONENT_KEYS)}"
                for k in sorted(set(raw) - COMPONENT_KEYS)]
    params_raw = raw.get("params") or {}
    deps = raw.get("dependsOn") or []
    if not isinstance(params_raw, dict):
        problems.append(f"{where}: params must be a mapping of name -> {{type, default, doc}}")
        params_raw = {}
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        problems.append(f"{where}: dependsOn must be a list of component names")
        deps = []
    if not isinstance(raw.get("enabledByDefault", False), bool):
        problems.append(f"{where}: enabledByDefault must be true or false")
    kube_version = str(raw.get("kubeVersion") or "")
    try:
        kubeversion.terms(kube_version) if kube_version else None
    except kubeversion.ConstraintError as e:
        problems.append(f"{where}: kubeVersion: {e}")
    for pname, praw in params_raw.items():
        problems += _param_problems(where, str(pname), praw)
    credentials, cred_problems = _credentials(where, raw.get("credentials") or {}, params_raw)
    login, login_problems = _login(where, raw.get("login") or {}, params_raw)
    problems += cred_problems + login_problems
    if problems:
        raise RenderError("\n".join(problems))
    params = {str(k): ParamDecl(str(k), v["type"], v["default"], str(v.get("doc", "")))
              for k, v in params_raw.items()}
    return Component(name=name, path=path, description=str(raw.get("description", "")),
                     enabled_by_default=bool(raw.get("enabledByDefault", False)),
                     depends_on=tuple(deps), params=params, kube_version=kube_version,
                     credentials=credentials, login=login)


def _credentials(where: str, raw: Any, params: Mapping[str, Any]) -> tuple[tuple[CredentialDecl, ...], list[str]]:
    """``credentials: {<param>: {length: N} | {bcrypt: <param>}}``: each a string param
    defaulting to "" (empty means generated); a hash names a credential declared before it."""
    if not isinstance(raw, dict):
        return (), [f"{where}: credentials must be a mapping of param -> {{length: N}} or {{bcrypt: PARAM}}"]
    problems: list[str] = []
    decls: list[CredentialDecl] = []
    for pname, spec in raw.items():
        at = f"{where}: credentials.{pname}"
        spec = spec or {}
        param = params.get(pname)
        if not isinstance(param, dict) or param.get("type") != "string" or param.get("default") != "":
            problems.append(f"{at}: must be a string param with default \"\" (empty means generated)")
        if not isinstance(spec, dict) or set(spec) - CREDENTIAL_KEYS:
            problems.append(f"{at}: takes length (random characters, default 32) or bcrypt (a credential"
                            " to hash), and adopt")
            continue
        source = spec.get("bcrypt")
        if source is not None and source not in {d.param for d in decls}:
            problems.append(f"{at}: bcrypt '{source}' must be a credential declared above it")
        length = spec.get("length", 32)
        if not isinstance(length, int) or isinstance(length, bool) or not 16 <= length <= 64:
            problems.append(f"{at}: length must be an integer from 16 to 64")
            continue
        adopt = spec.get("adopt")
        if adopt is not None and not (isinstance(adopt, dict) and set(adopt) == {"secret", "key"}
                                      and all(isinstance(v, str) and v for v in adopt.values())):
            problems.append(f"{at}: adopt takes {{secret: NAME, key: KEY}} (where an earlier install kept it)")
            continue
        decls.append(CredentialDecl(str(pname), length, source,
                                    (adopt["secret"], adopt["key"]) if adopt else None))
    return tuple(decls), problems


def _login(where: str, raw: Any, params: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """``login: {user, password, passwordHash: <param>, service: <ns>/<name>}``: the dashboard login
    that ``kfdeploy credentials`` prints (``{param}`` in service is replaced by the param's value)."""
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        return {}, [f"{where}: login must map {', '.join(sorted(LOGIN_KEYS))} to strings"]
    problems = [f"{where}: login has unknown key '{k}'{suggest(k, LOGIN_KEYS)}" for k in sorted(set(raw) - LOGIN_KEYS)]
    problems += [f"{where}: login.{k} names no param '{raw[k]}'" for k in ("user", "password", "passwordHash")
                 if k in raw and raw[k] not in params]
    if raw and not {"user", "password", "service"} <= set(raw):
        problems.append(f"{where}: login needs user, password and service")
    return dict(raw), problems


def _load_overlay(path: Path) -> Overlay:
    raw = _read_yaml(path)
    params = raw.get("params") if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or not isinstance(params or {}, dict) or not raw.get("description"):
        raise RenderError(f"{path}: an overlay is a mapping with 'description' and"
                          " 'params: {<component>|\"*\": {param: value}}'")
    bad = [str(k) for k, v in (params or {}).items() if not isinstance(v, dict)]
    if bad:
        raise RenderError(f"{path}: params.{bad[0]} must be a mapping of param -> value")
    return Overlay(path.stem, path, str(raw["description"]), params or {})


def _load_platform(path: Path) -> PlatformDefaults:
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise RenderError(f"{path}: must be a mapping (kubernetesVersion, overlays, addons, defaults, adjust)")
    lists = {k: raw.get(k) or [] for k in ("overlays", "addons")}
    for key, value in lists.items():
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RenderError(f"{path}: {key} must be a list of names")
    version = raw.get("kubernetesVersion")
    if not isinstance(raw.get("adjust") or {}, dict):
        raise RenderError(f"{path}: adjust must be a mapping of rule -> value")
    return PlatformDefaults(kind=path.stem, path=path,
                            kubernetes_version=str(version) if version is not None else None,
                            overlays=tuple(lists["overlays"]), addons=tuple(lists["addons"]),
                            defaults=raw.get("defaults") or {}, adjust=raw.get("adjust") or {})


def default_root() -> Path:
    """The library root: $KFDEPLOY_LIBRARY, else the repository this package is installed from."""
    env = os.environ.get(ENV_ROOT)
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Library:
    root: Path
    components: Mapping[str, Component]
    overlays: Mapping[str, Overlay]
    platforms: Mapping[str, PlatformDefaults]

    @property
    def jpath(self) -> list[Path]:
        """Import search path for jsonnet (``import 'k.libsonnet'``)."""
        return [self.root / "jsonnet" / "lib"]

    @classmethod
    def load(cls, root: Path | str | None = None) -> Library:
        root = Path(root) if root is not None else default_root()
        comp_dir = root / "jsonnet" / "components"
        if not comp_dir.is_dir():
            raise RenderError(f"component library not found: {comp_dir} does not exist",
                              hint=f"set {ENV_ROOT} to the directory holding jsonnet/ and overlays/")
        components, problems = {}, []
        for d in sorted(comp_dir.iterdir()):
            if d.is_dir() and (d / "main.jsonnet").exists():
                try:
                    components[d.name] = load_component(d)
                except RenderError as e:
                    problems.append(e.message)
        if problems:
            raise RenderError("\n".join(problems))
        overlays = {p.stem: _load_overlay(p) for p in sorted((root / "overlays").glob("*.yaml"))}
        platforms = {p.stem: _load_platform(p) for p in sorted((root / "platforms").glob("*.yaml"))}
        return cls(root, components, overlays, platforms)

    def component(self, name: str, where: str = "") -> Component:
        if name not in self.components:
            prefix = f"{where}: " if where else ""
            raise RenderError(f"{prefix}unknown component '{name}'{suggest(name, self.components)};"
                              f" components: {choices_text(self.components)}")
        return self.components[name]

    def platform(self, kind: str) -> PlatformDefaults:
        """The platform defaults; a kind without a file has none (e.g. 'existing')."""
        return self.platforms.get(kind) or PlatformDefaults(kind=kind)

    def check(self) -> list[str]:
        """Cross-file problems: overlays naming unknown components/params or wrong types,
        platforms naming unknown overlays/addons, dependsOn naming unknown components."""
        problems: list[str] = []
        for ov in self.overlays.values():
            problems += self.overlay_problems(ov)
        for pf in self.platforms.values():
            problems += [f"{pf.path}: overlay '{o}' does not exist{suggest(o, self.overlays)}"
                         for o in pf.overlays if o not in self.overlays]
            problems += [f"{pf.path}: addon '{a}' is not a component{suggest(a, self.components)}"
                         for a in pf.addons if a not in self.components]
        for comp in self.components.values():
            problems += [f"{comp.path / 'component.yaml'}: dependsOn '{d}' is not a component"
                         f"{suggest(d, self.components)}"
                         for d in comp.depends_on if d not in self.components]
        return problems

    def overlay_problems(self, ov: Overlay) -> list[str]:
        problems: list[str] = []
        declared = {p for c in self.components.values() for p in c.params}
        for target, values in ov.params.items():
            if target == "*":
                problems += [f"{ov.path}: params.\"*\".{p}: no component declares param '{p}'"
                             f"{suggest(p, declared)}" for p in values if p not in declared]
                continue
            if target not in self.components:
                problems.append(f"{ov.path}: params.{target}: unknown component"
                                f"{suggest(target, self.components)}")
                continue
            comp = self.components[target]
            for pname, value in values.items():
                where = f"{ov.path}: params.{target}.{pname}"
                decl = comp.params.get(pname)
                if decl is None:
                    problems.append(f"{where}: component '{target}' has no param '{pname}'"
                                    f"{suggest(pname, comp.params)}; params: {choices_text(comp.params)}")
                elif not matches_type(decl.type, value):
                    problems.append(f"{where}: expected {decl.type}, got {type_of(value)}")
        return problems
