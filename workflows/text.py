"""Text as it can be stored: PostgreSQL cannot store NUL in text, no driver can encode a lone UTF-16 surrogate, and
the other C0 control characters are never meant in what a person types; and text as names are compared."""

from __future__ import annotations

import re
import unicodedata

# C0 controls except tab, LF and CR; DEL; lone UTF-16 surrogates.
UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def storable(text: str) -> str:
    """`text` without the characters that cannot or should not be stored (tab, CR and LF stay)."""
    return UNSTORABLE.sub("", text)


# "đ" has no decomposition (it is not "d" plus a mark), so taking the marks off leaves it: it is mapped by hand.
_UNMARKED_LETTERS = str.maketrans({"đ": "d", "Đ": "d"})


def as_typed(text: str) -> str:
    """A name or code as a person typed it into a search: composed as names are stored (NFC), spaces collapsed."""
    return unicodedata.normalize("NFC", " ".join(text.split()))


def comparable(text: str) -> str:
    """`text` as names are compared by a person reading them: case, Vietnamese tone and vowel marks, the way the
    text was composed (NFC or NFD), surrounding and repeated whitespace all ignored ("Xã  An Phú" ~ "xa an phu")."""
    decomposed = unicodedata.normalize("NFKD", storable(text).translate(_UNMARKED_LETTERS))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().split())


def _folding_table() -> tuple[str, str]:
    """Every lowercase Latin letter with marks (Vietnamese ones among them) and the bare letter it folds to."""
    marked, bare = [], []
    for code in [*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)]:
        char = chr(code)
        if char != char.lower():
            continue
        folded = comparable(char)
        if len(folded) == 1 and folded.isascii() and folded.isalpha() and folded != char:
            marked.append(char)
            bare.append(folded)
    return "".join(marked), "".join(bare)


# For SQL `translate(lower(name), FOLD_FROM, FOLD_TO)`: `comparable` in the database, where a search filters rows
# (SQLite gets a `translate` of its own, workflows/db.py). Names are stored composed (NFC), so each letter is one.
FOLD_FROM, FOLD_TO = _folding_table()


def slug(text: str) -> str:
    """`text` as a file name part: unmarked lowercase letters and digits joined by hyphens
    ("Chủ tịch UBND cấp xã" → "chu-tich-ubnd-cap-xa")."""
    return re.sub(r"[^a-z0-9]+", "-", comparable(text)).strip("-")
