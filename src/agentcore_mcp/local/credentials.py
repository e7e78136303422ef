"""The local AgentCore's own credentials: a per-start access key and admin token.

Every start makes a fresh key pair and admin token and writes them to
`<home>/credentials.json` with mode 0600, so only the user who started it (and root)
can read them. The deployer's local target, the CLI's `local status` and the tests use
this file; nothing else needs the user's real AWS credentials to talk to the local
AgentCore. The file is removed on a clean stop, and a new start overwrites it, so a
stolen copy dies with the process that issued it.
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agentcore_mcp.files import write_atomically

CREDENTIALS_FILE = "credentials.json"
# The pair every local AWS emulator accepts (AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test):
# public, so never enough to sign a URL (guard.py), and refused altogether under
# --strict-credentials, which the deployer's own start uses.
WELL_KNOWN_KEY = "test"

# Access key ids look like AWS's (20 upper-case characters) so that every SDK accepts
# them; the ALOC prefix says where one came from when it shows up in a log.
_KEY_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True, slots=True)
class LocalCredentials:
    url: str
    region: str
    account_id: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    admin_token: str = field(repr=False)

    def boto3_kwargs(self) -> dict[str, str]:
        """What `boto3.client(...)` needs to talk to this local AgentCore."""
        return {
            "endpoint_url": self.url,
            "region_name": self.region,
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
        }


def credentials_path(home: Path) -> Path:
    return home / CREDENTIALS_FILE


def new_local_credentials(url: str, region: str, account_id: str) -> LocalCredentials:
    return LocalCredentials(
        url=url,
        region=region,
        account_id=account_id,
        access_key_id="ALOC" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16)),
        secret_access_key=secrets.token_urlsafe(30),
        admin_token=secrets.token_urlsafe(32),
    )


def write_local_credentials(home: Path, creds: LocalCredentials) -> None:
    write_atomically(credentials_path(home), json.dumps(asdict(creds), indent=2) + "\n")


def read_local_credentials(home: Path) -> LocalCredentials | None:
    """The credentials of the local AgentCore started with `home`, or None if none is."""
    try:
        doc = json.loads(credentials_path(home).read_text())
        return LocalCredentials(**{k: str(doc[k]) for k in LocalCredentials.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_local_credentials(home: Path, creds: LocalCredentials) -> None:
    """Remove the file if it is still this start's (a newer start may have replaced it)."""
    current = read_local_credentials(home)
    if current is not None and current.admin_token == creds.admin_token:
        credentials_path(home).unlink(missing_ok=True)
