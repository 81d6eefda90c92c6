"""The audit log's anchor: each stream's head, signed, in a file outside the database.

``instance/audit-anchor.json`` (or ``AUDIT_ANCHOR_PATH``) holds, for the database it names, each stream's last
``seq`` and ``hash`` and from which ``seq`` on the stream is keyed, with an HMAC under a key derived from
``AUDIT_HMAC_KEY`` (``app.audit.domain``). ``flask audit verify`` compares the log with it and prints it;
``flask audit anchor`` (run every few minutes by a timer, see the README) and a successful ``audit verify`` advance
it. An anchor only moves forward — a new one is written only when the log still holds every anchored entry with its
anchored hash and verifies up to the new heads — except where an operator says so (``audit anchor --reset``,
``backup restore``).

Writes are atomic (a temporary file renamed over the old one, 0600) and serialized between processes by a lock
file next to it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy.orm import Session

from app.audit.domain import ANCHOR_KEY, Anchor, AnchorInvalid, Head, anchor_from_json, derive_key, sign
from app.config import exclusive
from app.db import db, utcnow

MISSING = "missing"  # no anchor file yet
OTHER_DATABASE = "other_database"  # the file anchors another database: not compared, replaced by the next anchor
INVALID = "invalid"  # the file is not validly signed (altered, or signed with another AUDIT_HMAC_KEY) or unreadable
OK = "ok"


@dataclass(frozen=True)
class AnchorRead:
    """The anchor of this database (None unless ``status`` is OK), and for the others, why there is none."""

    status: str
    path: Path
    anchor: Anchor | None = None
    detail: str = ""


def anchor_path() -> Path:
    configured = current_app.config.get("AUDIT_ANCHOR_PATH")
    return Path(configured) if configured else Path(current_app.config["INSTANCE_PATH"]) / "audit-anchor.json"


def anchor_key() -> bytes:
    return derive_key(current_app.config["AUDIT_HMAC_KEY"], ANCHOR_KEY)


def database_name(session: Session | None = None) -> str:
    """The database an anchor belongs to: its URL without the password (from the configuration, not the data)."""
    return (session or db.session).get_bind().engine.url.render_as_string(hide_password=True)


def read_anchor(path: Path | None = None) -> AnchorRead:
    path = path or anchor_path()
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return AnchorRead(MISSING, path)
    except OSError as exc:  # not to be compared with: verification cannot vouch for the log's end
        return AnchorRead(INVALID, path, detail=f"cannot be read: {exc.strerror}")
    try:
        anchor = anchor_from_json(json.loads(raw), anchor_key())
    except (ValueError, AnchorInvalid) as exc:  # json.JSONDecodeError is a ValueError
        return AnchorRead(INVALID, path, detail=str(exc))
    if anchor.database != database_name():
        return AnchorRead(OTHER_DATABASE, path, detail=anchor.database)
    return AnchorRead(OK, path, anchor)


def write_anchor(heads: Mapping[str, Head], path: Path | None = None) -> Anchor:
    """Write ``heads`` as this database's anchor (the caller holds :func:`anchor_lock` and checked them)."""
    path = path or anchor_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    anchor = Anchor(database_name(), utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"), dict(heads))
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(sign(anchor.payload(), anchor_key()), fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return anchor


def anchor_lock(path: Path | None = None):
    """The lock that serializes anchor writers (a context manager)."""
    path = path or anchor_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return exclusive(path.with_name(path.name + ".lock"))
