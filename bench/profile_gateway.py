"""Where the local AgentCore's per-call time goes: cProfile of its process under calls.

    uv run python bench/profile_gateway.py [--requests 2000] [--top 40]

Starts `agentcore-mcp local start` under `python -m cProfile`, deploys the sample server
from a code zip, makes REQUESTS sequential SigV4-signed `tools/call echo` calls on one
session and one keep-alive connection, stops it (SIGTERM, so the profile is written) and
prints the functions with the most cumulative and own time. cProfile slows Python code
about 2x, so read the shares, not the absolute figures. Every loop is bounded.
"""

from __future__ import annotations

import argparse
import cProfile  # noqa: F401  (the profiler the child runs)
import io
import pstats
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import httpx2
from _harness import PYTHON, add_repo_to_path, log
from load import ERA_2025, mcp_request

SESSION_ID = "bench-profile-session-000000000000000000001"


def run(requests: int, top: int, tmp: Path) -> str:
    add_repo_to_path()
    from botocore.credentials import ReadOnlyCredentials

    from agentcore_mcp.auth import SigV4Signer
    from tests.support.local import CREDS, REGION, LocalAgentCoreHandle
    from tests.support.procs import free_port, run_process

    port = free_port()
    prof = tmp / "local.prof"
    argv = [
        PYTHON,
        "-m",
        "cProfile",
        "-o",
        str(prof),
        "-m",
        "agentcore_mcp",
        "local",
        "start",
        "--port",
        str(port),
        "--home",
        str(tmp / "home"),
        "--rate-limit",
        "0",
    ]
    env = {**CREDS, "AWS_REGION": REGION}
    signer = SigV4Signer(
        ReadOnlyCredentials(CREDS["AWS_ACCESS_KEY_ID"], CREDS["AWS_SECRET_ACCESS_KEY"], None),
        REGION,
    )
    with run_process(argv, port=port, tmp_path=tmp, env=env, name="local", ready_timeout=90) as p:
        handle = LocalAgentCoreHandle(process=p, home=tmp / "home", url=p.base_url)
        handle.provision()
        runtime = handle.create_runtime("bench_profile")
        url = (
            f"{handle.url}/runtimes/{quote(runtime['agentRuntimeArn'], safe='')}"
            "/invocations?qualifier=DEFAULT"
        )
        base = mcp_request(url, "tools/call", ERA_2025)
        log(f"{requests} calls")
        with httpx2.Client(timeout=60) as client:
            for _ in range(requests):
                request = client.build_request(
                    "POST",
                    url,
                    content=base.body,
                    headers={
                        **dict(base.headers),
                        "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": SESSION_ID,
                    },
                )
                signer.sign_in_place(request)
                response = client.send(request)
                if response.status_code != 200:
                    raise RuntimeError(response.text[:300])
    out = io.StringIO()
    stats = pstats.Stats(str(prof), stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        print(run(max(1, min(args.requests, 20_000)), max(5, min(args.top, 200)), Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
