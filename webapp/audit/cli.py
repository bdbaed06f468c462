"""`canbo audit anchor`, `canbo audit verify-export`, `canbo audit export-key` and `canbo audit new-signing-key`
(the `audit` group lives in webapp/cli.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from webapp.audit.anchoring import anchor_key, existing_anchor_key
from webapp.audit.signing import SigningKeyMissing, signing_key, trusted_keys
from webapp.extensions import db
from workflows.audit import VerifyReport, verify_chains
from workflows.db import transaction
from workflows.errors import Invalid
from workflows.inspection import signing
from workflows.inspection.anchors import checked_key, read_digest, write_anchor
from workflows.inspection.exporting import ExportReport, SignatureCheck, verify_export
from workflows.inspection.signing import TrustedKey


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
    help="Check an exported instance history (.json or .html) offline, without the database: its signature with "
    "--public-key (the server's public key, PEM; format 4) — else this install's own public keys — and, for files "
    "exported before public-key signing, with --key-file or this install's audit key (AUDIT_ANCHOR_KEY).",
)
@click.argument("export_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--public-key",
    "public_keys",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A public key (PEM) taken from the server's key page or `canbo audit export-key`; may be repeated (a key "
    "from before a rotation). Only these keys are trusted.",
)
@click.option(
    "--key-file",
    type=click.Path(exists=True, dir_okay=False),
    help="A file holding the audit key that signed an export of format 2 or 3 (the inspection committee's copy).",
)
@with_appcontext
def verify_export_command(export_file: str, public_keys: tuple[str, ...], key_file: str | None) -> None:
    trusted = _trusted(public_keys)
    try:
        # Given public keys only, the check reads nothing of this install: no server secret is looked for.
        key = Path(key_file).read_bytes().strip() if key_file else None if public_keys else existing_anchor_key()
        if key is not None:
            checked_key(key)
    except (OSError, Invalid) as error:
        click.echo(f"{key_file or 'AUDIT_ANCHOR_KEY'}: {error}", err=True)
        sys.exit(1)
    report = verify_export(Path(export_file).read_bytes(), key=key, trusted=trusted)
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
    click.echo(f"{export_file}: intact, {report.events} event(s); {_signature_says(report)}")


def _trusted(public_keys: tuple[str, ...]) -> list[TrustedKey]:
    """The keys given, each a PEM public key; none given: this install's current and retired keys."""
    if not public_keys:
        return trusted_keys()
    trusted = []
    for path in public_keys:
        try:
            trusted.append(TrustedKey(signing.load_public_key(Path(path).read_bytes()), source=Path(path).name))
        except (OSError, Invalid) as error:
            click.echo(f"{path}: {error}", err=True)
            sys.exit(1)
    return trusted


def _signature_says(report: ExportReport) -> str:
    if report.signature is SignatureCheck.VALID and report.signed_by is not None:
        which = "this install's current key" if report.signed_by.is_current else report.signed_by.source
        fingerprint = signing.readable_fingerprint(report.signed_key_id or "")
        return f"signed with the trusted public key {fingerprint} ({which})"
    if report.signature is SignatureCheck.NOT_CHECKED and report.public_key_signed:
        return f"signature not checked (no public key: --public-key KEY.pem): {_UNPROVEN}"
    return _SIGNATURE_SAYS[report.signature]


_UNPROVEN = "the chain, its ballot results and status agree; names, comments and the file list are unproven"
_SIGNATURE_SAYS = {
    SignatureCheck.VALID: "signed with the audit key (a shared key: whoever holds it could have made the file)",
    SignatureCheck.NOT_CHECKED: f"signature not checked (no audit key: AUDIT_ANCHOR_KEY or --key-file): {_UNPROVEN}",
    SignatureCheck.UNSIGNED: f"exported before exports were signed: {_UNPROVEN}",
}


@click.command(
    "export-key",
    help="Print the public key (PEM) exported histories are signed with, and its fingerprint, for the inspection "
    "committee to check files offline; --output writes the PEM to a file.",
)
@click.option("--output", type=click.Path(dir_okay=False, writable=True), help="Where to write the public key (.pem).")
@with_appcontext
def export_key_command(output: str | None) -> None:
    try:
        key = signing_key().public_key()
    except SigningKeyMissing:
        click.echo("no export signing key: set CANBO_EXPORT_SIGNING_KEY_FILE (docs/deploy.md)", err=True)
        sys.exit(1)
    pem, fingerprint = signing.public_pem(key), signing.fingerprint(key)
    if output:
        Path(output).write_text(pem, encoding="ascii")
        click.echo(f"wrote the public key to {output}")
    else:
        click.echo(pem, nl=False)
    # To stderr when the PEM goes to stdout, so that `canbo audit export-key > key.pem` holds the key alone.
    click.echo(f"fingerprint (SHA-256): {signing.readable_fingerprint(fingerprint)}", err=not output)


@click.command(
    "new-signing-key",
    help="Make a new Ed25519 key for signing exports into PATH (mode 0600; an existing file is never overwritten) "
    "and print its fingerprint. Point CANBO_EXPORT_SIGNING_KEY_FILE at it on every app host.",
)
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def new_signing_key_command(path: str) -> None:
    key = signing.new_private_key()
    try:
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
            handle.write(signing.private_pem(key))
    except OSError as error:
        click.echo(f"{path}: {error.strerror or error}; nothing was written", err=True)
        sys.exit(1)
    fingerprint = signing.readable_fingerprint(signing.fingerprint(key.public_key()))
    click.echo(f"wrote a new export signing key to {path}\nfingerprint (SHA-256): {fingerprint}")
