"""Exit codes shared by every command and the server's entry points, so scripts can tell
failures apart. Standard library only: the lean server entry imports it too."""

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    OK = 0
    TOOL_ERROR = 1  # the call completed and the tool reported isError: true
    USAGE = 2  # bad flags or arguments (typer's own code for usage errors)
    PROTOCOL_ERROR = 3  # JSON-RPC error, unexpected HTTP status, unparsable reply
    CONNECTION_ERROR = 4  # nothing answered at the URL, or the connection broke
    AUTH_ERROR = 5  # 401 or 403
    CONFIG_ERROR = 6  # a setting, server spec or state field that cannot be used; deploy: a
    # resource with the deployer's name that this deployment did not make (--adopt)
    DEPLOY_FAILED = 7  # deploy/destroy: an AWS step failed (AWS error, bucket of another account)
    RUNTIME_FAILED = 8  # deploy: the runtime reached *_FAILED or failed the smoke test
