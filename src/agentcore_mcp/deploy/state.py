"""The deployer's state file: what it made, as ids, ARNs, names, hashes and timestamps.

Never a password, token or key: those live in Secrets Manager, and the state names
them by id. One file holds many deployments; each record is keyed by where it lives,
`local/<region>/<name>` or `aws/<account>/<region>/<name>`, so a local deploy never
overwrites an AWS record. Every write is atomic and 0600 (`files.write_atomically`).

The JSON schema is documented in docs/deployer.md. Readers (the client, the proxy,
`connect`) use `load_state`, `find_record` and `runtime_target`.
"""

from __future__ import annotations

import json
import time
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, TypeVar

from agentcore_mcp.files import write_atomically

DEFAULT_STATE_PATH = Path("deployment_config.json")
FORMAT = 1

TargetKind = Literal["local", "aws"]


class StateError(Exception):
    """The state file cannot be read or is not the deployer's; the message says what to do."""


_R = TypeVar("_R")


def _build(cls: type[_R], doc: Any) -> _R | None:
    """A record from a JSON object, ignoring unknown keys (newer writers add fields)."""
    if not isinstance(doc, dict):
        return None
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in doc.items() if k in names})


@dataclass(slots=True)
class RoleRecord:
    name: str
    arn: str
    policy_name: str = ""
    policy_hash: str = ""  # sha256 of the inline policy document last put


@dataclass(slots=True)
class ArtifactRecord:
    kind: Literal["zip", "container"]
    sha256: str  # content hash of the zip (or of the image build context)
    bucket: str = ""
    key: str = ""
    size: int = 0
    image_uri: str = ""
    repository: str = ""  # ECR repository name (container)
    python_runtime: str = ""  # PYTHON_3_11...
    platform: str = ""  # the wheels' platform, e.g. aarch64-manylinux2014
    input_hash: str = ""  # hash of the build's inputs: equal means no rebuild
    manifest: bool = False  # the zip carries a startup manifest


@dataclass(slots=True)
class RuntimeRecord:
    id: str
    arn: str
    name: str
    version: str = ""
    config_hash: str = ""  # sha256 of the configuration last sent (artifact hash included)
    status: str = ""
    invocation_url: str = ""


@dataclass(slots=True)
class CognitoRecord:
    pool_id: str
    pool_name: str
    client_id: str = ""
    discovery_url: str = ""
    username: str = ""
    user_secret_id: str = ""  # Secrets Manager id of {"username", "password"}


@dataclass(slots=True)
class PublishRecord:
    parameter: str  # the SSM parameter holding the deployment's JSON summary
    arn_parameter: str = ""  # the SSM parameter holding only the runtime ARN
    credentials_secret_id: str = ""  # Secrets Manager id of the Cognito client settings


@dataclass(slots=True)
class SettingsRecord:
    """What the last deploy was asked for beyond `auth`, `server` and `secrets`: with
    them, the desired state a plain `deploy` applies again (docs/deployer.md). Env values
    are configuration, not secrets (those are `secrets`, by id)."""

    env: dict[str, str] = field(default_factory=dict)
    header_allowlist: list[str] = field(default_factory=list)
    idle_timeout: int | None = None
    max_lifetime: int | None = None
    artifact: str = "zip"
    python_runtime: str = ""  # "" = the host's minor at each deploy
    platform: str = ""  # "" = the target's default


@dataclass(slots=True)
class DeploymentRecord:
    target: TargetKind
    region: str
    name: str
    account: str = ""
    auth: Literal["sigv4", "oauth"] = "sigv4"
    server_spec: str = ""  # module:attribute deployed ("" = the sample server); key "server"
    endpoint_url: str = ""  # the local AgentCore's URL, or AWS_ENDPOINT_URL when one was set
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    completed_at: float = 0.0  # the last deploy that ran every step to the end
    bucket: str = ""  # the deployer-owned artifact bucket
    role: RoleRecord | None = None
    artifact: ArtifactRecord | None = None
    runtime: RuntimeRecord | None = None
    cognito: CognitoRecord | None = None
    publish: PublishRecord | None = None
    secrets: dict[str, str] = field(default_factory=dict)  # NAME -> secret ARN (no value)
    settings: SettingsRecord | None = None  # None: written before settings were recorded

    @property
    def key(self) -> str:
        return record_key(self.target, self.region, self.name, self.account)

    @property
    def app(self) -> str:
        """The former name of `server_spec`, still readable (deprecated)."""
        return self.server_spec

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["server"] = doc.pop("server_spec")
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> DeploymentRecord:
        plain = {
            k: v
            for k, v in doc.items()
            if k in {f.name for f in fields(cls)}
            and k
            not in ("role", "artifact", "runtime", "cognito", "publish", "settings", "server_spec")
        }
        # "app": the key's former name, in state files written before it was renamed.
        plain["server_spec"] = doc.get("server", doc.get("app", ""))
        record = cls(**plain)
        record.role = _build(RoleRecord, doc.get("role"))
        record.artifact = _build(ArtifactRecord, doc.get("artifact"))
        record.runtime = _build(RuntimeRecord, doc.get("runtime"))
        record.cognito = _build(CognitoRecord, doc.get("cognito"))
        record.publish = _build(PublishRecord, doc.get("publish"))
        record.secrets = dict(doc.get("secrets") or {})
        record.settings = _build(SettingsRecord, doc.get("settings"))
        return record


_NESTED: dict[str, type] = {
    "role": RoleRecord,
    "artifact": ArtifactRecord,
    "runtime": RuntimeRecord,
    "cognito": CognitoRecord,
    "publish": PublishRecord,
    "settings": SettingsRecord,
}
_OPTIONAL_INTS = {"idle_timeout", "max_lifetime"}


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _check_fields(cls: type, doc: dict[str, Any], where: str) -> None:
    """Each known field of `doc` has the type of its field in `cls` (a dataclass)."""
    for f in fields(cls):
        key = "server" if f.name == "server_spec" else f.name
        if key not in doc or key in _NESTED:
            continue
        value = doc[key]
        if f.name in _OPTIONAL_INTS:
            ok = value is None or (isinstance(value, int) and not isinstance(value, bool))
            expected = "a whole number or null"
        elif f.default_factory is not MISSING and isinstance(f.default_factory(), dict | list):
            kind = type(f.default_factory())
            ok = isinstance(value, kind) and all(
                isinstance(v, str) for v in (value.values() if isinstance(value, dict) else value)
            )
            expected = "an object of strings" if kind is dict else "a list of strings"
        elif isinstance(f.default, bool):
            ok, expected = isinstance(value, bool), "true or false"
        elif isinstance(f.default, int | float) or f.name.endswith("_at"):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            expected = "a number"
        else:  # str fields and Literal[str] fields, required or not
            ok, expected = isinstance(value, str), "a string"
        if not ok:
            raise ValueError(f"{where}.{key} is {_type_name(value)}, expected {expected}")


def _check_record(key: Any, doc: Any) -> None:
    where = f"deployments[{key!r}]"
    if not isinstance(doc, dict):
        raise ValueError(f"{where} is {_type_name(doc)}, expected an object")
    for name in ("target", "region", "name"):
        if name not in doc:
            raise ValueError(f"{where} has no {name!r}")
    if doc["target"] not in ("local", "aws"):
        raise ValueError(f"{where}.target is {doc['target']!r}, expected 'local' or 'aws'")
    _check_fields(DeploymentRecord, doc, where)
    for name, cls in _NESTED.items():
        nested = doc.get(name)
        if nested is None:
            continue
        if not isinstance(nested, dict):
            raise ValueError(f"{where}.{name} is {_type_name(nested)}, expected an object or null")
        _check_fields(cls, nested, f"{where}.{name}")


def record_key(target: TargetKind, region: str, name: str, account: str = "") -> str:
    if target == "local":
        return f"local/{region}/{name}"
    return f"aws/{account}/{region}/{name}"


@dataclass(slots=True)
class DeploymentState:
    path: Path
    deployments: dict[str, DeploymentRecord] = field(default_factory=dict)

    def get(self, key: str) -> DeploymentRecord | None:
        return self.deployments.get(key)

    def put(self, record: DeploymentRecord) -> None:
        """Record `record` and write the whole file (atomically, 0600)."""
        record.updated_at = time.time()
        self.deployments[record.key] = record
        save_state(self)

    def remove(self, key: str) -> None:
        if self.deployments.pop(key, None) is not None:
            save_state(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "deployments": {k: r.to_json() for k, r in sorted(self.deployments.items())},
        }


def load_state(path: Path | None = None) -> DeploymentState:
    """The state at `path` (default ./deployment_config.json); empty when there is none."""
    path = path or DEFAULT_STATE_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return DeploymentState(path)
    except OSError as exc:
        raise StateError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or not isinstance(doc.get("deployments"), dict):
            raise ValueError("no 'deployments' object")
        if int(doc.get("format", 0)) > FORMAT:
            raise ValueError(f"format {doc['format']} is newer than this agentcore-mcp knows")
        for key, value in doc["deployments"].items():
            _check_record(key, value)
        records = {
            key: DeploymentRecord.from_json(value) for key, value in doc["deployments"].items()
        }
    except (ValueError, TypeError, KeyError) as exc:
        raise StateError(
            f"{path} is not an agentcore-mcp deployer state file ({exc}); pass another "
            "--state, or move it away (the seed's deployment_config.json has another shape)"
        ) from None
    return DeploymentState(path, records)


def save_state(state: DeploymentState) -> None:
    write_atomically(state.path, json.dumps(state.to_json(), indent=2, sort_keys=True) + "\n")


def find_record(
    state: DeploymentState,
    *,
    target: TargetKind | None = None,
    region: str | None = None,
    name: str | None = None,
    account: str | None = None,
) -> DeploymentRecord | None:
    """The record matching every given field; with several, the most recently updated."""
    matches = [
        r
        for r in state.deployments.values()
        if (target is None or r.target == target)
        and (region is None or r.region == region)
        and (name is None or r.name == name)
        and (account is None or not r.account or r.account == account)
    ]
    return max(matches, key=lambda r: r.updated_at, default=None)


def runtime_target(path: Path | None = None, **match: Any) -> Any:
    """A `client.RuntimeTarget` for the recorded runtime (see `find_record`), or None.

    Local records carry the local AgentCore's URL as the data-plane endpoint.
    """
    from agentcore_mcp.client.runtime import RuntimeTarget, invocation_url

    path = path or DEFAULT_STATE_PATH
    if not path.exists():
        return None
    record = find_record(load_state(path), **match)
    if record is None or record.runtime is None:
        return None
    endpoint = record.endpoint_url or None
    cognito = record.cognito
    return RuntimeTarget(
        url=invocation_url(record.runtime.arn, record.region, endpoint=endpoint),
        auth=record.auth,
        arn=record.runtime.arn,
        region=record.region,
        discovery_url=cognito.discovery_url if cognito else None,
        client_id=cognito.client_id if cognito else None,
        user_secret_id=cognito.user_secret_id if cognito else None,
        ssm_parameter=record.publish.arn_parameter if record.publish else None,
    )
