"""Which bedrock-agentcore-control operation a request is, read from botocore's model.

As moto routes its services (`_get_action_from_method_and_request_uri`): every operation
of the model has an HTTP method and a `requestUri` template such as
`/runtimes/{agentRuntimeId}/runtime-endpoints/{endpointName}/`; a request is the
operation whose method and template match it. So the paths the control plane answers
are exactly the ones botocore (and every AWS SDK built from the same model) sends, with
nothing written out by hand here but the list of operations it implements.

Matching is by path segment: a `{label}` takes one whole segment, percent-decoded (a
runtime ARN in `/tags/{resourceArn}` arrives with its slashes encoded), and empty
segments are ignored. A path no template matches is a 404 `UnknownOperationException`;
a path some template matches under another method is a 405 naming the methods it takes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from agentcore_mcp.local.control.errors import UnknownOperationError
from agentcore_mcp.runtime_rules import SERVICE, service_model

__all__ = ["Route", "match_route", "routes_for"]


@dataclass(frozen=True)
class Route:
    """One operation's method and path template, split into segments."""

    operation: str
    method: str
    request_uri: str
    # One entry per path segment: the literal text, or None where a label is.
    segments: tuple[str | None, ...]
    labels: tuple[str, ...]  # the labels' names, in path order

    def params(self, segments: list[str]) -> dict[str, str] | None:
        """The labels' values if `segments` (raw, still percent-encoded) fit this template."""
        if len(segments) != len(self.segments):
            return None
        values: list[str] = []
        for want, got in zip(self.segments, segments, strict=True):
            if want is None:
                values.append(unquote(got))
            elif want != got:
                return None
        return dict(zip(self.labels, values, strict=True))


@functools.cache
def routes_for(operations: frozenset[str]) -> tuple[Route, ...]:
    """The routes of these operations, from botocore's bedrock-agentcore-control model.

    Raises ValueError for an operation the model lacks, or whose template this matcher
    cannot read (a greedy `{label+}` or a literal query), so that a botocore release that
    moves an operation fails at start, not on the request.
    """
    model = service_model(SERVICE)
    routes = []
    for name in sorted(operations):
        if name not in model.operation_names:
            raise ValueError(f"botocore's {SERVICE} model has no operation {name}")
        http = model.operation_model(name).http
        routes.append(_route(name, str(http["method"]).upper(), str(http["requestUri"])))
    return tuple(routes)


def _route(operation: str, method: str, request_uri: str) -> Route:
    if "?" in request_uri:
        raise ValueError(f"{operation}: a requestUri with a query ({request_uri}) is not routed")
    segments: list[str | None] = []
    labels: list[str] = []
    for part in _segments(request_uri):
        if part.startswith("{") and part.endswith("}"):
            label = part[1:-1]
            if label.endswith("+"):
                raise ValueError(f"{operation}: a greedy label ({request_uri}) is not routed")
            segments.append(None)
            labels.append(label)
        else:
            segments.append(part)
    return Route(operation, method, request_uri, tuple(segments), tuple(labels))


def _segments(path: str) -> list[str]:
    return [part for part in path.split("?", 1)[0].split("/") if part]


def match_route(
    routes: Iterable[Route], method: str, raw_path: str
) -> tuple[Route, Mapping[str, str]]:
    """The route `method raw_path` is, with its labels' values; UnknownOperationError (404
    or 405) when there is none."""
    segments = _segments(raw_path)
    allowed: list[str] = []
    for route in routes:
        params = route.params(segments)
        if params is None:
            continue
        if route.method == method.upper():
            return route, params
        allowed.append(route.method)
    shown = raw_path.split("?", 1)[0]
    if not allowed:
        raise UnknownOperationError(
            f"No bedrock-agentcore-control operation at {unquote(shown)}.", status=404
        )
    raise UnknownOperationError(
        f"{method.upper()} is not supported on {unquote(shown)}; use {', '.join(sorted(allowed))}.",
        status=405,
    )
