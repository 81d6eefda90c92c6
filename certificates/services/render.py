"""The PDF of an issued certificate: rendered once, stored by its content hash, served from the store.

A certificate never changes after issue (its template version is frozen once used, revocation is shown by
the verification, not by the PDF), and rendering is deterministic, so its PDF is rendered once:
:func:`pdf_for` renders it, writes the bytes to ``instance/certificates/pdf/<sha[:2]>/<sha256>.pdf``
(content-addressed, written atomically — two processes rendering the same certificate write the same file)
and records the hash in ``Certificate.pdf_sha256``. Later calls read the file named by that hash; the
download's ETag is the hash, so a conditional GET needs neither the file nor a render. If the file is
gone (a new machine, a cleaned instance folder) the PDF is rendered again; when the bytes differ (another
font on this machine) the new hash replaces the old one and a warning is logged, because a copy of the
old PDF no longer matches the verification's ``pdf_match`` step.

The verification address in the QR code is ``PUBLIC_BASE_URL`` + ``/v/<serial>``; without that setting,
the current request's host; in a background job, the host of the request that started it (``base_url_of``);
otherwise (CLI) ``http://localhost:5000`` with a warning, once per process — set ``PUBLIC_BASE_URL`` in
production so every PDF carries the public address.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from flask import Response, current_app, has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql import Select

from app.db import db
from app.errors import NotFound
from certificates.looks import look_of
from certificates.models import Certificate, CertificateIssuer, CertificateTemplateVersion
from certificates.pdf import CertificateContent, render_certificate

log = logging.getLogger(__name__)

FALLBACK_BASE_URL = "http://localhost:5000"


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    sha256: str

    @property
    def etag(self) -> str:
        return self.sha256


_job_base_url: ContextVar[str | None] = ContextVar("certificate_base_url", default=None)
_warned = False


@contextmanager
def base_url_of(base: str | None) -> Iterator[None]:
    """Within the block, links outside a request start with ``base`` (a job passes the address of the request
    that queued it, so its PDFs carry the same verification address as one downloaded from that site)."""
    token = _job_base_url.set(base.rstrip("/") if base else None)
    try:
        yield
    finally:
        _job_base_url.reset(token)


def known_base_url() -> str | None:
    """``PUBLIC_BASE_URL``, else the current request's address, else the one a job was given; None if none."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return str(base).rstrip("/")
    if has_request_context():
        return request.url_root.rstrip("/")
    return _job_base_url.get()


def public_base_url() -> str:
    """Scheme and host (and script root) that public links start with, without a trailing slash."""
    global _warned
    base = known_base_url()
    if base:
        return base
    if not _warned:  # once per process: a CLI export of 1,000 certificates needs to hear it once
        _warned = True
        log.warning("PUBLIC_BASE_URL is not set; certificates rendered outside a request point to %s",
                    FALLBACK_BASE_URL)
    return FALLBACK_BASE_URL


def verification_url(serial: str, code: str | None = None) -> str:
    """The absolute address of a certificate's public verification page (what its QR code holds), with its
    verification code: only that (or the holder's full name) shows whose it is and what for."""
    return f"{public_base_url()}/v/{serial}" + (f"?c={code}" if code else "")


def content_of(certificate: Certificate) -> CertificateContent:
    payload = certificate.payload or {}
    details = dict(certificate.details or {})
    return CertificateContent(
        kind=certificate.kind,
        serial=certificate.serial,
        holder_name=certificate.holder_name,
        achievement=certificate.achievement,
        issued_on=certificate.issued_on,
        valid_until=certificate.valid_until,
        verification_url=verification_url(certificate.serial, certificate.verify_code),
        subject=str(details.get("subject") or details.get("competition") or ""),
        issuer_name=str(payload.get("issuer_name") or (certificate.issuer.name if certificate.issuer else "")),
        details=details,
    )


def render(certificate: Certificate) -> bytes:
    """Render without the store (the bytes :func:`pdf_for` would store)."""
    return render_certificate(content_of(certificate), look_of(certificate.template_version, certificate.kind))


# --- the store ---------------------------------------------------------------------------------------


def store_dir() -> Path:
    return Path(current_app.instance_path) / "certificates" / "pdf"


def _path(sha256: str) -> Path:
    return store_dir() / sha256[:2] / f"{sha256}.pdf"


def read_stored(sha256: str) -> bytes | None:
    """The stored PDF with this hash, or None when it is missing or damaged.

    The bytes of a file read and checked before are kept (up to ``MAX_KEPT_BYTES`` in all) and served again while
    the file's size and modification time are unchanged (one ``stat``): they are the bytes of that hash, so a
    download needs neither to read the file nor to hash it again. A file that is gone or was written since is read
    and checked again."""
    if not sha256 or len(sha256) != 64:
        return None
    path = os.path.join(store_dir(), sha256[:2], sha256 + ".pdf")  # (not pathlib: this runs per download)
    try:
        stat = os.stat(path)
        kept = _kept.get(sha256)
        if kept is not None and kept[0] == (stat.st_size, stat.st_mtime_ns):
            return kept[1]
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != sha256:
        log.warning("stored certificate PDF %s is damaged; rendering it again", sha256)
        return None
    if len(data) == stat.st_size:  # not rewritten between the stat and the read
        _keep(sha256, (stat.st_size, stat.st_mtime_ns), data)
    return data


MAX_KEPT_BYTES = 32 * 1024 * 1024  # per process
_kept: dict[str, tuple[tuple[int, int], bytes]] = {}
_kept_bytes = 0


_kept_lock = threading.Lock()


def _keep(sha256: str, stamp: tuple[int, int], data: bytes) -> None:
    global _kept_bytes
    if len(data) > MAX_KEPT_BYTES // 8:
        return
    with _kept_lock:
        if _kept_bytes + len(data) > MAX_KEPT_BYTES:
            _kept.clear()
            _kept_bytes = 0
        if sha256 not in _kept:
            _kept_bytes += len(data)
        _kept[sha256] = (stamp, data)


def store(data: bytes) -> str:
    """Write ``data`` into the store (atomically, once) and return its SHA-256."""
    sha = hashlib.sha256(data).hexdigest()
    path = _path(sha)
    if path.exists():
        return sha
    root = store_dir()
    if not root.is_dir():
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o700)  # holders' names: readable by the app's user only (files are 0600 from mkstemp)
    path.parent.mkdir(exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pdf")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return sha


def pdf_for(certificate: Certificate) -> RenderedPdf:
    """The certificate's PDF: from the store when rendered before, else rendered, stored and recorded in
    ``certificate.pdf_sha256`` (flushed; the caller's transaction commits it)."""
    if certificate.pdf_sha256:
        data = read_stored(certificate.pdf_sha256)
        if data is not None:
            return RenderedPdf(data, certificate.pdf_sha256)
    data = render(certificate)
    sha = store(data)
    if certificate.pdf_sha256 != sha:
        if certificate.pdf_sha256:
            log.warning("certificate %s renders differently now (%s, was %s): an older copy of its PDF no longer "
                        "matches its recorded hash", certificate.serial, sha, certificate.pdf_sha256)
        _record_hash(certificate, sha)
    return RenderedPdf(data, sha)


def _record_hash(certificate: Certificate, sha: str) -> None:
    """Record the hash in a savepoint: a download is a GET, whose SQLite transaction starts as a reader, and
    losing the race for the write lock must not fail the download (the next one records it; same bytes)."""
    try:
        with db.session.begin_nested():
            certificate.pdf_sha256 = sha
    except OperationalError as exc:
        log.warning("could not record the PDF hash of certificate %s now: %s", certificate.serial, exc)


def download_name(certificate: Certificate | DownloadFacts, title: str | None = None) -> str:
    """``荣誉证书-张三-C2600420000010.pdf``: what the browser saves the file as."""
    if title is None:
        title = getattr(certificate, "title", None)
    if title is None:
        version = certificate.template_version
        title = version.title if version else look_of(None, certificate.kind).title
    safe = "".join(ch for ch in f"{title}-{certificate.holder_name}" if ch.isprintable() and ch not in '\\/:*?"<>|')
    return f"{safe}-{certificate.serial}.pdf"


# --- who may download --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DownloadFacts:
    """What a download needs to know, read in one small query (no ORM objects, no seal images)."""

    id: int
    serial: str
    kind: str
    holder_name: str
    worker_id: int | None
    enterprise_id: int | None
    issuer_enterprise_id: int | None
    title: str
    pdf_sha256: str | None


def _facts_statement() -> Select:
    c, i, v = Certificate.__table__.c, CertificateIssuer.__table__.c, CertificateTemplateVersion.__table__.c
    return (select(c.id, c.serial, c.kind, c.holder_name, c.worker_id, c.enterprise_id, i.enterprise_id, v.title,
                   c.pdf_sha256)
            .select_from(Certificate.__table__.join(CertificateIssuer.__table__, c.issuer_id == i.id)
                         .outerjoin(CertificateTemplateVersion.__table__, c.template_version_id == v.id))
            .where(c.id == bindparam("cid")))


# Built once (a download runs it on every request; building the statement cost more than running it).
_FACTS = _facts_statement()


def _facts_of(row) -> DownloadFacts:
    title = row[7] if row[7] is not None else look_of(None, row[2]).title
    return DownloadFacts(row[0], row[1], row[2], row[3], row[4], row[5], row[6], title, row[8])


def download_facts(certificate_id: int) -> DownloadFacts | None:
    row = db.session.execute(_FACTS, {"cid": certificate_id}).first()
    return None if row is None else _facts_of(row)


def can_download(user, certificate: Certificate | DownloadFacts) -> bool:
    """Organizers and admins: every certificate; HR: those of their enterprise (the holder's at issue, or the
    issuing enterprise); a worker: their own."""
    if user.has_role("organizer", "admin"):
        return True
    hr_ids = user.hr_enterprise_ids
    if isinstance(certificate, DownloadFacts):
        issuer_enterprise_id = certificate.issuer_enterprise_id
    else:
        issuer_enterprise_id = certificate.issuer.enterprise_id if certificate.issuer is not None else None
    if hr_ids and (certificate.enterprise_id in hr_ids or issuer_enterprise_id in hr_ids):
        return True
    return bool(user.has_role("worker") and user.worker_id and certificate.worker_id == user.worker_id)


def downloadable(user, certificate_id: int) -> DownloadFacts:
    """The download facts if ``user`` may download the certificate; ``NotFound`` otherwise (its existence is not
    disclosed)."""
    facts = download_facts(certificate_id)
    if facts is None or not can_download(user, facts):
        raise NotFound(_l("No such certificate."))
    return facts


def downloadable_certificate(user, certificate_id: int) -> Certificate:
    """The certificate (ORM) if ``user`` may download it; ``NotFound`` otherwise."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or not can_download(user, certificate):
        raise NotFound(_l("No such certificate."))
    return certificate


def pdf_response(certificate: Certificate | DownloadFacts, *, inline: bool = False) -> Response:
    """The PDF as an HTTP response with ETag (its SHA-256) and conditional GET: an ``If-None-Match`` that
    names the recorded hash is answered 304 without reading or rendering anything; a recorded PDF is served
    from the store without loading the certificate."""
    etag, data = certificate.pdf_sha256, None
    if not (etag and request.if_none_match.contains(etag)):
        data = read_stored(etag) if etag else None
        if data is None:
            orm = certificate if isinstance(certificate, Certificate) else db.session.get(Certificate, certificate.id)
            rendered = pdf_for(orm)
            etag, data = rendered.sha256, rendered.data
    if data is None or request.if_none_match.contains(etag):
        resp = Response(status=304)
    else:
        resp = Response(data, mimetype="application/pdf")
        resp.headers["Content-Disposition"] = content_disposition(download_name(certificate), inline=inline)
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = CACHE_CONTROL
    resp.headers["Vary"] = VARY
    return resp


# Personal data: browsers may keep it but must ask again each time (the 304 is cheap); no shared caches.
CACHE_CONTROL = "private, no-cache"
VARY = "Cookie, Authorization"


@lru_cache(maxsize=4096)  # a pure function of its arguments, run on every download
def content_disposition(filename: str, *, inline: bool = False) -> str:
    """``attachment; filename="<ASCII>"; filename*=UTF-8''<percent-encoded>`` (RFC 6266 / 5987)."""
    ascii_name = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\' else "_" for ch in filename)
    ascii_name = re.sub(r"_+", "_", ascii_name).strip("_-") or "certificate.pdf"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
