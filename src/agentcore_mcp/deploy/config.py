"""Deploy settings: flags, then `[tool.agentcore-mcp]` in pyproject.toml, then defaults."""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from agentcore_mcp import runtime_rules as rules
from agentcore_mcp.deploy.state import DeploymentRecord, SettingsRecord
from agentcore_mcp.errors import AgentCoreMcpError

DEFAULT_NAME = "agentcore_mcp_server"
ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
PYTHON_RUNTIMES = ("PYTHON_3_10", "PYTHON_3_11", "PYTHON_3_12", "PYTHON_3_13", "PYTHON_3_14")
AWS_PLATFORM = "aarch64-manylinux2014"
SAMPLE_SERVER_MODULE = "agentcore_mcp.server.sample"


class ConfigError(AgentCoreMcpError):
    """A setting that cannot be used; the message names it and what to write instead."""


@dataclass(frozen=True, slots=True)
class DeployConfig:
    name: str = DEFAULT_NAME
    server_spec: str | None = None  # module:attribute; None serves the sample server
    project_dir: Path = field(default_factory=Path.cwd)
    target: Literal["local", "aws"] = "local"
    region: str | None = None
    profile: str | None = None
    auth: Literal["sigv4", "oauth"] = "sigv4"
    env: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    idle_timeout: int | None = None  # lifecycleConfiguration.idleRuntimeSessionTimeout
    max_lifetime: int | None = None
    header_allowlist: tuple[str, ...] = ()
    artifact: Literal["zip", "container"] = "zip"
    python_runtime: str | None = None  # PYTHON_3_1x; default: the host's minor version
    platform: str | None = None  # wheel platform override (tests: the host's, on --target aws)
    local_home: Path | None = None  # the local AgentCore's home (default ~/.agentcore-mcp/local)
    local_port: int | None = None  # the port a local AgentCore deploy starts listens on [8700]
    manifest: bool = True  # ship a startup manifest in the zip
    # Explicit removals from the recorded desired state (destructive: docs/deployer.md).
    remove_env: tuple[str, ...] = ()
    remove_headers: tuple[str, ...] = ()
    remove_secrets: tuple[str, ...] = ()
    force_delete_secrets: bool = False  # no recovery window when a secret is deleted
    # The fields a flag or pyproject set (the rest are defaults, which the record overrides).
    explicit: frozenset[str] = frozenset()

    @property
    def runtime_python(self) -> str:
        return self.python_runtime or host_python_runtime()

    @property
    def python_version(self) -> str:
        return self.runtime_python.removeprefix("PYTHON_").replace("_", ".")

    @property
    def wheel_platform(self) -> str:
        if self.platform:
            return self.platform
        return AWS_PLATFORM if self.target == "aws" else host_platform()

    @property
    def is_sample(self) -> bool:
        return self.server_spec is None or self.server_spec.startswith(SAMPLE_SERVER_MODULE)


def host_python_runtime() -> str:
    """The AgentCore runtime matching this interpreter, so the startup manifest's
    fingerprint (which includes the Python version) was computed by the same minor."""
    name = f"PYTHON_3_{sys.version_info.minor}"
    return name if name in PYTHON_RUNTIMES else "PYTHON_3_11"


def host_platform() -> str:
    import platform

    machine = platform.machine().lower()
    machine = {"arm64": "aarch64", "amd64": "x86_64"}.get(machine, machine)
    return f"{machine}-unknown-linux-gnu"


_PYPROJECT_KEYS = {
    "name": "name",
    "server": "server_spec",
    "region": "region",
    "auth": "auth",
    "env": "env",
    "secrets": "secrets",
    "idle-timeout": "idle_timeout",
    "max-lifetime": "max_lifetime",
    "request-header-allowlist": "header_allowlist",
    "artifact": "artifact",
    "python-runtime": "python_runtime",
    "platform": "platform",
}


_STR_KEYS = ("name", "server", "region", "auth", "artifact", "python-runtime", "platform")
_LIST_KEYS = {"secrets": "OPENAI_API_KEY", "request-header-allowlist": "X-Tenant"}
_INT_KEYS = ("idle-timeout", "max-lifetime")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    names: dict[type, str] = {str: "a string", list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def _check_pyproject_types(path: Path, table: dict[str, Any]) -> None:
    """One line per wrong type, naming the key and what to write instead (TOML has types;
    a string where a list belongs would otherwise be read letter by letter)."""
    where = f"{path} [tool.agentcore-mcp]"
    for key, value in table.items():
        if key in _STR_KEYS and not isinstance(value, str):
            raise ConfigError(
                f'{where} {key} is {_kind(value)}; write a string, e.g. {key} = "..."'
            )
        if key in _LIST_KEYS and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise ConfigError(
                f"{where} {key} is {_kind(value)}; write a list of strings, e.g. "
                f'{key} = ["{_LIST_KEYS[key]}"]'
            )
        if key in _INT_KEYS and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(
                f"{where} {key} is {_kind(value)}; write a whole number of seconds, "
                f"e.g. {key} = 900"
            )
        if key == "env" and not (
            isinstance(value, dict)
            and all(isinstance(v, str | int | float | bool) for v in value.values())
        ):
            raise ConfigError(
                f"{where} env is {_kind(value)}; write a table of strings, e.g. "
                'env = { LOG_LEVEL = "info" }'
            )


def pyproject_settings(project_dir: Path) -> dict[str, Any]:
    """`[tool.agentcore-mcp]` of project_dir/pyproject.toml, with Python field names."""
    path = project_dir / "pyproject.toml"
    if not path.exists():
        return {}
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    tool = doc.get("tool", {})
    raw = tool.get("agentcore-mcp", {}) if isinstance(tool, dict) else {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: tool.agentcore-mcp is {_kind(raw)}; write a [tool.agentcore-mcp] table"
        )
    table = dict(raw)
    unknown = sorted(set(table) - set(_PYPROJECT_KEYS))
    if unknown:
        raise ConfigError(
            f"{path} [tool.agentcore-mcp]: unknown key(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(_PYPROJECT_KEYS))}"
        )
    _check_pyproject_types(path, table)
    return {_PYPROJECT_KEYS[k]: v for k, v in table.items()}


def load_config(project_dir: Path | None = None, **flags: Any) -> DeployConfig:
    """Flags (None = not given) over pyproject settings over defaults, validated.

    Flags are `DeployConfig` field names (`server_spec=`, `idle_timeout=`, ...).
    """
    project_dir = (project_dir or Path.cwd()).resolve()
    merged: dict[str, Any] = pyproject_settings(project_dir)
    explicit = set(merged)
    for key, value in flags.items():
        if value is None or (key in _COLLECTIONS and not value):
            continue
        if key == "env" and isinstance(merged.get("env"), dict):
            value = {**merged["env"], **value}
        elif key in ("secrets", "header_allowlist") and key in merged:
            value = (*merged[key], *value)  # a flag adds to pyproject's list
        merged[key] = value
        explicit.add(key)
    for key in _COLLECTIONS:
        if key in merged and key != "env":
            merged[key] = tuple(dict.fromkeys(merged[key]))
    if "header_allowlist" in merged:
        # HTTP names are case-insensitive: pyproject's X-Tenant and a flag's x-tenant are one
        # header (the first spelling kept), as the recorded list merges in desired_config.
        first: dict[str, str] = {}
        for header in merged["header_allowlist"]:
            first.setdefault(header.lower(), header)
        merged["header_allowlist"] = tuple(first.values())
    if "env" in merged:
        merged["env"] = {str(k): _env_value(v) for k, v in dict(merged["env"]).items()}
    try:
        config = DeployConfig(project_dir=project_dir, explicit=frozenset(explicit), **merged)
    except TypeError as exc:
        raise ConfigError(f"bad setting: {exc}") from None
    return validate(config)


_COLLECTIONS = (
    "env",
    "secrets",
    "header_allowlist",
    "remove_env",
    "remove_headers",
    "remove_secrets",
)


def _env_value(value: Any) -> str:
    # TOML `DEBUG = true` means what the shell's DEBUG=true means.
    return str(value).lower() if isinstance(value, bool) else str(value)


def validate(config: DeployConfig) -> DeployConfig:
    """The settings checked before anything is written: AgentCore's own rules for the
    name, the lifecycle and the header allowlist (`runtime_rules`, which the local control
    plane applies too, so both refuse the same values in the same words), then the
    deployer's own."""
    name_problem = rules.runtime_name_problem(config.name)
    if name_problem is not None:
        raise ConfigError(f"--name: {name_problem}")
    # module:attribute with an absolute module path: a relative one (".server") once zipped
    # the whole project, and a spec without its attribute cannot be served.
    if config.server_spec is not None and not re.fullmatch(
        r"[^\W\d]\w*(\.[^\W\d]\w*)*:[\w.]+", config.server_spec
    ):
        raise ConfigError(
            f"--server {config.server_spec!r}: expected module:attribute, the object in the "
            "module that is your server, with an absolute module path, e.g. mypkg.server:mcp "
            "(relative modules are not supported)"
        )
    if config.target not in ("local", "aws"):
        raise ConfigError(f"--target {config.target!r}: use local or aws")
    if config.auth not in ("sigv4", "oauth"):
        raise ConfigError(f"auth {config.auth!r}: use sigv4 or oauth")
    if config.artifact not in ("zip", "container"):
        raise ConfigError(f"--artifact {config.artifact!r}: use zip or container")
    if config.python_runtime and config.python_runtime not in PYTHON_RUNTIMES:
        raise ConfigError(
            f"--python-runtime {config.python_runtime!r}: one of {', '.join(PYTHON_RUNTIMES)}"
        )
    for name in [*config.env, *config.secrets, *config.remove_env, *config.remove_secrets]:
        if not ENV_NAME_RE.fullmatch(name):
            raise ConfigError(f"{name!r} is not an environment variable name (A-Z, 0-9, _)")
    for label, kept, removed in (
        ("env", set(config.env), config.remove_env),
        ("secret", set(config.secrets), config.remove_secrets),
        ("allow-header", {h.lower() for h in config.header_allowlist}, config.remove_headers),
    ):
        both = sorted(n for n in removed if (n.lower() if label == "allow-header" else n) in kept)
        if both:
            raise ConfigError(
                f"{', '.join(both)}: both --{label} and --remove-{label.removeprefix('allow-')} "
                "(or set in pyproject.toml); keep one"
            )
    clash = sorted(
        set(config.env) & ({f"{s}_SECRET_ID" for s in config.secrets} | set(config.secrets))
    )
    if clash:
        raise ConfigError(f"{', '.join(clash)}: set both as --env and as a --secret; pick one")
    if len(config.env) + len(config.secrets) > rules.MAX_ENV_VARS:
        raise ConfigError(f"AgentCore allows at most {rules.MAX_ENV_VARS} environment variables")
    lifecycle = rules.lifecycle_problem(
        None if config.idle_timeout is None else int(config.idle_timeout),
        None if config.max_lifetime is None else int(config.max_lifetime),
    )
    if lifecycle is not None:
        field, problem = lifecycle
        flag = "--idle-timeout" if field == rules.IDLE_TIMEOUT_FIELD else "--max-lifetime"
        raise ConfigError(f"{flag}: {problem}")
    if config.header_allowlist:
        header_problem = rules.header_allowlist_problem(config.header_allowlist)
        if header_problem is not None:
            raise ConfigError(f"--allow-header: {header_problem}")
    # The deployer's own rule: AgentCore accepts Authorization on any runtime but forwards
    # it only to those with a JWT authorizer, so on a SigV4 runtime it would never arrive.
    if config.auth != "oauth" and any(
        h.lower() == "authorization" for h in config.header_allowlist
    ):
        raise ConfigError("--allow-header Authorization is only allowed with --oauth")
    return replace(config, env=dict(config.env))


# --- the recorded deployment as the desired state ------------------------------------------


def desired_config(config: DeployConfig, record: DeploymentRecord | None) -> DeployConfig:
    """What this deploy should make: `config` over the recorded deployment.

    A setting a flag or pyproject gave (`config.explicit`) wins; every other one comes
    from the record, then the default. Lists and maps merge: a flag adds or changes the
    names it gives and keeps the recorded rest; only `remove_*` takes one away.
    """
    if record is None:
        return config
    settings = record.settings
    chosen: dict[str, Any] = {}
    if "server_spec" not in config.explicit:
        chosen["server_spec"] = record.server_spec or None
    if "auth" not in config.explicit:
        chosen["auth"] = record.auth
    env = dict(settings.env) if settings else {}
    env.update(config.env)
    chosen["env"] = {k: v for k, v in env.items() if k not in config.remove_env}
    secrets = dict.fromkeys([*record.secrets, *config.secrets])
    chosen["secrets"] = tuple(sorted(s for s in secrets if s not in config.remove_secrets))
    dropped = {h.lower() for h in config.remove_headers}
    headers: dict[str, str] = {}
    for header in [*(settings.header_allowlist if settings else []), *config.header_allowlist]:
        headers.setdefault(header.lower(), header)  # HTTP names: case-insensitive
    chosen["header_allowlist"] = tuple(h for k, h in headers.items() if k not in dropped)
    if settings is not None:
        for name in ("idle_timeout", "max_lifetime"):
            if name not in config.explicit:
                chosen[name] = getattr(settings, name)
        for name in ("artifact", "python_runtime", "platform"):
            if name not in config.explicit and getattr(settings, name):
                chosen[name] = getattr(settings, name)
    return validate(replace(config, **chosen))


def settings_record(config: DeployConfig) -> SettingsRecord:
    return SettingsRecord(
        env=dict(config.env),
        header_allowlist=list(config.header_allowlist),
        idle_timeout=config.idle_timeout,
        max_lifetime=config.max_lifetime,
        artifact=config.artifact,
        python_runtime=config.python_runtime or "",
        platform=config.platform or "",
    )


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between the recorded deployment and this deploy's desired state."""

    setting: str  # server, auth, secret, env, header, lifecycle, artifact
    message: str
    destructive: bool = False  # replaces or removes something the deployment serves

    def to_json(self) -> dict[str, Any]:
        return {"setting": self.setting, "message": self.message, "destructive": self.destructive}


def changes_between(record: DeploymentRecord | None, desired: DeployConfig) -> list[Change]:
    """What applying `desired` changes in the recorded deployment (nothing for a new one).

    Destructive: replacing the server, switching auth, removing a secret or an env var,
    dropping an allowed header (docs/deployer.md, "Destructive changes").
    """
    if record is None:
        return []
    out: list[Change] = []
    old_server = record.server_spec or "the sample server"
    new_server = desired.server_spec or "the sample server"
    if old_server != new_server:
        out.append(Change("server", f"replace the server {old_server} with {new_server}", True))
    if record.auth != desired.auth:
        out.append(Change("auth", f"switch auth from {record.auth} to {desired.auth}", True))
    for var in sorted(set(record.secrets) - set(desired.secrets)):
        out.append(
            Change(
                "secret", f"remove secret {var} (scheduled for deletion in Secrets Manager)", True
            )
        )
    for var in sorted(set(desired.secrets) - set(record.secrets)):
        out.append(Change("secret", f"add secret {var}"))
    settings = record.settings
    if settings is None:
        return out  # written before settings were recorded: nothing more to compare
    old_env, new_env = settings.env, desired.env
    for var in sorted(set(old_env) - set(new_env)):
        out.append(Change("env", f"remove env var {var}", True))
    for var in sorted(set(new_env) - set(old_env)):
        out.append(Change("env", f"add env var {var}"))
    for var in sorted(k for k in set(old_env) & set(new_env) if old_env[k] != new_env[k]):
        out.append(Change("env", f"change env var {var}"))
    old_headers = {h.lower(): h for h in settings.header_allowlist}
    new_headers = {h.lower(): h for h in desired.header_allowlist}
    for key in sorted(set(old_headers) - set(new_headers)):
        out.append(Change("header", f"stop passing header {old_headers[key]}", True))
    for key in sorted(set(new_headers) - set(old_headers)):
        out.append(Change("header", f"pass header {new_headers[key]}"))
    for name, label in (("idle_timeout", "idle timeout"), ("max_lifetime", "max lifetime")):
        old, new = getattr(settings, name), getattr(desired, name)
        if old != new:
            out.append(Change("lifecycle", f"{label} {old or 'default'} -> {new or 'default'}"))
    for name in ("artifact", "python_runtime", "platform"):
        old, new = getattr(settings, name) or "default", getattr(desired, name) or "default"
        if old != new:
            out.append(Change("artifact", f"{name.replace('_', ' ')} {old} -> {new}"))
    return out
