"""Deploy settings: flags, then `[tool.agentcore-mcp]` in pyproject.toml, then defaults."""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import InitVar, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

DEFAULT_NAME = "agentcore_mcp_server"
NAME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9_]{0,47}")
ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
PYTHON_RUNTIMES = ("PYTHON_3_10", "PYTHON_3_11", "PYTHON_3_12", "PYTHON_3_13", "PYTHON_3_14")
AWS_PLATFORM = "aarch64-manylinux2014"
SAMPLE_SERVER_MODULE = "agentcore_mcp.server.sample"


class ConfigError(Exception):
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
    # The former name of `server_spec`, still accepted here (deprecated); not stored.
    app: InitVar[str | None] = None

    def __post_init__(self, app: str | None) -> None:
        if app is not None and self.server_spec is None:
            object.__setattr__(self, "server_spec", app)

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


def _former_app(config: DeployConfig) -> str | None:
    """`config.app`: the former name of `server_spec`, still readable (deprecated)."""
    return config.server_spec


DeployConfig.app = property(_former_app)  # type: ignore[attr-defined]


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
# Former names, still read (deprecated): pyproject key or `load_config` flag -> the new one.
_FORMER_PYPROJECT_KEYS = {"app": "server"}
_FORMER_FLAGS = {"app": "server_spec"}


def pyproject_settings(project_dir: Path) -> dict[str, Any]:
    """`[tool.agentcore-mcp]` of project_dir/pyproject.toml, with Python field names."""
    path = project_dir / "pyproject.toml"
    if not path.exists():
        return {}
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    table = dict(doc.get("tool", {}).get("agentcore-mcp", {}))
    for former, key in _FORMER_PYPROJECT_KEYS.items():
        if former in table:
            if key in table:
                raise ConfigError(
                    f"{path} [tool.agentcore-mcp]: both {key!r} and {former!r} (its former "
                    f"name) are set; keep {key!r}"
                )
            table[key] = table.pop(former)
    unknown = sorted(set(table) - set(_PYPROJECT_KEYS))
    if unknown:
        raise ConfigError(
            f"{path} [tool.agentcore-mcp]: unknown key(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(_PYPROJECT_KEYS))}"
        )
    return {_PYPROJECT_KEYS[k]: v for k, v in table.items()}


def load_config(project_dir: Path | None = None, **flags: Any) -> DeployConfig:
    """Flags (None = not given) over pyproject settings over defaults, validated.

    Flags are `DeployConfig` field names (`server_spec=`; `app=`, its former name, is
    still accepted).
    """
    project_dir = (project_dir or Path.cwd()).resolve()
    merged: dict[str, Any] = pyproject_settings(project_dir)
    for former, key in _FORMER_FLAGS.items():
        if former in flags:
            value = flags.pop(former)
            if flags.get(key) is None:
                flags[key] = value
    for key, value in flags.items():
        if value is None or (key in ("env", "secrets", "header_allowlist") and not value):
            continue
        if key == "env" and isinstance(merged.get("env"), dict):
            value = {**merged["env"], **value}
        merged[key] = value
    for key in ("secrets", "header_allowlist"):
        if key in merged:
            merged[key] = tuple(merged[key])
    if "env" in merged:
        merged["env"] = {str(k): str(v) for k, v in dict(merged["env"]).items()}
    try:
        config = DeployConfig(project_dir=project_dir, **merged)
    except TypeError as exc:
        raise ConfigError(f"bad setting: {exc}") from None
    return validate(config)


def validate(config: DeployConfig) -> DeployConfig:
    if not NAME_RE.fullmatch(config.name):
        raise ConfigError(
            f"--name {config.name!r}: AgentCore runtime names are a letter then up to 47 "
            "letters, digits or underscores (no hyphens), e.g. my_server"
        )
    # An absolute module path: a relative one (".server") once zipped the whole project.
    if config.server_spec is not None and not re.fullmatch(
        r"[^\W\d]\w*(\.[^\W\d]\w*)*(:[\w.]+)?", config.server_spec
    ):
        raise ConfigError(
            f"--server {config.server_spec!r}: expected module:attribute with an absolute "
            "module path, e.g. mypkg.server:mcp (relative modules are not supported)"
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
    for name in [*config.env, *config.secrets]:
        if not ENV_NAME_RE.fullmatch(name):
            raise ConfigError(f"{name!r} is not an environment variable name (A-Z, 0-9, _)")
    clash = sorted(
        set(config.env) & ({f"{s}_SECRET_ID" for s in config.secrets} | set(config.secrets))
    )
    if clash:
        raise ConfigError(f"{', '.join(clash)}: set both as --env and as a --secret; pick one")
    if len(config.env) + len(config.secrets) > 50:
        raise ConfigError("AgentCore allows at most 50 environment variables")
    for label, value in (
        ("idle-timeout", config.idle_timeout),
        ("max-lifetime", config.max_lifetime),
    ):
        if value is not None and not 60 <= int(value) <= 28800:
            raise ConfigError(f"--{label} {value}: AgentCore accepts 60..28800 seconds")
    if (
        config.idle_timeout is not None
        and config.max_lifetime is not None
        and config.idle_timeout > config.max_lifetime
    ):
        raise ConfigError("--idle-timeout must be at most --max-lifetime")
    if len(config.header_allowlist) > 20:
        raise ConfigError("--allow-header: AgentCore allows at most 20 headers")
    for header in config.header_allowlist:
        lowered = header.lower()
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", header) or (
            lowered.startswith("x-amz")
            and not lowered.startswith("x-amzn-bedrock-agentcore-runtime-custom-")
        ):
            raise ConfigError(
                f"--allow-header {header!r}: AgentCore refuses it (x-amz* names are reserved; "
                "use X-Amzn-Bedrock-AgentCore-Runtime-Custom-* or your own name)"
            )
        if lowered == "authorization" and config.auth != "oauth":
            raise ConfigError("--allow-header Authorization is only allowed with --oauth")
    return replace(config, env=dict(config.env))
