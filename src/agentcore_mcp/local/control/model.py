"""The control plane's rules, read from botocore's `bedrock-agentcore-control` model.

Patterns, enums and length limits come from the same service model boto3 is built from,
so a botocore upgrade that changes a rule changes ours with it; only what the model does
not carry (lifecycle ranges, the header allowlist rules, the reserved port) is written by
hand in `validation.py` and `headers.py`.
"""

from __future__ import annotations

import functools
import re
from typing import Any

SERVICE = "bedrock-agentcore-control"


@functools.cache
def _model() -> Any:
    return service_model(SERVICE)


def service_model(service: str) -> Any:
    """botocore's model of `service`, read straight from botocore's data files: a session
    would read the user's AWS config first, and a broken AWS_PROFILE must not stop the
    local AgentCore (or a command that only validates names)."""
    from botocore.loaders import create_loader
    from botocore.model import ServiceModel

    return ServiceModel(create_loader().load_service_model(service, "service-2"), service)


def pattern(shape: str) -> re.Pattern[str]:
    """The shape's `pattern`, compiled for `fullmatch` (the model's patterns are whole-value)."""
    found = _model().shape_for(shape).metadata.get("pattern")
    if not isinstance(found, str):
        raise LookupError(f"{SERVICE} shape {shape} has no pattern")
    return re.compile(found)


def enum(shape: str) -> tuple[str, ...]:
    """The shape's allowed values, in the model's order."""
    values = _model().shape_for(shape).enum
    if not values:
        raise LookupError(f"{SERVICE} shape {shape} has no enum")
    return tuple(str(v) for v in values)


def length(shape: str) -> tuple[int | None, int | None]:
    """The shape's (min, max) length or count, as the model declares them."""
    meta = _model().shape_for(shape).metadata
    low, high = meta.get("min"), meta.get("max")
    return (int(low) if low is not None else None, int(high) if high is not None else None)
