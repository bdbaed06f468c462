"""Does a file's content match the type its name claims? Read from the first bytes (the "magic number") and, for the
office formats that are zip archives, from the archive's own list of parts.

A name is the sender's to choose: a program renamed `bien-ban.pdf` passes every check that reads only the name. This
check refuses that, without any library beyond the standard one: no file may be a program, whatever its name; a file
whose type has a known signature must start with it (a PDF: hold it in its first 1024 bytes); a type of plain text
must hold no NUL byte. It is a safeguard against mistakes and crude tricks, not a virus scanner.
"""

from __future__ import annotations

import zipfile
from typing import IO

__all__ = ["HEAD_SIZE", "content_matches"]

# How much of the start of a file the checks read: enough for every signature below and for a text's first lines.
HEAD_SIZE = 4096

_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)  # the old Office formats (.doc, .xls, .ppt)
_ZIP = (b"PK\x03\x04",)
_JPEG = (b"\xff\xd8\xff",)
_PNG = (b"\x89PNG\r\n\x1a\n",)
_GIF = (b"GIF87a", b"GIF89a")
_TIFF = (b"II*\x00", b"MM\x00*")

SIGNATURES: dict[str, tuple[bytes, ...]] = {
    ".doc": _OLE,
    ".xls": _OLE,
    ".ppt": _OLE,
    ".docx": _ZIP,
    ".xlsx": _ZIP,
    ".pptx": _ZIP,
    ".odt": _ZIP,
    ".ods": _ZIP,
    ".zip": _ZIP,
    ".jpg": _JPEG,
    ".jpeg": _JPEG,
    ".png": _PNG,
    ".gif": _GIF,
    ".tif": _TIFF,
    ".tiff": _TIFF,
    ".bmp": (b"BM",),
}
# The part every archive of an Office Open XML type holds (ECMA-376 part 2): a zip of something else is not a .docx.
OOXML_PARTS = {".docx": "word/", ".xlsx": "xl/", ".pptx": "ppt/"}
TEXT_TYPES = frozenset({".txt", ".csv", ".json", ".xml", ".bpmn", ".dmn", ".html", ".htm", ".md"})
# Programs, whatever they are named: Windows (MZ), Linux (ELF), macOS (Mach-O, both byte orders and the fat form).
PROGRAMS = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe")


def _is_webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def _holds_part(stream: IO[bytes], prefix: str) -> bool:
    try:
        with zipfile.ZipFile(stream) as archive:
            return any(name.startswith(prefix) for name in archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


def content_matches(extension: str, stream: IO[bytes]) -> bool:
    """Whether the content of `stream` (readable and seekable, read from its start) is of the type `extension` (such
    as ".pdf", lower case) claims. The stream is left at its start."""
    extension = extension.lower()
    stream.seek(0)
    head = stream.read(HEAD_SIZE)
    try:
        if head.startswith(PROGRAMS):
            return False
        if extension == ".pdf":
            # Readers take a header anywhere in the first 1024 bytes (ISO 32000-1, annex H.3), after mail or scanner
            # junk; most files start with it.
            return b"%PDF" in head[:1024]
        if extension == ".webp":
            return _is_webp(head)
        signatures = SIGNATURES.get(extension)
        if signatures is not None:
            if not head.startswith(signatures):
                return False
            prefix = OOXML_PARTS.get(extension)
            return prefix is None or _holds_part(stream, prefix)
        if extension in TEXT_TYPES:
            return b"\x00" not in head
        return True
    finally:
        stream.seek(0)
