"""Backups a user can trust: ``flask --app wsgi backup create`` and ``backup restore``.

A backup is a directory ``jiangxin-<UTC time>/`` (under ``BACKUP_DIR``, default ``instance/backups``) holding

* ``database.sqlite3`` — SQLite's online backup of the database file (a consistent copy while the app runs), or
  ``database.pgdump`` — ``pg_dump --format=custom`` of the very snapshot that was verified (``--snapshot``);
* ``manifest.json`` — when and of what it was made, the dump's SHA-256, the database's migration revision, and
  each audit stream's head as verified in the dump, signed with a key derived from ``AUDIT_HMAC_KEY``.

``create`` verifies the audit log of what it dumps (against this installation's anchor too) and refuses a log that
does not verify. ``restore`` refuses a backup whose manifest is not signed with this installation's key, whose
dump is not the one the manifest names, or whose audit log does not verify up to the manifest's heads — checked in
a copy (SQLite) or a scratch database on the same server (PostgreSQL) before the live database is touched — and
then replaces the database whole (SQLite's backup API; on PostgreSQL the ``public`` schema in one transaction),
verifies it again and anchors the restored heads.

What a backup does not hold and must be kept beside it (README, Backups): the instance secrets — ``SECRET_KEY``,
``ID_HMAC_KEY``, ``ID_ENCRYPTION_KEY``, ``AUDIT_HMAC_KEY`` (``instance/secrets.json`` or the environment) — and the
certificates' signing keys (``instance/certificate-signing-keys.json``).

Operators read these messages before any page exists, like the other command-line messages: English.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.orm import Session

from app.audit.anchor import MISSING, OK, anchor_lock, read_anchor, write_anchor
from app.audit.domain import BACKUP_KEY, Anchor, Head, derive_key, heads_extend, sign, signed
from app.audit.models import AuditEntry
from app.audit.services import LogCheck, replace_anchor, verify_log
from app.db import db, sqlite_begin_mode, utcnow

MANIFEST = "manifest.json"
FORMAT = 1
FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}


class BackupError(click.ClickException):
    """A backup cannot be made or restored; ``flask`` prints ``Error: <message>`` and exits 1."""


@dataclass(frozen=True)
class Restored:
    manifest: dict[str, Any]
    entries: int
    lost: dict[str, int]  # per stream, entries the old anchor had beyond the backup (lost by the restore)


def _key() -> bytes:
    return derive_key(current_app.config["AUDIT_HMAC_KEY"], BACKUP_KEY)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _url() -> URL:
    return db.engine.url


def _dialect() -> str:
    name = _url().get_backend_name()
    if name not in FILES:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {name}")
    return name


def _revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def _code_head() -> str | None:
    """The migration revision this code expects (the head of ``migrations/``)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", current_app.extensions["migrate"].directory)
    return ScriptDirectory.from_config(config).get_current_head()


def _heads_json(heads: dict[str, Head]) -> dict[str, Any]:
    return {stream: head.as_json() for stream, head in sorted(heads.items())}


def _verify(session: Session, anchor: Anchor | None) -> LogCheck:
    return verify_log(session, anchor)


def _problems(check: LogCheck) -> str:
    return "; ".join(f"stream {p.stream}, entry {p.seq}: {p.reason}" for p in check.problems[:20]) + (
        f" (and {len(check.problems) - 20} more)" if len(check.problems) > 20 else "")


# --- SQLite ----------------------------------------------------------------------------------------------


def _sqlite_path() -> Path:
    database = _url().database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("this SQLite database is not a file: nothing to back up or restore")
    return Path(database)


def _sqlite_copy(source: Path, target: Path, *, single_file: bool) -> None:
    """SQLite's online backup API: a consistent copy of ``source`` into ``target`` (whole, in one step);
    ``single_file``: left in rollback-journal mode, so the copy is one self-contained file (a backup)."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
        if single_file:
            dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


@contextlib.contextmanager
def _sqlite_session(path: Path) -> Iterator[Session]:
    """A read session on another SQLite file (a copy: the app's connect hook makes it WAL)."""
    engine = create_engine(f"sqlite:///{path}")
    token = sqlite_begin_mode.set("DEFERRED")  # reading only: no write lock, no write queue
    try:
        with Session(engine) as session:
            yield session
    finally:
        sqlite_begin_mode.reset(token)
        engine.dispose()


# --- PostgreSQL ------------------------------------------------------------------------------------------


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """(a libpq connection URI without the password, the environment that gives the password) for the client
    programs: no password on a command line."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(args: list[str], env: dict[str, str], what: str, **kw) -> None:
    program = shutil.which(args[0])
    if program is None:
        raise BackupError(f"{args[0]} is not installed (Debian: apt-get install postgresql-client)")
    done = subprocess.run([program, *args[1:]], env=env, capture_output=True, text=True, **kw)
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip()[-2000:]}")


@contextlib.contextmanager
def _scratch_database(url: URL) -> Iterator[URL]:
    """A database of its own next to ``url``'s, dropped afterwards (the restoring user needs CREATEDB)."""
    import psycopg
    from psycopg import sql

    name = f"{(url.database or 'jiangxin')[:40]}_restore_{secrets.token_hex(4)}"
    dsn, _env = _libpq(url)
    password = {"password": str(url.password)} if url.password else {}
    with psycopg.connect(dsn, autocommit=True, **password) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url.set(database=name)
    finally:
        with psycopg.connect(dsn, autocommit=True, **password) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _pg_replace(url: URL, dump: Path) -> None:
    """Replace the ``public`` schema of ``url``'s database with the dump's, in one transaction: a failure leaves the
    database as it was."""
    dsn, env = _libpq(url)
    restore = shutil.which("pg_restore")
    psql = shutil.which("psql")
    if restore is None or psql is None:
        raise BackupError("pg_restore and psql are needed (Debian: apt-get install postgresql-client)")
    prelude = ("DROP SCHEMA public CASCADE; CREATE SCHEMA public AUTHORIZATION pg_database_owner; "
               "GRANT USAGE ON SCHEMA public TO PUBLIC;")
    with tempfile.TemporaryFile() as errors:  # (a file, not a pipe: a pipe nobody reads could fill and block)
        script = subprocess.Popen([restore, "--no-owner", "--no-privileges", "--file=-", str(dump)], env=env,
                                  stdout=subprocess.PIPE, stderr=errors)
        try:
            loaded = subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-c", prelude,
                                     "-f", "-", dsn], env=env, stdin=script.stdout, capture_output=True, text=True)
        finally:
            script.stdout.close()
            script.wait()
        errors.seek(0)
        script_err = errors.read().decode(errors="replace")
    if script.returncode != 0:
        raise BackupError(f"pg_restore failed (the database was not changed): {script_err.strip()[-2000:]}")
    if loaded.returncode != 0:
        raise BackupError(f"restoring failed (the database was not changed): {loaded.stderr.strip()[-2000:]}")


# --- create ----------------------------------------------------------------------------------------------


def _target_dir(base: Path | None) -> Path:
    base = base or Path(current_app.config.get("BACKUP_DIR") or Path(current_app.config["INSTANCE_PATH"]) / "backups")
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    path = base / f"jiangxin-{stamp}"
    n = 1
    while path.exists():
        n += 1
        path = base / f"jiangxin-{stamp}-{n}"
    path.mkdir(parents=True, mode=0o700)
    return path


def create_backup(base: Path | None = None) -> tuple[Path, dict[str, Any]]:
    """Dump the database into a new backup directory under ``base`` and sign its manifest; refuse (nothing left
    behind) when the audit log of the dump does not verify."""
    dialect = _dialect()
    anchor = read_anchor().anchor
    path = _target_dir(base)
    dump = path / FILES[dialect]
    try:
        if dialect == "sqlite":
            if not _sqlite_path().is_file():
                raise BackupError(f"{_sqlite_path()} does not exist: nothing to back up")
            _sqlite_copy(_sqlite_path(), dump, single_file=True)
            with tempfile.TemporaryDirectory(dir=path) as scratch:
                copy = Path(scratch) / "verify.sqlite3"
                shutil.copyfile(dump, copy)
                with _sqlite_session(copy) as session:
                    check = _verify(session, anchor)
                    revision = _revision(session.connection())
        else:
            check, revision = _pg_dump(dump, anchor)
        if not check.ok:
            raise BackupError(f"the audit log does not verify, so no backup was made: {_problems(check)} "
                              "(`flask audit verify` says more)")
        manifest = sign({
            "format": FORMAT, "created_at": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"), "dialect": dialect,
            "database": _url().render_as_string(hide_password=True), "alembic_revision": revision,
            "file": dump.name, "size": dump.stat().st_size, "sha256": _sha256(dump),
            "audit": {"entries": check.count, "streams": _heads_json(check.heads)},
        }, _key())
        (path / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        for written in (dump, path / MANIFEST):  # personal data: for the operator's eyes only
            written.chmod(0o600)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    _advance_anchor(check.heads)
    return path, manifest


def _pg_dump(dump: Path, anchor: Anchor | None) -> tuple[LogCheck, str | None]:
    """Verify the log in a repeatable-read snapshot and have pg_dump dump that same snapshot."""
    url = _url()
    dsn, env = _libpq(url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                conn.execute(text("SET TRANSACTION READ ONLY"))
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                with Session(bind=conn) as session:
                    check = _verify(session, anchor)
                revision = _revision(conn)
                if check.ok:  # the dump of what was verified, while the snapshot's transaction is open
                    _run(["pg_dump", "--format=custom", f"--snapshot={snapshot}", "--file", str(dump), dsn], env,
                         "pg_dump")
    finally:
        engine.dispose()
    return check, revision


def _advance_anchor(heads: dict[str, Head]) -> None:
    """Anchor the heads a backup verified, where they are ahead of this installation's anchor."""
    with anchor_lock():
        read = read_anchor()
        old = dict(read.anchor.heads) if read.status == OK else {}
        if read.status in (OK, MISSING) and heads_extend(old, heads) and heads != old:
            write_anchor({**old, **heads})


# --- restore ---------------------------------------------------------------------------------------------


def read_manifest(path: Path) -> tuple[Path, dict[str, Any]]:
    """(the backup's directory, its manifest) once the manifest is validly signed and the dump is the one it
    names."""
    directory = path if path.is_dir() else path.parent
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BackupError(f"{directory} is not a backup: it has no {MANIFEST}") from exc
    except ValueError as exc:
        raise BackupError(f"{directory / MANIFEST} is not valid JSON") from exc
    if not isinstance(manifest, dict) or not signed(manifest, _key()):
        raise BackupError("the backup's manifest is not signed with this installation's AUDIT_HMAC_KEY: put back the "
                          "instance secrets kept with the backup (instance/secrets.json or the environment), or the "
                          "backup was altered")
    if manifest.get("format") != FORMAT or manifest.get("dialect") not in FILES:
        raise BackupError("this backup was made by another version of Jiangxin")
    name = str(manifest.get("file"))
    dump = directory / name
    if Path(name).name != name or not dump.is_file() or _sha256(dump) != manifest.get("sha256"):
        raise BackupError(f"{dump.name} is not the file this backup's manifest names (changed or missing): refused")
    return directory, manifest


def _manifest_heads(manifest: dict[str, Any]) -> dict[str, Head]:
    return {stream: Head.from_json(head) for stream, head in manifest["audit"]["streams"].items()}


def _check_restorable(session: Session, manifest: dict[str, Any]) -> tuple[LogCheck, dict[str, int]]:
    """The backup's log verifies up to the manifest's heads exactly, and agrees with this installation's anchor
    where the anchor is not beyond it; returns the check and the entries lost per stream."""
    heads = _manifest_heads(manifest)
    check = _verify(session, Anchor("", "", heads))
    if not check.ok or check.heads != heads or check.count != manifest["audit"]["entries"]:
        raise BackupError("the backup's audit log does not verify, so it was not restored: "
                          + (_problems(check) or "its heads are not the manifest's"))
    lost: dict[str, int] = {}
    read = read_anchor()
    for stream, anchored in (read.anchor.heads.items() if read.status == OK else ()):
        ours = heads.get(stream)
        if ours is None or anchored.seq > ours.seq:
            lost[stream] = anchored.seq - (ours.seq if ours else 0)
            continue
        digest = session.scalar(select(AuditEntry.hash).where(AuditEntry.stream == stream,
                                                              AuditEntry.seq == anchored.seq))
        if digest != anchored.hash:
            raise BackupError(f"the backup's audit log disagrees with this installation's anchor (stream {stream}, "
                              f"entry {anchored.seq}): it is not a backup of this log. If this installation's anchor "
                              "belongs to another log, move it away (AUDIT_ANCHOR_PATH) and restore again")
    return check, lost


def restore_backup(path: Path) -> Restored:
    """Replace the database with the backup at ``path`` once everything about it verifies; anchor its heads."""
    directory, manifest = read_manifest(path)
    dialect = _dialect()
    if manifest["dialect"] != dialect:
        raise BackupError(f"this is a {manifest['dialect']} backup; the database here is {dialect}")
    dump = directory / manifest["file"]
    if dialect == "sqlite":
        target = _sqlite_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
            copy = Path(scratch) / "restore.sqlite3"
            shutil.copyfile(dump, copy)
            with _sqlite_session(copy) as session:
                _check, lost = _check_restorable(session, manifest)
            db.session.remove()
            db.engine.dispose()  # no connection of this process holds the old file
            _sqlite_copy(copy, target, single_file=False)
    else:
        url = _url()
        with _scratch_database(url) as scratch_url:
            _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--dbname",
                  _libpq(scratch_url)[0], str(dump)], _libpq(scratch_url)[1], "loading the backup")
            engine = create_engine(scratch_url)
            try:
                with Session(engine) as session:
                    _check, lost = _check_restorable(session, manifest)
            finally:
                engine.dispose()
        db.session.remove()
        db.engine.dispose()
        _pg_replace(url, dump)
    heads = _manifest_heads(manifest)
    after = _verify(db.session, Anchor("", "", heads))
    db.session.remove()
    if not after.ok or after.heads != heads:
        raise BackupError("the restored database's audit log does not verify: " + (_problems(after) or "heads differ"))
    replace_anchor(heads)
    return Restored(manifest, after.count, lost)


# --- the commands ----------------------------------------------------------------------------------------


backup_cli = AppGroup("backup", help="Backups of the database, verified.")


@backup_cli.command("create")
@click.option("--to", "base", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory to make the backup in (default: BACKUP_DIR, or instance/backups).")
def create_command(base: Path | None) -> None:
    """Back up the database (verifying its audit log) into a new directory; print its path."""
    path, manifest = create_backup(base)
    audit = manifest["audit"]
    click.echo(f"backup: {path}")
    click.echo(f"{manifest['dialect']} database, revision {manifest['alembic_revision'] or '-'}, "
               f"{manifest['size']} bytes, sha256 {manifest['sha256']}")
    click.echo(f"audit log verified: {audit['entries']} entries; "
               + (", ".join(f"{s} #{h['seq']}" for s, h in audit["streams"].items()) or "no streams"))
    click.echo("Keep the instance secrets (SECRET_KEY, ID_HMAC_KEY, ID_ENCRYPTION_KEY, AUDIT_HMAC_KEY: "
               "instance/secrets.json or the environment) and instance/certificate-signing-keys.json with it, "
               "stored safely: the backup cannot be restored or read without them.")


@backup_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(path: Path, yes: bool) -> None:
    """Replace the database with the backup at PATH (its directory), once its manifest, its dump and its audit log
    verify. Stop the app first."""
    _directory, manifest = read_manifest(path)  # refuse early, before asking
    if not yes:
        click.confirm(f"Replace every row of {_url().render_as_string(hide_password=True)} with the backup made "
                      f"{manifest['created_at']}?", abort=True)
    restored = restore_backup(path)
    click.echo(f"restored the backup made {manifest['created_at']}: audit log verified, {restored.entries} entries; "
               "anchored")
    for stream, count in sorted(restored.lost.items()):
        click.echo(f"stream {stream}: {count} entries anchored after the backup are gone with the restore")
    revision, head = manifest["alembic_revision"], _code_head()
    if revision and revision != head:
        click.echo(f"the backup's database is at migration {revision}, this code at {head}: run "
                   "`flask --app wsgi db upgrade`")
