"""`proxy --debug` shows the exchange with the runtime and no secret: MCP clients keep the
proxy's stderr in log files, so the Cognito password, the tokens and the SigV4
Authorization value must never reach it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.client._runtimes import PASSWORD, Deployed
from tests.proxy._stdio import raw_proxy
from tests.proxy.test_proxy_stdio import oauth_args
from tests.support.local import CREDS

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")


@pytest.mark.parametrize("auth", ["sigv4", "oauth"])
def test_debug_logs_the_exchange_without_secrets(
    deployed: Deployed, tmp_path: Path, auth: str
) -> None:
    args = ("--arn", deployed.sigv4_arn) if auth == "sigv4" else oauth_args(deployed)
    errlog = tmp_path / "err"
    with raw_proxy(deployed.env(), errlog, *args, "--debug") as proxy:
        answer = proxy.request(1, "tools/call", {"name": "echo", "arguments": {"text": "seen"}})
        assert "result" in answer, answer
    log = errlog.read_text()
    # The exchange is there: request line, headers, body; status and headers back.
    assert "> POST " in log and "/invocations?qualifier=DEFAULT" in log, log
    assert '"method": "tools/call"' in log and '"seen"' in log, log
    assert "< 200" in log, log
    assert "tools/call -> HTTP 200" in log, log
    scheme = "AWS4-HMAC-SHA256" if auth == "sigv4" else "Bearer"
    assert f"authorization: {scheme} <redacted>" in log, log
    # And no secret: not the password, no token, no signature, no key.
    assert PASSWORD not in log
    assert not JWT.search(log), JWT.search(log)
    assert "Signature=" not in log and "Credential=" not in log
    assert CREDS["AWS_SECRET_ACCESS_KEY"] not in log
    assert CREDS["AWS_ACCESS_KEY_ID"] not in log
    assert "RefreshToken" not in log and "refresh_token" not in log.lower()
    # botocore's own debug logger stayed off (it is what printed all of the above).
    assert "botocore" not in log, log
