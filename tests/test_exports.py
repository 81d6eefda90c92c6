"""Issue 14 item 4: no formula reaches a spreadsheet. Every XLSX and CSV the app hands out is written by
``app.tabular`` (a check of the source), and each export, given texts that start with ``= + - @ \\t \\r`` where users
and uploads put text, gives them back as text (a leading apostrophe), never as a formula — read back with openpyxl
and csv.

The planted texts are written straight into the database where an export reads them (as an older record, an
import or any future form might have stored them), so the check does not depend on what today's forms accept."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from app.db import db
from tests.competitions.registration_judging_fixtures import world  # noqa: F401  (fixtures of the exports below)
from tests.competitions.results_fixtures import rw  # noqa: F401
from tests.competitions.setup_support import setup  # noqa: F401
from tests.spreadsheets import PREFIXES, assert_formula_free

ROOT = Path(__file__).resolve().parents[1]


def test_only_app_tabular_writes_spreadsheets():
    """One helper writes every export, so none can forget to escape: no other module builds a workbook or a CSV
    writer."""
    writing = re.compile(r"\bWorkbook\s*\(|\bcsv\.(writer|DictWriter)\s*\(|\bWriteOnlyCell\b|\.save\(\s*(buf|out)\b")
    found = []
    for package in ("app", "competitions", "certificates"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith("app/tabular/"):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if writing.search(line):
                    found.append(f"{relative}:{number}: {line.strip()}")
    assert found == [], "write spreadsheets with app.tabular (xlsx_bytes, csv_bytes):\n" + "\n".join(found)


def _planted(kind: str) -> list[str]:
    return [f"{prefix}HYPERLINK(\"http://x.example/?{kind}{i}\",\"{kind}\")" for i, prefix in enumerate(PREFIXES)]


def _scheme(request) -> list[tuple[bytes, str, list[str]]]:
    from competitions.models import Aspect, Criterion, Module
    from tests.competitions.setup_support import sample_scheme

    setting_up = request.getfixturevalue("setup")
    cid = setting_up.create()
    assert setting_up.put(f"/api/v1/competitions/{cid}/scheme", sample_scheme()).status_code == 200
    aspects = db.session.scalars(select(Aspect).join(Criterion).join(Module).where(Module.competition_id == cid)
                                 .order_by(Aspect.id)).all()
    planted = _planted("aspect")
    assert len(aspects) >= len(planted)
    for aspect, name in zip(aspects, planted, strict=False):
        aspect.name = name
    module = db.session.scalars(select(Module).where(Module.competition_id == cid).order_by(Module.id)).first()
    module.name = "=SUM(A1)"
    db.session.commit()
    resp = setting_up.call("organizer", "GET", f"/api/v1/competitions/{cid}/scheme.xlsx")
    assert resp.status_code == 200
    return [(resp.data, "xlsx", [*planted, "=SUM(A1)"])]


def _results(request) -> list[tuple[bytes, str, list[str]]]:
    results = request.getfixturevalue("rw")
    results.fill()
    results.lock_all()
    assert results.post("organizer", "/decode").status_code == 200
    names = _planted("name")
    for worker, name in zip(results.workers, names, strict=False):
        worker.name = name
    results.enterprises[0].name = names[5]
    results.theory.name = "@SUM(A1)"
    db.session.commit()
    resp = results.client.get(results.url("/results.xlsx"), headers=results.headers("organizer"))
    assert resp.status_code == 200
    return [(resp.data, "xlsx", [*names, "@SUM(A1)"])]


def _worker_import(request) -> list[tuple[bytes, str, list[str]]]:
    from app.people.imports import services
    from app.people.models import WorkerImport

    app = request.getfixturevalue("app")
    create_trade = request.getfixturevalue("create_trade")
    trades = _planted("trade")
    for name in trades:
        create_trade(name=name)
    values = _planted("value")
    imp = WorkerImport(id="a" * 32, errors=[{"row": i + 2, "column": "trade", "code": "unknown", "value": v}
                                            for i, v in enumerate(values)])
    with app.test_request_context():
        template = services.template_file()[0]
        return [(template, "xlsx", trades), (services.error_file(imp, "csv")[0], "csv", values),
                (services.error_file(imp, "xlsx")[0], "xlsx", values)]


def _registration(request) -> list[tuple[bytes, str, list[str]]]:
    from competitions.services import registration

    registering = request.getfixturevalue("world")
    names = _planted("name")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["姓名", "证件号码"])
    writer.writerows([name, "110105197505050000"] for name in names)
    data = out.getvalue().encode("utf-8")
    hr = registering.users["hr_a"]
    with registering.client.application.test_request_context():
        files = {fmt: registration.file_errors(hr, registering.competition.id, "名单.csv", data, fmt)[0]
                 for fmt in ("csv", "xlsx", "fix")}
    # the lists name rows, columns and reasons; the file to fix gives the uploaded names back as the reader read
    # them (without leading white space: tab and CR are gone, and so are the formulas they would start)
    return [(files["csv"], "csv", []), (files["xlsx"], "xlsx", []), (files["fix"], "xlsx", names[:4])]


def _certificate_batch(request) -> list[tuple[bytes, str, list[str]]]:
    from certificates.models import CertificateBatch
    from certificates.services import batches

    app = request.getfixturevalue("app")
    names, values = _planted("name"), _planted("value")
    batch = CertificateBatch(id="b" * 32, rows=[{"row": i + 2, "name": n, "state": "bad"} for i, n in enumerate(names)],
                             errors=[{"row": i + 2, "column": "kind", "code": "unknown", "value": v}
                                     for i, v in enumerate(values)])
    with app.test_request_context():
        return [(batches.template_file()[0], "xlsx", []),
                (batches.error_file(batch, "csv")[0], "csv", [*names, *values]),
                (batches.error_file(batch, "xlsx")[0], "xlsx", [*names, *values])]


EXPORTS = {
    "scheme.xlsx": _scheme,
    "results.xlsx": _results,
    "worker import: template, error lists": _worker_import,
    "registration file: error lists, file to fix": _registration,
    "certificate batch: template, error lists": _certificate_batch,
}


@pytest.mark.parametrize("export", EXPORTS)
def test_every_export_escapes_every_formula_prefix(request, export):
    for content, fmt, planted in EXPORTS[export](request):
        assert_formula_free(content, fmt, planted)
