"""`canbo audit anchor` and `canbo audit verify-export` (the `audit` group lives in webapp/cli.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from webapp.audit.anchoring import anchor_key, existing_anchor_key
from webapp.extensions import db
from workflows.audit import VerifyReport, verify_chains
from workflows.db import transaction
from workflows.errors import Invalid
from workflows.inspection.anchors import checked_key, read_digest, write_anchor
from workflows.inspection.exporting import SignatureCheck, verify_export


def verify_against(digest_file: str) -> VerifyReport:
    """Every chain recomputed and checked against a signed digest; exits 1 when the digest cannot be trusted."""
    try:
        digest = read_digest(Path(digest_file).read_bytes(), key=anchor_key())
    except (OSError, Invalid) as error:
        click.echo(f"{digest_file}: {error}", err=True)
        sys.exit(1)
    click.echo(f"against the digest of {digest.anchored_on}: {len(digest.chains)} chain(s)")
    return verify_chains(db.session, anchored=digest.chains)


@click.command("anchor", help="Anchor the head of every chain now in a signed digest; --output writes it to a file.")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), help="Where to write the digest (.json).")
@with_appcontext
def anchor_command(output: str | None) -> None:
    try:
        with transaction(db.session):
            anchor = write_anchor(db.session, key=anchor_key())
            document, chains, events = anchor.document, anchor.chains, anchor.events
            if output:
                # Written before the anchor commits: a digest that could not be saved leaves no anchor behind.
                Path(output).write_text(document, encoding="utf-8")
    except OSError as error:
        reason = error.strerror or str(error)
        click.echo(f"{output}: the digest cannot be written ({reason}); nothing was anchored", err=True)
        sys.exit(1)
    click.echo(f"anchored {chains} chain(s), {events} event(s)" + (f" into {output}" if output else ""))


@click.command(
    "verify-export",
    help="Check an exported instance history (.json or .html) offline; its signature with this install's audit key "
    "(AUDIT_ANCHOR_KEY) or --key-file.",
)
@click.argument("export_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--key-file",
    type=click.Path(exists=True, dir_okay=False),
    help="A file holding the audit key that signed the export (the inspection committee's copy).",
)
@with_appcontext
def verify_export_command(export_file: str, key_file: str | None) -> None:
    try:
        key = Path(key_file).read_bytes().strip() if key_file else existing_anchor_key()
        if key is not None:
            checked_key(key)
    except (OSError, Invalid) as error:
        click.echo(f"{key_file or 'AUDIT_ANCHOR_KEY'}: {error}", err=True)
        sys.exit(1)
    report = verify_export(Path(export_file).read_bytes(), key=key)
    if not report.is_export:
        said = "; ".join(problem.explained for problem in report.problems)
        click.echo(f"{export_file}: not an exported instance history: {said}", err=True)
        sys.exit(1)
    if not report.ok:
        for problem in report.problems:
            click.echo(f"BROKEN {problem.explained}", err=True)
        for change in report.shown_changes:  # the readable part said against the embedded (signed) data
            where = f"event #{change.seq} {change.field}" if change.seq else change.field
            click.echo(f"SHOWN {where}: {change.shown!r}, embedded data: {change.signed!r}", err=True)
        click.echo(f"{export_file}: NOT intact", err=True)
        sys.exit(1)
    click.echo(f"{export_file}: intact, {report.events} event(s); {_SIGNATURE_SAYS[report.signature]}")


_UNPROVEN = "the chain, its ballot results and status agree; names, comments and the file list are unproven"
_SIGNATURE_SAYS = {
    SignatureCheck.VALID: "signed with the audit key",
    SignatureCheck.NOT_CHECKED: f"signature not checked (no audit key: AUDIT_ANCHOR_KEY or --key-file): {_UNPROVEN}",
    SignatureCheck.UNSIGNED: f"exported before exports were signed: {_UNPROVEN}",
}
