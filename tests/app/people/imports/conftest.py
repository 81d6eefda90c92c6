"""Fixtures for the import tests: two enterprises with HR, trades, a registered worker each, and
helpers that build CSV/XLSX files in code and upload them."""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.accounts.models import Role
from app.db import db
from app.people.imports.domain import TEMPLATE_HEADERS
from app.people.models import Worker, WorkerImport
from tests.conftest import csrf_token, make_resident_id


def resident_id(n: int, born: date = date(1990, 1, 1)) -> str:
    return make_resident_id(n, born)


def row(n: int, **overrides) -> list[str]:
    """A valid row in TEMPLATE_HEADERS order (name, gender, birth, id type, id number, mobile, trade, level)."""
    values = {"name": f"工人{'甲乙丙丁戊己庚辛壬癸'[n % 10]}", "gender": "", "birth_date": "", "id_type": "居民身份证",
              "id_number": resident_id(n, date(1980 + n % 20, 1 + n % 12, 1 + n % 28)), "mobile": f"139{n:08d}",
              "trade": "6-31-01-03", "skill_level": "三级"}
    values.update(overrides)
    return [values["name"], values["gender"], values["birth_date"], values["id_type"], values["id_number"],
            values["mobile"], values["trade"], values["skill_level"]]


def csv_bytes(rows: list[list[str]], header=TEMPLATE_HEADERS, encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list], header=TEMPLATE_HEADERS) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    if header is not None:
        ws.append(list(header))
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def counts() -> tuple[int, int]:
    """(workers, staged imports) — what a refused upload must leave unchanged."""
    return (db.session.scalar(select(func.count()).select_from(Worker)),
            db.session.scalar(select(func.count()).select_from(WorkerImport)))


@pytest.fixture
def world(create_enterprise, create_trade, create_worker, create_user):
    ent_a, ent_b = create_enterprise(name="甲机械厂"), create_enterprise(name="乙化工厂")
    electrician = create_trade(code="6-31-01-03", name="电工")
    welder = create_trade(code="6-18-02-04", name="焊工")
    old = create_trade(code="6-99-99-99", name="旧工种", is_active=False)
    worker_a = create_worker(enterprise=ent_a, name="甲已注册", id_number=resident_id(901))
    worker_b = create_worker(enterprise=ent_b, name="乙已注册", id_number=resident_id(902))
    hr_a = create_user(Role.HR, enterprise=ent_a)
    hr_b = create_user(Role.HR, enterprise=ent_b)
    return {"ent_a": ent_a, "ent_b": ent_b, "electrician": electrician, "welder": welder, "old_trade": old,
            "worker_a": worker_a, "worker_b": worker_b, "hr_a": hr_a, "hr_b": hr_b,
            "id_a": resident_id(901), "id_b": resident_id(902)}


def multipart(fields: dict, data: bytes, filename: str) -> dict:
    """Client arguments for a multipart upload encoded in memory (the test client would spool a large
    body to a temporary file it never closes)."""
    upload = FileStorage(io.BytesIO(data), filename=filename, content_type="application/octet-stream")
    boundary, body = encode_multipart({**fields, "file": upload})
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


class Uploader:
    def __init__(self, client, login) -> None:
        self.client, self.login, self.token = client, login, None

    def as_(self, user) -> Uploader:
        self.login(self.client, user)
        self.token = csrf_token(self.client)
        return self

    def upload(self, data: bytes, filename: str = "workers.csv", url: str = "/workers/import", headers=None, **form):
        return self.client.post(url, **multipart({"csrf_token": self.token, **form}, data, filename), headers=headers)

    def post(self, url: str):
        return self.client.post(url, data={"csrf_token": self.token})


@pytest.fixture
def uploader(client, login):
    return Uploader(client, login)


def import_id_from(resp) -> str:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    return resp.headers["Location"].rstrip("/").split("/")[-1]


@pytest.fixture(autouse=True)
def _english(client):
    """Assertions read the English msgids; the default language is Chinese."""
    client.set_cookie("lang", "en")
