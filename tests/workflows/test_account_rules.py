"""`rules.accounts`: which account change would leave the install without an administrator of its top unit."""

from __future__ import annotations

import pytest

from workflows.rules.accounts import removes_last_top_administrator


@pytest.mark.parametrize(
    ("roles", "removed", "active_after", "others", "removes"),
    [
        ((7,), None, False, 0, True),  # the only one, deactivated
        ((7,), 7, True, 0, True),  # the only one, their role revoked
        ((7, 8), 7, True, 0, False),  # a second admin role in a top unit stays theirs
        ((7, 8), None, False, 0, True),  # ...but deactivated, neither counts
        ((7,), 7, True, 1, False),  # another active administrator of the top unit remains
        ((7,), None, False, 2, False),
        ((), None, False, 0, False),  # not one of them (a commune's administrator, or deactivated already)
        ((7,), 9, True, 0, False),  # another of their roles revoked
    ],
)
def test_only_the_last_active_administrator_of_the_top_unit_is_kept(
    roles: tuple[int, ...], removed: int | None, active_after: bool, others: int, removes: bool
) -> None:
    assert removes_last_top_administrator(roles, removed, active_after=active_after, other_top_admins=others) is removes
