"""Optional parts of the install (extras) and the one-line hint when one is missing.

The base install is the server kit; the CLI, the local AgentCore, the deployer, secret
resolution and web_search are extras (docs/packaging.md). Code that needs an extra calls
`require` before importing it, so a missing extra is a `MissingExtraError` naming the
extra to install, never a bare traceback. Standard library only: the `agentcore-mcp`
launcher imports this module before it knows whether typer is installed.
"""

from __future__ import annotations

import importlib.util

from agentcore_mcp.errors import AgentCoreMcpError

# The distribution name, for the hint's install line.
DISTRIBUTION = "agentcore-mcp"

# Which extra brings each top-level module an optional part imports. Used to turn an
# ImportError raised deep inside a command into the same one-line hint.
MODULE_EXTRAS: dict[str, str] = {
    "typer": "cli",
    "rich": "cli",
    "click": "cli",
    "boto3": "client",
    "joserfc": "client",
    "moto": "local",
    "flask": "local",
    "werkzeug": "local",
    "openai": "web-search",
    "botocore": "secrets",
}

# The extras a user can name, in the order docs/packaging.md lists them.
EXTRAS = ("cli", "client", "local", "deploy", "secrets", "web-search", "all")


class MissingExtraError(AgentCoreMcpError, ImportError):
    """An optional part of agentcore-mcp is used but its extra is not installed."""

    def __init__(self, extra: str, missing: str, *, purpose: str | None = None) -> None:
        self.extra = extra
        self.missing = missing
        self.purpose = purpose
        super().__init__(hint(extra, missing, purpose=purpose), name=missing)


def install_line(extra: str) -> str:
    return f"pip install '{DISTRIBUTION}[{extra}]'"


def hint(extra: str, missing: str, *, purpose: str | None = None) -> str:
    """One line: what is missing and the command that adds it."""
    what = purpose or f"the [{extra}] extra"
    return (
        f"{what} needs {missing!r}, which is not installed: "
        f"{install_line(extra)} (or uv add '{DISTRIBUTION}[{extra}]')"
    )


def missing_modules(*modules: str) -> list[str]:
    """The named top-level modules that cannot be imported here (without importing them)."""
    out = []
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            out.append(module)
    return out


def require(extra: str, *modules: str, purpose: str | None = None) -> None:
    """Raise MissingExtraError unless every module is importable.

    `require("local", "moto", "joserfc")` before the first import of moto makes a user
    without `[local]` see `pip install 'agentcore-mcp[local]'` instead of a traceback.
    Only finds the modules; importing them stays with the caller (and stays lazy).
    """
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; one of {', '.join(EXTRAS)}")
    missing = missing_modules(*modules)
    if missing:
        raise MissingExtraError(extra, missing[0], purpose=purpose)


def from_import_error(
    exc: ImportError, *, default_extra: str | None = None
) -> MissingExtraError | None:
    """The MissingExtraError an ImportError of an optional module stands for, if any."""
    if isinstance(exc, MissingExtraError):
        return exc
    name = (exc.name or "").partition(".")[0]
    extra = MODULE_EXTRAS.get(name) or (default_extra if name else None)
    if extra is None or not isinstance(exc, ModuleNotFoundError):
        return None
    return MissingExtraError(extra, name)
