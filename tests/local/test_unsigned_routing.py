"""What the guard lets through unsigned is exactly what moto, the embedded AWS, will run.

A matrix of request shapes, each classified by `guard.unsigned_operation` and by moto's
own router and response classes (the code the local AgentCore forwards to, called
in-process here): the guard may name an operation only when moto routes the request
to that service and dispatches it to that operation. Each refusal also has an
end-to-end test in test_web_identity.py.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from agentcore_mcp.local.guard import unsigned_operation

FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
COGNITO = {
    "content-type": "application/x-amz-json-1.1",
    "x-amz-target": "AWSCognitoIdentityProviderService.InitiateAuth",
}
WEB_IDENTITY = b"Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=r&WebIdentityToken=t"
JWKS = "/us-east-1_abc/.well-known/jwks.json"

# name: (method, path, query, headers, body, the operation the guard may call it)
CASES: dict[str, tuple[str, str, str, dict[str, str], bytes, str | None]] = {
    "botocore's STS call": ("POST", "/", "", FORM, WEB_IDENTITY, "AssumeRoleWithWebIdentity"),
    "botocore's InitiateAuth": ("POST", "/", "", COGNITO, b"{}", "InitiateAuth"),
    "a JWKS download": ("GET", JWKS, "", {}, b"", "WellKnownDocument"),
    "Action in the query of a GET (S3's ListBuckets)": (
        "GET", "/", "Action=AssumeRoleWithWebIdentity", {}, b"", None,
    ),
    "Action in the query of an empty POST": (
        "POST", "/", "Action=AssumeRoleWithWebIdentity", FORM, b"", None,
    ),
    "a Cognito target with a signed operation in the query": (
        "POST", "/", "Action=AdminCreateUser", COGNITO, b"{}", None,
    ),
    "a Cognito target with a signed operation in a form body": (
        "POST", "/", "", {**COGNITO, **FORM}, b"Action=AdminCreateUser&UserPoolId=p", None,
    ),
    "a Cognito JSON body that also reads as a form naming an operation": (
        "POST",
        "/",
        "",
        COGNITO,
        b'{"ClientId": "c", "UserPoolId": "p", "x": "&Action=AdminCreateUser&y="}',
        None,
    ),
    "a Cognito target with an empty body and an Action header": (
        "POST", "/", "", {**COGNITO, "action": "AdminDeleteUser"}, b"", None,
    ),
    "an STS form with parameters in the query too": (
        "POST", "/", "RoleArn=other", FORM, WEB_IDENTITY, None,
    ),
    "an encoded Action name": (
        "POST", "/", "", FORM, WEB_IDENTITY.replace(b"Action", b"Act%69on"), None,
    ),
    "an encoded Action value": (
        "POST", "/", "", FORM, WEB_IDENTITY.replace(b"AssumeRoleWith", b"AssumeRole%57ith"), None,
    ),
    "Action twice": ("POST", "/", "", FORM, WEB_IDENTITY + b"&Action=AssumeRole", None),
    "a pair without '='": ("POST", "/", "", FORM, WEB_IDENTITY + b"&junk", None),
    "a compressed body": (
        "POST", "/", "", {**FORM, "content-encoding": "gzip"}, WEB_IDENTITY, None,
    ),
    "an STS form on another path": ("POST", "/iam_us-east-1/", "", FORM, WEB_IDENTITY, None),
    "a JWKS path carrying an STS form": ("GET", JWKS, "", FORM, WEB_IDENTITY, None),
    "an identity-pool target with an STS form": (
        "POST",
        "/",
        "",
        {**FORM, "x-amz-target": "AWSCognitoIdentityService.GetId"},
        WEB_IDENTITY,
        None,
    ),
}  # fmt: skip


def _environ(
    method: str, path: str, query: str, headers: dict[str, str], body: bytes
) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": headers.get("content-type", ""),
    }
    for name, value in headers.items():
        if name != "content-type":
            env["HTTP_" + name.upper().replace("-", "_")] = value
    return env


def moto_runs(
    method: str, path: str, query: str, headers: dict[str, str], body: bytes
) -> tuple[str, str | None]:
    """(backend, operation) as moto's server would run this unsigned request."""
    from moto.cognitoidp.responses import CognitoIdpResponse
    from moto.core.request import Request
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from moto.sts.responses import TokenResponse

    env = _environ(method, path, query, headers, body)
    dispatcher = DomainDispatcherApplication(create_backend_app)
    host = dispatcher.infer_service_region_host(env, path)
    backend = str(dispatcher.get_backend_for_host(host) if host else "s3")
    if path.endswith("/.well-known/jwks.json"):
        return backend, "WellKnownDocument" if backend == "cognitoidp" else None
    responses = {"sts": TokenResponse, "cognitoidp": CognitoIdpResponse}
    if backend not in responses:
        return backend, None
    request = Request(env)
    response = responses[backend]()
    url = f"http://127.0.0.1{path}" + (f"?{query}" if query else "")
    response.setup_class(request, url, dict(request.headers))
    return backend, str(response._get_action())


@pytest.mark.parametrize("case", list(CASES))
def test_unsigned_only_in_the_shape_moto_runs_as_that_operation(case: str) -> None:
    method, path, query, headers, body, expected = CASES[case]
    got = unsigned_operation(method, path, query, headers, body)
    assert got == expected
    if got is not None:
        backend, operation = moto_runs(method, path, query, headers, body)
        assert backend == ("sts" if got.startswith("AssumeRole") else "cognitoidp")
        assert operation == got
