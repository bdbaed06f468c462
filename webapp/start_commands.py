"""What the procedures' start commands share: `canbo instances start`, `appointment start`, `planning start`,
`rotation start` and `evaluation annual` start through `act`, as their pages do, and end the same way when the start
fails (decisions 0079, 0082)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

import click

from webapp.http import act, script_failure_text
from workflows.errors import ScriptFailure, WorkflowError

T = TypeVar("T")


def exit_with(message: str) -> NoReturn:
    """The message on stderr, exit status 1: what an operator reads when a command does nothing."""
    click.echo(message, err=True)
    sys.exit(1)


def start_or_exit(
    start: Callable[[], T],
    *,
    refused: Callable[[WorkflowError], str] = str,
    fail: Callable[[str], NoReturn] = exit_with,
) -> T:
    """What `start` returns, run through `act` in its own transaction: a failed model script is noted for /admin's
    "Cần xử lý" after the rollback, as from the page. A start that fails ends the command, nothing written (`fail`:
    by default the message on stderr, exit status 1): a failed script in the pages' Vietnamese sentence, then the
    engine's words for the operator (`script_failure_text`); any other refusal as `refused` says it."""
    try:
        return act(start)
    except ScriptFailure as failure:
        fail(script_failure_text(failure))
    except WorkflowError as error:
        fail(refused(error))
