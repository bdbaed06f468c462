"""Text as it can be stored: PostgreSQL cannot store NUL in text, no driver can encode a lone UTF-16 surrogate, and
the other C0 control characters are never meant in what a person types."""

from __future__ import annotations

import re

# C0 controls except tab, LF and CR; DEL; lone UTF-16 surrogates.
UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def storable(text: str) -> str:
    """`text` without the characters that cannot or should not be stored (tab, CR and LF stay)."""
    return UNSTORABLE.sub("", text)
