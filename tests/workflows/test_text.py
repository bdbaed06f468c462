"""Text as stored and as compared: names a person reads as the same compare equal, whatever their marks or spacing."""

from __future__ import annotations

import unicodedata

import pytest

from workflows.text import comparable, slug, storable


def test_unstorable_characters_go_and_tabs_and_newlines_stay() -> None:
    assert storable("a\x00b\x07\tc\n") == "ab\tc\n"


@pytest.mark.parametrize(
    "variant",
    [
        "Xã An Phú",
        "xã  an phú",
        "  XÃ AN PHÚ ",
        "Xa An Phu",
        "xã\u00a0an\tphú",
        unicodedata.normalize("NFD", "Xã An Phú"),
        "Xã\x00 An Phú",
    ],
)
def test_case_marks_composition_and_spacing_are_ignored(variant: str) -> None:
    assert comparable(variant) == comparable("Xã An Phú") == "xa an phu"


def test_d_with_stroke_compares_as_d_and_different_names_stay_different() -> None:
    assert comparable("Đảng ủy xã") == comparable("dang uy xa")
    assert comparable("Xã An Phú") != comparable("Xã An Phước")
    assert comparable("Xã An Phú") != comparable("Xã AnPhú")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Chủ tịch UBND cấp xã không là người địa phương", "chu-tich-ubnd-cap-xa-khong-la-nguoi-dia-phuong"),
        ("Cán bộ chủ chốt dưới 42 tuổi", "can-bo-chu-chot-duoi-42-tuoi"),
        ("  Đảng ủy — (xã) ", "dang-uy-xa"),
    ],
)
def test_a_slug_is_the_text_unmarked_and_hyphenated(text: str, expected: str) -> None:
    assert slug(text) == expected
