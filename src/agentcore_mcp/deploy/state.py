"""The deployer's state file: what it made, as ids, ARNs, names, hashes and timestamps.

Never a password, token or key: those live in Secrets Manager, and the state names
them by id. One file holds many deployments; each record is keyed by where it lives,
`local/<region>/<name>` or `aws/<account>/<region>/<name>`, so a local deploy never
overwrites an AWS record. Every write is atomic and 0600 (`files.write_atomically`).

The JSON schema is documented in docs/deployer.md. Readers (the client, the proxy,
`connect`, the companion commands) pick one deployment with `select_record` (or
`runtime_target`): a state file with several deployments and no name to tell them apart
is an error that lists them, never a guess.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urlsplit

from agentcore_mcp import runtime_rules as rules
from agentcore_mcp.asgi import is_loopback_host
from agentcore_mcp.errors import AgentCoreMcpError
from agentcore_mcp.exit_codes import ExitCode
from agentcore_mcp.files import write_atomically

DEFAULT_STATE_PATH = Path("deployment_config.json")
FORMAT = 1

if TYPE_CHECKING:
    from agentcore_mcp.client.runtime import RuntimeTarget

TargetKind = Literal["local", "aws"]


class StateError(AgentCoreMcpError):
    """The state file cannot be read or is not the deployer's; the message says what to do."""


class SelectionError(StateError):
    """No recorded deployment, or several, match what was given; `candidates` lists the
    ones to choose from (the message names them and the flag to pass)."""

    def __init__(self, message: str, candidates: list[DeploymentRecord] | None = None) -> None:
        super().__init__(message)
        self.candidates = list(candidates or [])


class NoDeploymentError(SelectionError):
    """No recorded deployment matches."""


class AmbiguousDeploymentError(SelectionError):
    """Several recorded deployments match: the caller must name one."""

    exit_code = ExitCode.USAGE


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
    # Random, made at the first deploy; every resource made carries it as a tag (ownership.py)
    deployment_id: str = ""
    settings: SettingsRecord | None = None  # None: written before settings were recorded

    @property
    def key(self) -> str:
        return record_key(self.target, self.region, self.name, self.account)

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
        plain["server_spec"] = doc.get("server", "")
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
            "--state, or move it away (the deploy.py scripts' file has another shape)"
        ) from None
    return DeploymentState(path, records)


def save_state(state: DeploymentState) -> None:
    write_atomically(state.path, json.dumps(state.to_json(), indent=2, sort_keys=True) + "\n")


def _matching(
    state: DeploymentState,
    *,
    target: TargetKind | str | None = None,
    region: str | None = None,
    name: str | None = None,
    account: str | None = None,
) -> list[DeploymentRecord]:
    return [
        r
        for r in state.deployments.values()
        if (target is None or r.target == target)
        and (region is None or r.region == region)
        and (name is None or r.name == name)
        and (account is None or not r.account or r.account == account)
    ]


def find_record(
    state: DeploymentState,
    *,
    target: TargetKind | None = None,
    region: str | None = None,
    name: str | None = None,
    account: str | None = None,
) -> DeploymentRecord | None:
    """The record matching every given field; with several, the most recently updated.

    For the deployer's own bookkeeping. Commands that act on a deployment the user
    chose use `select_record`, which refuses to guess.
    """
    matches = _matching(state, target=target, region=region, name=name, account=account)
    return max(matches, key=lambda r: r.updated_at, default=None)


def describe_record(record: DeploymentRecord) -> str:
    """`name (target, region)`: how a deployment is listed to the user."""
    where = f"{record.target}, {record.region}"
    if record.account and record.target == "aws":  # a local AgentCore has one account
        where += f", account {record.account}"
    return f"{record.name} ({where})"


def select_record(
    state: DeploymentState,
    *,
    name: str | None = None,
    target: TargetKind | str | None = None,
    region: str | None = None,
    account: str | None = None,
) -> DeploymentRecord:
    """The one recorded deployment matching every given field.

    No field given and one deployment recorded: that one. Several matching: an
    `AmbiguousDeploymentError` listing them (name, target, region) and saying to pass
    --name (or --target / --region when the names are equal). None matching: a
    `NoDeploymentError` listing what the file does hold.
    """
    matches = _matching(state, target=target, region=region, name=name, account=account)
    if len(matches) == 1:
        return matches[0]
    recorded = sorted(state.deployments.values(), key=lambda r: r.key)
    if not matches:
        wanted = ", ".join(
            f"{label} {value}"
            for label, value in (("name", name), ("target", target), ("region", region))
            if value
        )
        if not recorded:
            raise NoDeploymentError(
                f"{state.path} records no deployment: deploy first (`agentcore-mcp deploy`), "
                "pass another --state, or name the runtime with --arn / --url"
            )
        listing = "; ".join(describe_record(r) for r in recorded)
        raise NoDeploymentError(
            f"no deployment with {wanted} in {state.path}; it records: {listing}. "
            "Pass one of these with --name (and --target / --region), or deploy it first "
            "(`agentcore-mcp deploy`)",
            recorded,
        )
    matches.sort(key=lambda r: r.key)
    listing = "; ".join(describe_record(r) for r in matches)
    names = {r.name for r in matches}
    if len(names) == len(matches):
        how = "Pass --name NAME to pick one"
    else:
        how = "Pass --name and --target / --region to pick one"
    raise AmbiguousDeploymentError(
        f"{state.path} records {len(matches)} deployments: {listing}. {how}", matches
    )


def runtime_target(path: Path | None = None, **match: Any) -> RuntimeTarget | None:
    """A `client.RuntimeTarget` for the deployment `select_record` picks (`match`: name,
    target, region, account), or None when there is no state file.

    Raises `SelectionError` when the file holds no matching deployment or several, and
    `StateError` when the picked one has no runtime yet. Local records carry the local
    AgentCore's URL as the data-plane endpoint.
    """
    from agentcore_mcp.client.runtime import RuntimeTarget, invocation_url

    path = path or DEFAULT_STATE_PATH
    if not path.exists():
        return None
    record = select_record(load_state(path), **match)
    if record.runtime is None:
        raise StateError(
            f"the deployment {describe_record(record)} in {path} has no runtime yet: run "
            "`agentcore-mcp deploy` to finish it"
        )
    validate_record(record, path)
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


# --- validation: every reader checks a record before using a field of it ---------------------
# A state file is plain JSON anyone can edit (or hand over): an id of another resource, a `..`
# that climbs out of a directory, or an endpoint_url that sends signed requests or tokens
# elsewhere must be refused before a single call or path is built from it.

_REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_ACCOUNT_RE = re.compile(r"\d{12}")
_RUNTIME_ID_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9_]{0,99}-[a-zA-Z0-9]{10}")
_DEPLOYMENT_ID_RE = re.compile(r"[0-9a-f]{32}")
_ROLE_NAME_RE = re.compile(r"[\w+=,.@-]{1,64}")
_POLICY_NAME_RE = re.compile(r"[\w+=,.@-]{1,128}")
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_OBJECT_KEY_RE = re.compile(r"[A-Za-z0-9_]+/[0-9a-f]{64}\.zip")
_REPOSITORY_RE = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")
_POOL_ID_RE = re.compile(r"(?P<region>[a-z]{2}(-[a-z]+)+-\d{1,2})_[0-9a-zA-Z]+")
_CLIENT_ID_RE = re.compile(r"[\w+]{1,128}")
_SECRET_NAME_RE = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
_PARAMETER_RE = re.compile(r"(/[A-Za-z0-9_.-]+)+")
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")


def _bad(path: Path, field_name: str, value: Any, want: str) -> StateError:
    shown = repr(value) if len(repr(value)) <= 120 else repr(value)[:117] + "..."
    return StateError(
        f"{path}: field {field_name} = {shown} is not {want}; the file was edited or is not "
        "this deployer's: restore it, or remove that deployment from it and deploy again"
    )


def _check(path: Path, field_name: str, value: Any, pattern: re.Pattern[str], want: str) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value) or ".." in value:
        raise _bad(path, field_name, value, want)


def _arn_prefix(service: str, region: str, account: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:"


def _check_endpoint(record: DeploymentRecord, path: Path, local_url: str | None) -> None:
    url = record.endpoint_url
    if not isinstance(url, str):
        raise _bad(path, "endpoint_url", url, "a URL")
    parts = urlsplit(url)
    if record.target == "local":
        # The local AgentCore's URL: its home's credentials.json says which, when known.
        loopback = (
            parts.scheme == "http" and is_loopback_host(parts.hostname or "") and not parts.path
        )
        if not loopback or (local_url is not None and url.rstrip("/") != local_url.rstrip("/")):
            want = f"the local AgentCore's URL ({local_url})" if local_url else "a loopback URL"
            raise _bad(path, "endpoint_url", url, want)
        return
    if not url:
        return
    env = os.environ.get("AWS_ENDPOINT_URL", "").strip()
    if env and url.rstrip("/") == env.rstrip("/"):
        return  # the endpoint the user set for this run, as the deploy recorded it
    host = parts.hostname or ""
    if parts.scheme != "https" or not (
        host.endswith((".amazonaws.com", ".amazonaws.com.cn")) and record.region in host
    ):
        raise _bad(
            path,
            "endpoint_url",
            url,
            f"an AWS endpoint of {record.region} (or the AWS_ENDPOINT_URL set now)",
        )


def validate_record(
    record: DeploymentRecord, path: Path | None = None, *, local_url: str | None = None
) -> DeploymentRecord:
    """`record` when every field has the shape AWS gives it, else StateError naming the field
    and the file. `local_url`: the running local AgentCore's URL, when the caller knows it."""
    path = path or DEFAULT_STATE_PATH
    if record.target not in ("local", "aws"):
        raise _bad(path, "target", record.target, "local or aws")
    _check(path, "region", record.region, _REGION_RE, "an AWS region")
    _check(path, "name", record.name, rules.pattern("AgentRuntimeName"), "a runtime name")
    if record.account or record.target == "aws":
        _check(path, "account", record.account, _ACCOUNT_RE, "a 12-digit account id")
    if record.deployment_id:
        _check(path, "deployment_id", record.deployment_id, _DEPLOYMENT_ID_RE, "32 hex digits")
    if record.auth not in ("sigv4", "oauth"):
        raise _bad(path, "auth", record.auth, "sigv4 or oauth")
    _check_endpoint(record, path, local_url)
    region, account = record.region, record.account
    if record.runtime is not None:
        rt = record.runtime
        _check(path, "runtime.id", rt.id, _RUNTIME_ID_RE, "a runtime id (NAME-xxxxxxxxxx)")
        if not rt.id.startswith(record.name + "-"):
            raise _bad(path, "runtime.id", rt.id, f"the id of a runtime named {record.name}")
        want = _arn_prefix("bedrock-agentcore", region, account) + f"runtime/{rt.id}"
        if rt.arn != want:
            raise _bad(path, "runtime.arn", rt.arn, f"{want} (this record's runtime)")
        if rt.name != record.name:
            raise _bad(path, "runtime.name", rt.name, record.name)
    if record.role is not None:
        _check(path, "role.name", record.role.name, _ROLE_NAME_RE, "an IAM role name")
        want = f"arn:aws:iam::{account}:role/{record.role.name}"
        if record.role.arn != want:
            raise _bad(path, "role.arn", record.role.arn, want)
        if record.role.policy_name:
            _check(path, "role.policy_name", record.role.policy_name, _POLICY_NAME_RE, "a name")
    if record.bucket:
        _check(path, "bucket", record.bucket, _BUCKET_RE, "an S3 bucket name")
    if record.artifact is not None:
        art = record.artifact
        if art.kind not in ("zip", "container"):
            raise _bad(path, "artifact.kind", art.kind, "zip or container")
        if art.bucket:
            _check(path, "artifact.bucket", art.bucket, _BUCKET_RE, "an S3 bucket name")
        if art.key:
            _check(path, "artifact.key", art.key, _OBJECT_KEY_RE, "NAME/<sha256>.zip")
        if art.repository:
            _check(path, "artifact.repository", art.repository, _REPOSITORY_RE, "an ECR name")
    if record.cognito is not None:
        cog = record.cognito
        _check(path, "cognito.pool_id", cog.pool_id, _POOL_ID_RE, f"a pool id {region}_...")
        if not cog.pool_id.startswith(region + "_"):
            raise _bad(path, "cognito.pool_id", cog.pool_id, f"a pool of {region}")
        if cog.client_id:
            _check(path, "cognito.client_id", cog.client_id, _CLIENT_ID_RE, "an app client id")
        want = f"https://cognito-idp.{region}.amazonaws.com/{cog.pool_id}/.well-known/openid-configuration"
        if cog.discovery_url and cog.discovery_url != want:
            raise _bad(path, "cognito.discovery_url", cog.discovery_url, want)
        if cog.user_secret_id:
            _check_secret(path, "cognito.user_secret_id", cog.user_secret_id, record)
    if record.publish is not None:
        pub = record.publish
        _check(path, "publish.parameter", pub.parameter, _PARAMETER_RE, "an SSM parameter name")
        if pub.arn_parameter:
            _check(path, "publish.arn_parameter", pub.arn_parameter, _PARAMETER_RE, "a name")
        if pub.credentials_secret_id:
            _check_secret(path, "publish.credentials_secret_id", pub.credentials_secret_id, record)
    if not isinstance(record.secrets, dict):
        raise _bad(path, "secrets", record.secrets, "a map of NAME to secret ARN")
    for var, arn in record.secrets.items():
        _check(path, "secrets", var, _ENV_NAME_RE, "an environment variable name")
        _check_secret(path, f"secrets.{var}", arn, record)
    return record


def _check_secret(path: Path, field_name: str, value: Any, record: DeploymentRecord) -> None:
    """A secret of this deployment: agentcore-mcp/NAME/... by name or by this region's ARN."""
    prefix = _arn_prefix("secretsmanager", record.region, record.account) + "secret:"
    name = value[len(prefix) :] if isinstance(value, str) and value.startswith(prefix) else value
    _check(path, field_name, name, _SECRET_NAME_RE, "a Secrets Manager secret of this region")
    if not name.startswith(f"agentcore-mcp/{record.name}/"):
        raise _bad(path, field_name, value, f"a secret under agentcore-mcp/{record.name}/")
