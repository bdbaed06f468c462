"""Which account changes an install cannot survive (decision 0107).

Pure functions of plain data: nothing reads the database. Source: the install's own operation, no legal text —
the administrators of the top unit are who creates the units, the accounts and the roles of everyone else (decision
0074); an install left without one can only be repaired at the server's command line.
"""

from __future__ import annotations

from collections.abc import Collection


# Decision 0107: an install keeps an active administrator of its top unit.
def removes_last_top_administrator(
    top_admin_roles: Collection[int], removed_role: int | None, *, active_after: bool, other_top_admins: int
) -> bool:
    """Whether a change to one account takes away the last active administrator of the top unit.

    `top_admin_roles`: the ids of the admin roles the account holds in the top unit (empty: it is no such
    administrator, or is deactivated already); `removed_role`: the role the change revokes (None: none);
    `active_after`: whether the account is active after it; `other_top_admins`: how many other active accounts hold
    the admin role in the top unit."""
    if not top_admin_roles or other_top_admins > 0:
        return False
    return not active_after or not set(top_admin_roles) - {removed_role}
