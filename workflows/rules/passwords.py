"""Which passwords a person may choose (decision 0134).

A pure function of the password and the username: nothing reads the database, nothing is downloaded. Length alone let
"12345678", "password" and the username itself through, the first things tried against a sign-in form; these are
refused, each with its own reason. The list is short on purpose: the passwords tried first, in English and in
Vietnamese, not a dictionary a person would have to guess around.
"""

from __future__ import annotations

from workflows.errors import N_, Problem

MIN_PASSWORD_LENGTH = 8
# Shorter names are parts of too many words to refuse every password holding them: those are refused only whole.
USERNAME_PART_MIN_LENGTH = 3

COMMON_PASSWORDS = frozenset(
    {
        "password",
        "password1",
        "password123",
        "passw0rd",
        "12345678",
        "123456789",
        "1234567890",
        "12341234",
        "87654321",
        "11111111",
        "00000000",
        "qwerty123",
        "qwertyuiop",
        "abc12345",
        "abcd1234",
        "iloveyou",
        "admin123",
        "administrator",
        "matkhau",
        "matkhau123",
        "matkhau@123",
        "demo1234",
        "welcome1",
        "123456a@",
        "a1234567",
        "12345678a",
    }
)

TOO_SHORT = N_("the new password needs at least %(count)d characters")
ONE_CHARACTER = N_("the new password may not be one character repeated")
HOLDS_USERNAME = N_("the new password may not be or contain your username")
TOO_COMMON = N_("the new password is one of the most common passwords, tried first by anyone guessing; choose another")


def password_problems(password: str, username: str, *, field: str | None = None) -> list[Problem]:
    """Why `password` may not be chosen by the account `username` (empty: it may). Compared without regard to case:
    "Officer1!" holds the username officer1, "PASSWORD" is "password"."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(Problem(TOO_SHORT, field=field, message_args={"count": MIN_PASSWORD_LENGTH}))
    folded = password.casefold()
    name = username.strip().casefold()
    if len(set(password)) == 1:
        problems.append(Problem(ONE_CHARACTER, field=field))
    elif folded in COMMON_PASSWORDS:
        problems.append(Problem(TOO_COMMON, field=field))
    if name and (folded == name or (len(name) >= USERNAME_PART_MIN_LENGTH and name in folded)):
        problems.append(Problem(HOLDS_USERNAME, field=field))
    return problems
