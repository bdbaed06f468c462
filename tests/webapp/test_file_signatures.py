"""A file's content against the type its name claims (webapp/tasks/file_signatures.py)."""

from __future__ import annotations

import io
import zipfile

import pytest

from webapp.tasks.file_signatures import content_matches

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 32


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


DOCX = _zip("[Content_Types].xml", "word/document.xml")
XLSX = _zip("[Content_Types].xml", "xl/workbook.xml")


@pytest.mark.parametrize(
    ("extension", "content"),
    [
        (".pdf", PDF),
        (".pdf", b"\r\n" * 20 + PDF),  # a header after some junk, as readers accept it
        (".png", PNG),
        (".jpg", JPEG),
        (".JPEG", JPEG),
        (".doc", OLE),
        (".xls", OLE),
        (".docx", DOCX),
        (".xlsx", XLSX),
        (".gif", b"GIF89a\x01\x00"),
        (".webp", b"RIFF\x24\x00\x00\x00WEBPVP8 "),
        (".csv", "Mã cán bộ;Họ tên\nCB0001;Lò Thị Én\n".encode()),
        (".heic", b"\x00\x00\x00\x18ftypheic"),  # no signature listed: anything but a program
    ],
)
def test_a_file_of_the_type_its_name_says_matches(extension: str, content: bytes) -> None:
    assert content_matches(extension, io.BytesIO(content))


@pytest.mark.parametrize(
    ("extension", "content"),
    [
        (".pdf", EXE),  # the reviewer's fake.pdf
        (".png", EXE),
        (".heic", EXE),
        (".pdf", b"\x7fELF\x02\x01\x01" + b"%PDF-1.4"),
        (".pdf", PNG),
        (".jpg", PNG),
        (".png", b"\x89PNG b"),  # a signature cut short
        (".docx", XLSX),  # a spreadsheet renamed: a zip, but of another kind
        (".docx", _zip("virus.exe")),
        (".docx", b"PK\x03\x04 not really a zip"),
        (".xlsx", PDF),
        (".doc", DOCX),
        (".csv", b"a,b\x00\x00c"),
        (".pdf", b""),
    ],
)
def test_a_file_whose_content_is_another_type_does_not(extension: str, content: bytes) -> None:
    assert not content_matches(extension, io.BytesIO(content))


def test_the_stream_is_left_at_its_start_for_whoever_stores_it() -> None:
    stream = io.BytesIO(DOCX)
    stream.seek(7)
    assert content_matches(".docx", stream)
    assert stream.tell() == 0 and stream.read() == DOCX
