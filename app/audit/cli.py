"""``flask --app wsgi audit verify`` and ``audit anchor``: check every stream's hash chain of the audit log against
the anchor outside the database, and advance the anchor (``app.audit.anchor``).

Operators read these before any page exists, like the other command-line messages: English.
"""

from __future__ import annotations

import sys
import time

import click
from flask.cli import AppGroup

audit = AppGroup("audit", help="The audit log.")

REASONS = {
    "gap": "an entry is missing or repeated here (deleted or inserted)",
    "prev_hash": "it does not name the previous entry's hash",
    "hash": "its content does not give its hash (edited, or hashed without the key)",
    "version": "hashed by the old unkeyed rule where the stream is already keyed",
    "order": "its row id is out of order",
    "truncated": "the anchored head is gone: the entries up to it were deleted",
    "anchor": "its hash is not the anchored one: the chain was rewritten",
}


def _heads(heads) -> str:
    if not heads:
        return "no entries"
    return ", ".join(f"{stream} #{head.seq} {head.hash[:12]}…" for stream, head in sorted(heads.items()))


def _describe_anchor(read) -> None:
    from app.audit.anchor import INVALID, MISSING, OTHER_DATABASE

    if read.status == MISSING:
        click.echo(f"anchor: none yet ({read.path})")
    elif read.status == OTHER_DATABASE:
        click.echo(f"anchor: {read.path} is for another database ({read.detail}): not compared, will be replaced")
    elif read.status == INVALID:
        click.echo(f"anchor: {read.path} is NOT validly signed ({read.detail}): altered, or signed with another "
                   "AUDIT_HMAC_KEY. Investigate, then `audit anchor --reset` to anchor the log as it is.", err=True)
    else:
        click.echo(f"anchor: {read.path}, written {read.anchor.written_at}: {_heads(read.anchor.heads)}")


def _report(outcome, what: str) -> None:
    for p in outcome.check.problems:
        click.echo(f"stream {p.stream}, entry {p.seq}: {p.reason} — {REASONS.get(p.reason, p.reason)}", err=True)
    if not outcome.ok:
        click.echo(f"audit chain BROKEN: {len(outcome.check.problems)} problem(s) in {outcome.check.count} {what}",
                   err=True)
        return
    click.echo(f"audit chain OK: {outcome.check.count} {what}")
    if outcome.written is not None:
        click.echo(f"anchored: {_heads(outcome.written.heads)}")
    if outcome.write_error:
        click.echo(f"the anchor could NOT be advanced ({outcome.write_error}): run `audit anchor` as the user who "
                   "owns the anchor file", err=True)


@audit.command("verify")
def verify() -> None:
    """Verify every stream's hash chain and compare it with the anchor; exit 1 if any entry was altered, inserted or
    removed. When the log verifies, the anchor is advanced to its heads."""
    from app.audit.services import verify_and_anchor

    outcome = verify_and_anchor()
    _describe_anchor(outcome.read)
    _report(outcome, "entries")
    if not outcome.ok:
        sys.exit(1)


@audit.command("anchor")
@click.option("--every", type=click.IntRange(min=1), default=None, metavar="SECONDS",
              help="Keep running and anchor every SECONDS (instead of a timer calling this command).")
@click.option("--reset", is_flag=True,
              help="Anchor the log as it is now, not compared with the old anchor (after a deliberate restore or a "
                   "new key); the chains must still verify.")
def anchor(every: int | None, reset: bool) -> None:
    """Check what was appended since the anchor and advance the anchor; exit 1 (and keep the old anchor) if the log
    does not verify."""
    from app.audit.services import verify_and_anchor
    from app.db import db

    while True:
        outcome = verify_and_anchor(since_anchor=not reset, reset=reset)
        if not outcome.ok or reset or every is None:
            _describe_anchor(outcome.read)
        _report(outcome, "entries checked")
        if not outcome.ok or outcome.write_error:
            sys.exit(1)
        if every is None:
            return
        reset = False
        db.session.remove()  # a fresh transaction (and snapshot) for the next round
        time.sleep(every)
