"""cert_download: a worker's app downloads their certificate's cached PDF through the real app under gunicorn.

Set-up: a temp SQLite app with an enterprise, a worker with a user and a personal API token, an issued
award certificate (template with a seal); its PDF is rendered and stored once before timing (content-addressed
store under the instance folder, hash recorded). Ours: ``gunicorn -w 2 --threads 8 'wsgi:app'`` (production
config on that instance folder and database) answering ``GET /api/v1/certificates/<id>/pdf`` with
``Authorization: Bearer …`` through Flask: Flask-Login's request loader resolves the token and its user, the view
loads the download facts, checks access, serves the stored file (kept in memory while unchanged) and sets ETag /
Content-Disposition, and the after-request hooks add the security headers. No ``If-None-Match``: a 200 with the
whole PDF (~35 KB) every time; each answer's status, ETag and length are checked. (Until 2026-12-07 a WSGI
middleware answered token downloads before Flask, and this line measured that, target 0.7.)

Baseline (B2 with a body): a bare Flask app, served by the same gunicorn command, whose one endpoint returns
the same bytes as ``application/pdf``. Both are driven by the same ``CLIENTS`` threads, each with one
keep-alive ``http.client`` connection and ``PER_CLIENT`` requests, in ``ROUNDS`` rounds alternating baseline
and ours; value / baseline = the median wall time per request; ratio = baseline / ours; target 0.5.
"""

from __future__ import annotations

import http.client
import io
import os
import statistics
import sys
import threading
import time
from datetime import date
from pathlib import Path

from flask import Flask, Response

from bench._common import Result, temp_dir, throwaway_app

NAME = "cert_download"
TARGET = 0.5
CLIENTS = 4
PER_CLIENT = 150
WARMUP = 5
ROUNDS = 3


class PerRequest(Result):
    def line(self) -> str:
        return (f"BENCH {self.name} value={self.value * 1e6:.0f}us baseline={self.baseline * 1e6:.0f}us "
                f"ratio={self.ratio:.2f} target={self.target:g} {'PASS' if self.passed else 'FAIL'}")


def _seal() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((8, 8, 292, 292), outline=(200, 0, 0, 220), width=12)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _world(bench) -> tuple[int, int]:
    """(user id of the worker, certificate id)."""
    from app.accounts.models import Role, User, UserRole
    from app.db import db
    from app.people.models import Worker
    from certificates.domain import make_serial
    from certificates.models import Certificate, CertificateIssuer, CertificateTemplate, CertificateTemplateVersion

    with bench.app.app_context():
        worker = Worker(name="欧阳娜娜", gender="F", birth_date=date(1990, 1, 1), id_type="resident", id_hash="h" * 64,
                        id_last4="1234", id_encrypted=b"x", mobile="13800000000", enterprise_id=bench.enterprise_id)
        db.session.add(worker)
        db.session.flush()
        user = User(username="bench-worker", display_name="欧阳娜娜", password_hash="x", worker_id=worker.id)
        user.roles.append(UserRole(role=Role.WORKER))
        issuer = CertificateIssuer(code="0042", name="基准测试机械厂", enterprise_id=bench.enterprise_id)
        template = CertificateTemplate(kind="award", name="获奖证书", enterprise_id=bench.enterprise_id)
        template.versions.append(CertificateTemplateVersion(
            version=1, title="荣誉证书", body="{holder_name} 同志：\n在{subject}中成绩优异，荣获{achievement}。\n特发此证。",
            issuer_name="基准测试机械厂", signatories=[{"title": "厂长", "name": "王建国"}], seal_png=_seal(),
            border_style="ornate"))
        db.session.add_all([user, issuer, template])
        db.session.flush()
        serial = make_serial("award", 2026, "0042", 1)
        cert = Certificate(
            serial=serial, kind="award", issuer_id=issuer.id, template_version_id=template.versions[0].id,
            worker_id=worker.id, enterprise_id=bench.enterprise_id, holder_key=f"worker:{worker.id}",
            holder_name=worker.name, subject_key="manual:bench", achievement="一等奖",
            details={"subject": "2026年全市职工焊工技能竞赛"}, payload={"issuer_name": "基准测试机械厂"},
            signature="x", key_id="0" * 16, issued_on=date(2026, 11, 22))
        db.session.add(cert)
        db.session.commit()
        return user.id, cert.id


def bare_app():
    """The baseline app (``gunicorn 'bench.cert_download:bare_app()'``): the PDF of ``BENCH_PDF_FILE``, as is."""
    data = Path(os.environ["BENCH_PDF_FILE"]).read_bytes()
    bare = Flask("bench_bare_pdf")

    @bare.get("/certificate.pdf")
    def pdf():
        return Response(data, mimetype="application/pdf")

    return bare


def drive(port: int, path: str, headers: dict[str, str], etag: str | None, size: int) -> tuple[float, list[str]]:
    """All clients at once; returns (wall seconds, failures)."""
    failures: list[str] = []
    ready = threading.Barrier(CLIENTS + 1, timeout=60)

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def get() -> None:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200 or len(body) != size or (etag and resp.getheader("ETag") != etag):
                failures.append(f"HTTP {resp.status}, {len(body)} bytes, ETag {resp.getheader('ETag')}")

        try:
            for _ in range(WARMUP):
                get()
        except Exception as exc:  # noqa: BLE001 - reported in the line
            failures.append(f"warm-up: {exc!r}")
        ready.wait()
        try:
            for _ in range(PER_CLIENT):
                get()
        except Exception as exc:  # noqa: BLE001 - reported in the line
            failures.append(repr(exc))
        finally:
            conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    ready.wait()
    start = time.perf_counter()
    for t in threads:
        t.join(120)
    return time.perf_counter() - start, failures


class Line(PerRequest):
    note: str = ""

    @property
    def passed(self) -> bool:
        return super().passed and not self.note

    def line(self) -> str:
        return super().line() + (f" ({self.note})" if self.note else "")


def run() -> Result:
    from app.accounts.models import User
    from app.accounts.services import create_token
    from app.db import db
    from bench._server import Server
    from certificates.models import Certificate
    from certificates.services import render

    directory = temp_dir(NAME)
    bench = throwaway_app(directory)
    user_id, cert_id = _world(bench)
    with bench.app.test_request_context("/"):  # render and store once, as the first download would
        cert = db.session.get(Certificate, cert_id)
        rendered = render.pdf_for(cert)
        secret = create_token(db.session.get(User, user_id), "bench").secret
        db.session.commit()
        db.engine.dispose()
    pdf_file = directory / "certificate.pdf"
    pdf_file.write_bytes(rendered.data)
    etag = f'"{rendered.sha256}"'
    path = f"/api/v1/certificates/{cert_id}/pdf"

    servers: list[Server] = []
    rounds: list[tuple[float, float]] = []
    failures: list[str] = []
    try:
        ours = Server("wsgi:app", {"JIANGXIN_INSTANCE": str(directory / "instance"),
                                   "DATABASE_URL": f"sqlite:///{bench.db_path}", "JIANGXIN_CONFIG": "production",
                                   "PUBLIC_BASE_URL": "http://localhost:5000"}, directory / "gunicorn-ours.log")
        servers.append(ours)
        base = Server("bench.cert_download:bare_app()", {"BENCH_PDF_FILE": str(pdf_file)},
                      directory / "gunicorn-bare.log")
        servers.append(base)
        ours.wait_ready("/api/v1/openapi.json")
        base.wait_ready("/certificate.pdf")
        for _ in range(ROUNDS):
            base_wall, base_fail = drive(base.port, "/certificate.pdf", {}, None, len(rendered.data))
            our_wall, our_fail = drive(ours.port, path, {"Authorization": f"Bearer {secret}"}, etag, len(rendered.data))
            rounds.append((our_wall, base_wall))
            failures += our_fail + base_fail
    finally:
        for server in servers:
            server.stop()
            if server.proc.returncode not in (0, -15) or "Traceback" in server.log.read_text(errors="replace"):
                print(f"{server.log}:\n{server.log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
    total = CLIENTS * PER_CLIENT
    value = statistics.median(o for o, _ in rounds) / total
    baseline = statistics.median(b for _, b in rounds) / total
    line = Line(NAME, value, baseline, TARGET)
    if failures:
        line.note = f"{len(failures)} failed, e.g. {failures[0]}"
    return line
