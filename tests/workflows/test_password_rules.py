"""`rules.passwords`: which passwords a person may choose, and why a refused one is refused."""

from __future__ import annotations

import pytest

from workflows.rules.passwords import (
    COMMON_PASSWORDS,
    HOLDS_USERNAME,
    MIN_PASSWORD_LENGTH,
    ONE_CHARACTER,
    TOO_COMMON,
    TOO_SHORT,
    password_problems,
)

BRIEFED_COMMON = [
    "password",
    "12345678",
    "123456789",
    "1234567890",
    "qwerty123",
    "matkhau",
    "matkhau123",
    "abc12345",
    "11111111",
    "00000000",
    "iloveyou",
    "admin123",
    "password1",
    "12341234",
    "87654321",
    "demo1234",
]


@pytest.mark.parametrize(
    ("password", "username", "refused_for"),
    [
        ("a-longer-secret", "officer1", []),
        ("Sông Hồng chảy về", "officer1", []),  # Vietnamese letters and spaces are fine
        ("short", "officer1", [TOO_SHORT]),
        ("", "officer1", [TOO_SHORT]),
        ("aaaaaaaaaaaa", "officer1", [ONE_CHARACTER]),
        ("############", "officer1", [ONE_CHARACTER]),
        ("11111111", "officer1", [ONE_CHARACTER]),  # on the common list too: one reason is enough
        ("aaaa", "officer1", [TOO_SHORT, ONE_CHARACTER]),
        ("password", "officer1", [TOO_COMMON]),
        ("PassWord1", "officer1", [TOO_COMMON]),  # case does not make it another password
        ("matkhau", "officer1", [TOO_SHORT, TOO_COMMON]),
        ("officer1", "officer1", [HOLDS_USERNAME]),
        ("OFFICER1", "officer1", [HOLDS_USERNAME]),
        ("officer1-2026", "officer1", [HOLDS_USERNAME]),
        ("my.Officer1!", "Officer1", [HOLDS_USERNAME]),
        ("ab-long-password", "ab", []),  # a name this short is refused only whole
        ("abcdefgh", "abcdefgh", [HOLDS_USERNAME]),
        ("demo1234", "demo", [TOO_COMMON, HOLDS_USERNAME]),
        ("a-longer-secret", "", []),
    ],
)
def test_each_reason_a_password_is_refused(password: str, username: str, refused_for: list[str]) -> None:
    problems = password_problems(password, username, field="new_password")
    assert [p.message for p in problems] == refused_for
    assert all(p.field == "new_password" for p in problems)


def test_the_length_refusal_says_the_minimum() -> None:
    (problem,) = password_problems("short", "officer1")
    assert problem.explained == f"the new password needs at least {MIN_PASSWORD_LENGTH} characters"


@pytest.mark.parametrize("password", BRIEFED_COMMON)
def test_the_most_common_passwords_are_refused(password: str) -> None:
    assert password in COMMON_PASSWORDS
    assert password_problems(password, "someone")
    assert password_problems(password.upper(), "someone")


def test_the_common_list_is_folded_as_the_check_folds_what_is_typed() -> None:
    assert all(common == common.casefold() for common in COMMON_PASSWORDS)


def test_a_temporary_password_is_drawn_again_when_it_holds_the_username(monkeypatch: pytest.MonkeyPatch) -> None:
    """The administrator's temporary passwords follow the same rules (`accounts.temporary_password`)."""
    from workflows.registry import accounts

    draws = iter("xabcxxxxxxxx" + "yyyyyyyyyyyz")
    monkeypatch.setattr(accounts.secrets, "choice", lambda _alphabet: next(draws))
    assert accounts.temporary_password("abc") == "yyyyyyyyyyyz"
    monkeypatch.undo()
    assert not password_problems(accounts.temporary_password("officer1"), "officer1")
