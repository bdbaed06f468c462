"""Free text typed into web forms, cleaned the same way on every form before it is checked or stored:
`clean_text` removes what cannot be stored (workflows.text) and strips surrounding whitespace, so that text made
only of such characters counts as empty and "required" refuses it.
"""

from __future__ import annotations

from typing import Any

from workflows.text import storable

# Comments on an instance and on a task share one cap.
MAX_COMMENT = 2000


def clean_text(value: Any) -> Any:
    """A WTForms filter (also usable on its own): unstorable characters removed, surrounding whitespace stripped.
    Anything that is not a string (None when the field was not posted) is returned as it is."""
    if not isinstance(value, str):
        return value
    return storable(value).strip()
