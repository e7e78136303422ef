"""What a zip is made from (`ZipInputs`), and the hashes that say whether it changed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BUILD_FORMAT = "2"  # 2: dependencies compiled to bytecode in the cache

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ZipInputs:
    server_spec: str | None
    platform: str
    python_version: str
    requirements: tuple[str, ...]
    sources: tuple[tuple[str, Path], ...]  # (arcname, file) sorted by arcname
    entry_point: str
    manifest: bool
    excluded: tuple[str, ...] = ()  # files of the user's package never shipped (dotfiles...)
    # The interpreter (of `python_version`) compiling the zip's modules; None: no bytecode.
    compile_with: str | None = None

    @property
    def deps_key(self) -> str:
        doc = json.dumps(
            [
                BUILD_FORMAT,
                self.platform,
                self.python_version,
                self.requirements,
                self.compile_with is not None,
            ]
        )
        return hashlib.sha256(doc.encode()).hexdigest()[:32]

    def input_hash(self) -> str:
        """A hash of everything the zip is made from, computed without building it."""
        digest = hashlib.sha256()
        head = f"{BUILD_FORMAT}\n{self.deps_key}\n{self.server_spec}\n{self.manifest}\n"
        digest.update(head.encode())
        digest.update(self.entry_point.encode())
        for arcname, path in self.sources:
            digest.update(arcname.encode() + b"\0")
            digest.update(f"{path.stat().st_mode & 0o777}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()
