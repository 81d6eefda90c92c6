"""The file of a batch: its columns (Chinese and English headers), reading it with ``app.tabular``, and checking
every row (worker, name, kind, subject, achievement, issue date, printable text, duplicates in the file).

A row whose certificate already exists (live) is not an error: it is "already issued" and its existing PDF goes into
the ZIP. The messages of the row problems are in ``messages``.
"""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import date
from typing import Any

from sqlalchemy import select

from app import tabular
from app.crypto import id_cipher
from app.db import db
from app.people.imports import domain as import_domain
from app.people.models import Worker
from certificates.services.batches.common import ACHIEVEMENT_MAX, DETAIL_MAX, SUBJECT_MAX, live_certificates

FIELDS = ("name", "id_type", "id_number", "worker_no", "kind", "subject", "achievement", "issued_on",
          "occupation", "level")

_HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "获证人", "name", "full name", "holder name"),
    "id_type": ("证件类型", "证件种类", "id type", "document type"),
    "id_number": ("证件号码", "证件号", "身份证号", "身份证号码", "公民身份号码", "id number", "id no", "document number"),
    "worker_no": ("人员编号", "职工编号", "编号", "worker number", "worker no", "worker id"),
    "kind": ("证书类型", "证书种类", "证书类别", "kind", "certificate kind", "certificate type"),
    "subject": ("证书事项", "事项", "项目", "颁发事由", "竞赛名称", "活动名称", "subject", "event", "competition"),
    "achievement": ("获奖等级", "奖项", "荣誉", "成绩", "证书内容", "获得荣誉", "achievement", "award", "honour",
                    "honor"),
    "issued_on": ("发证日期", "颁发日期", "证书日期", "issue date", "issued on", "date"),
    "occupation": ("职业名称", "职业(工种)", "职业（工种）", "工种", "职业", "occupation", "trade"),
    "level": ("职业技能等级", "技能等级", "等级", "skill level", "level"),
}
# The template's headers are the first aliases (what a "missing columns" message names).
LAYOUT = tabular.Layout(tuple(tabular.Column(f, _HEADER_NAMES[f], numeric_id=f == "id_number") for f in FIELDS),
                        required=(("name",), ("id_number", "worker_no")))

# The kind column's words (Chinese, English, codes) → CertificateKind values.
KIND_WORDS: dict[str, str] = {
    "获奖证书": "award", "荣誉证书": "award", "获奖": "award", "奖状": "award", "award": "award",
    "参赛证书": "participation", "参赛": "participation", "participation": "participation",
    "职业技能等级证书": "skill_level", "技能等级证书": "skill_level", "技能等级": "skill_level",
    "skill level": "skill_level", "skill_level": "skill_level",
    "出师证书": "apprentice_graduation", "出师": "apprentice_graduation",
    "apprentice graduation": "apprentice_graduation", "apprentice_graduation": "apprentice_graduation",
    "工匠称号": "craftsman_title", "工匠": "craftsman_title", "craftsman title": "craftsman_title",
    "craftsman_title": "craftsman_title",
    "工作室荣誉": "studio_honor", "创新工作室荣誉": "studio_honor", "studio honor": "studio_honor",
    "studio_honor": "studio_honor",
}

TEMPLATE_HEADERS = ("姓名", "证件号码", "证书类型", "证书事项", "获奖等级", "发证日期")
TEMPLATE_EXAMPLE = ("张三", "11010519491231002X", "获奖证书", "2026年市职工职业技能大赛 焊工赛项", "一等奖", "2026-05-20")


def read_file(filename: str, data: bytes, max_rows: int, max_bytes: int | None = tabular.MAX_BYTES
              ) -> tuple[list[tuple[int, dict[str, str]]], set[str]]:
    """(row number, field → text) for every non-blank data row, and the fields found in the header.

    ``app.tabular`` reads it (format, encodings, header aliases, duplicate and missing columns, limits); raises
    ``app.tabular.FileError`` for a file that cannot be read.
    """
    table = tabular.read_table(filename, data, LAYOUT, max_rows=max_rows, max_bytes=max_bytes)
    return [(number, dict(zip(FIELDS, cells, strict=True))) for number, cells in table.rows], set(table.headers)


def subject_key_for(subject: str) -> str:
    """The same subject text (after NFKC and whitespace folding) always gives the same key."""
    text = " ".join(unicodedata.normalize("NFKC", subject).split())
    return "subject:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


def _glyph_error(column: str, text: str) -> dict[str, Any] | None:
    from app.pdf import missing_glyphs

    missing = missing_glyphs(text)
    if not missing:
        return None
    return {"column": column, "code": "glyphs", "chars": "、".join(dict.fromkeys(missing))}


def _parse_date(text: str) -> date | str | None:
    if not text:
        return None
    parsed = import_domain.parse_birth_date(text)  # the same spellings as dates of birth
    return parsed if isinstance(parsed, date) else "format"


def _lookup_workers(hashes: list[str], numbers: list[int]) -> tuple[dict[str, Worker], dict[int, Worker]]:
    by_hash: dict[str, Worker] = {}
    by_id: dict[int, Worker] = {}
    for i in range(0, len(hashes), 1000):
        for w in db.session.scalars(select(Worker).where(Worker.id_hash.in_(hashes[i:i + 1000]))):
            by_hash[w.id_hash] = w
            by_id[w.id] = w
    wanted = [n for n in numbers if n not in by_id]
    for i in range(0, len(wanted), 1000):
        for w in db.session.scalars(select(Worker).where(Worker.id.in_(wanted[i:i + 1000]))):
            by_id[w.id] = w
    return by_hash, by_id


def check_rows(actor, rows: list[tuple[int, dict[str, str]]], *, enterprise_id: int | None, default_kind: str | None,
               default_subject: str = "", default_issued_on: date | None = None,
               today: date | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Check every row; return (staged rows, errors). A staged row's ``state`` is ok | issued | bad."""
    from certificates.services import keys
    from certificates.services.issuance import today as issue_today

    today = today or issue_today()
    earliest = keys.active_key().record.valid_from  # issue_certificate refuses earlier dates
    cipher = id_cipher()
    birth_cache: dict[str, date | None] = {}
    today_ymd = today.strftime("%Y%m%d")
    errors: list[dict[str, Any]] = []
    staged: list[dict[str, Any]] = []
    pending: list[tuple[dict[str, Any], list[dict[str, Any]], str | None, int | None]] = []

    for number, v in rows:
        row_errors: list[dict[str, Any]] = []
        for f, text in list(v.items()):
            if text and text != tabular.LOST_DIGITS and tabular.looks_like_formula(text):
                row_errors.append({"column": f, "code": "formula"})
                v[f] = ""
        name = " ".join(v.get("name", "").split())
        if not name:
            row_errors.append({"column": "name", "code": "missing"})
        # who: ID number (hashed as the registry does) or the registry's worker number
        id_hash = worker_no = None
        id_text = v.get("id_number", "")
        id_last4 = ""
        if id_text == tabular.LOST_DIGITS:
            row_errors.append({"column": "id_number", "code": "as_number"})
        elif id_text:
            type_text = v.get("id_type", "")
            id_type = import_domain.ID_TYPES.get(type_text) if type_text else "resident"
            if id_type is None:
                id_type = import_domain.ID_TYPES.get(" ".join(type_text.lower().replace("_", " ").split()))
            number_n = import_domain.normalize_id_text(id_text)
            if id_type is None:
                row_errors.append({"column": "id_type", "code": "unknown", "value": type_text[:64]})
            elif id_type == "resident" and import_domain.resident_id_problem(number_n, today_ymd, birth_cache):
                row_errors.append({"column": "id_number", "code": "invalid"})
            else:
                id_hash = cipher.hash(id_type, number_n)
                id_last4 = number_n[-4:]
        elif v.get("worker_no", ""):
            text = unicodedata.normalize("NFKC", v["worker_no"]).strip()
            if text.endswith(".0"):
                text = text[:-2]
            if text.isdigit() and 0 < int(text) < 2**31:
                worker_no = int(text)
            else:
                row_errors.append({"column": "worker_no", "code": "invalid", "value": v["worker_no"][:64]})
        elif not any(e["column"] in ("id_number", "id_type", "worker_no") for e in row_errors):
            row_errors.append({"column": "worker", "code": "missing"})

        kind_text = v.get("kind", "")
        kind = None
        if kind_text:
            kind = KIND_WORDS.get(kind_text) or KIND_WORDS.get(" ".join(kind_text.lower().split()))
            if kind is None:
                row_errors.append({"column": "kind", "code": "unknown", "value": kind_text[:64]})
        elif default_kind:
            kind = default_kind
        else:
            row_errors.append({"column": "kind", "code": "missing"})

        subject = " ".join((v.get("subject", "") or default_subject).split())
        achievement = " ".join(v.get("achievement", "").split())
        for column, text, limit in (("subject", subject, SUBJECT_MAX), ("achievement", achievement, ACHIEVEMENT_MAX)):
            if not text:
                row_errors.append({"column": column, "code": "missing"})
            elif len(text) > limit:
                row_errors.append({"column": column, "code": "length"})
            elif (err := _glyph_error(column, text)) is not None:
                row_errors.append(err)
        details: dict[str, Any] = {"subject": subject[:SUBJECT_MAX]} if subject else {}
        for column, key in (("occupation", "occupation"), ("level", "skill_level")):
            text = " ".join(v.get(column, "").split())
            if not text:
                continue
            if len(text) > DETAIL_MAX:
                row_errors.append({"column": column, "code": "length"})
            elif (err := _glyph_error(column, text)) is not None:
                row_errors.append(err)
            else:
                details[key] = text
        issued = _parse_date(v.get("issued_on", ""))
        if issued == "format":
            row_errors.append({"column": "issued_on", "code": "format", "value": v.get("issued_on", "")[:64]})
            issued = None
        elif issued is None:
            issued = default_issued_on
        if isinstance(issued, date) and issued > today:
            row_errors.append({"column": "issued_on", "code": "future"})
        elif isinstance(issued, date) and issued < earliest:
            row_errors.append({"column": "issued_on", "code": "before_key", "day": earliest.isoformat()})
        row = {"row": number, "name": name[:100], "worker_id": None, "id_last4": id_last4, "kind": kind,
               "subject": subject[:SUBJECT_MAX], "subject_key": subject_key_for(subject) if subject else None,
               "achievement": achievement[:ACHIEVEMENT_MAX], "details": details,
               "issued_on": issued.isoformat() if isinstance(issued, date) else None, "state": "ok"}
        staged.append(row)
        pending.append((row, row_errors, id_hash, worker_no))

    by_hash, by_id = _lookup_workers([p[2] for p in pending if p[2]], [p[3] for p in pending if p[3]])
    seen: dict[tuple[str, str, str], int] = {}
    for row, row_errors, id_hash, worker_no in pending:
        worker = by_hash.get(id_hash) if id_hash else by_id.get(worker_no) if worker_no else None
        if (id_hash or worker_no) and worker is None:
            row_errors.append({"column": "worker", "code": "unknown"})
        elif worker is not None:
            if enterprise_id is not None and worker.enterprise_id != enterprise_id:
                row_errors.append({"column": "worker", "code": "other_enterprise"})  # never name it
            else:
                row["worker_id"] = worker.id
                row["id_last4"] = row["id_last4"] or worker.id_last4
                if row["name"] and " ".join(worker.name.split()) != row["name"]:
                    row_errors.append({"column": "name", "code": "mismatch", "registered": worker.name})
                elif row["name"] and (err := _glyph_error("name", worker.name)) is not None:
                    row_errors.append(err)
        if not row_errors and row["worker_id"] and row["kind"] and row["subject_key"]:
            key = (f"worker:{row['worker_id']}", row["subject_key"], row["kind"])
            first = seen.get(key)
            if first is not None:
                row_errors.append({"column": "row", "code": "duplicate", "first_row": first})
            else:
                seen[key] = row["row"]
        if row_errors:
            row["state"] = "bad"
            for e in row_errors:
                errors.append({"row": row["row"], **e})
    live = live_certificates(set(seen))
    for row in staged:
        if row["state"] == "ok":
            c = live.get((f"worker:{row['worker_id']}", row["subject_key"], row["kind"]))
            if c is not None:
                row["state"] = "issued"
                row["serial"] = c.serial
    return staged, errors
