"""Printing helpers shared by commands: rich for people, plain JSON for scripts."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

# soft_wrap: a long line (a path, an ARN, a command to copy) stays one line whatever the
# terminal's width, so it can be pasted and grepped; tables still fit the width.
stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def print_json(data: Any) -> None:
    """JSON on stdout, unstyled, one document, so `| jq` always works."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def debug_sink(line: str) -> None:
    stderr.print(line, markup=False, highlight=False, style="dim")
