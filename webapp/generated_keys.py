"""Keys a development or demo install makes for itself in the instance folder when none is configured (the audit
anchors' key, the export signing key; decisions 0022, 0077)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def generated_once(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's content, writing `make()` into it first if it does not exist yet (mode 0600). Written whole under
    another name and linked into place, which fails if the file appeared meanwhile: processes starting together (the
    web workers, the worker) end up with the same key, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file():
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
            handle.write(make())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_bytes()
