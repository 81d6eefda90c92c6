"""Marking scheme import and export (JSON and XLSX): round trips, every problem with its path, exact decimals,
nothing written on error, no edits once running."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app.db import db
from competitions.domain import AspectSpec, Scheme, validate_scheme
from competitions.models import Aspect, Criterion, DifficultyFactor, Module
from competitions.services import setup as services
from competitions.services.specs import scheme_specs
from tests.competitions import setup_support
from tests.competitions.setup_support import problem_paths, raw_json, sample_scheme, strip_ids

setup = setup_support.setup

pytestmark = pytest.mark.usefixtures("app")


def url(cid: int, suffix: str = "/scheme") -> str:
    return f"/api/v1/competitions/{cid}{suffix}"


def counts() -> tuple[int, int, int]:
    return (db.session.scalar(select(func.count(Module.id))), db.session.scalar(select(func.count(Criterion.id))),
            db.session.scalar(select(func.count(Aspect.id))))


# --- JSON -----------------------------------------------------------------------------------------------------


def test_json_import_export_round_trip(setup):
    cid = setup.with_scheme()
    exported = raw_json(setup.get(url(cid)))
    m0 = exported["modules"][0]
    assert (m0["name"], m0["kind"], m0["weight"], m0["max_mark"]) == ("理论知识", "theory", "30", "100")
    a = exported["modules"][1]["criteria"][1]["aspects"][0]
    assert a == {"id": a["id"], "name": "接线工艺", "kind": "J", "max_mark": "20", "scale_min": "0", "scale_max": "10",
                 "scale_step": "0.5", "judges_required": 5, "aggregation": "trimmed_mean", "trim_k": 1,
                 "normalize": True, "uses_difficulty": False, "divergence_threshold": "2", "level_words": []}
    # defaults: a J aspect without a threshold gets 1, an explicit null stays null, an M aspect gets none
    safety = exported["modules"][1]["criteria"][0]["aspects"][0]
    assert safety["divergence_threshold"] == "1" and safety["level_words"] == ["不合格", "合格", "良好", "优秀"]
    assert exported["modules"][1]["criteria"][1]["aspects"][1]["divergence_threshold"] is None
    assert exported["modules"][0]["criteria"][0]["aspects"][0]["divergence_threshold"] is None

    # export → import (into another competition) → export gives the same scheme
    other = setup.create(name="另一场")
    resp = setup.put(url(other), exported)
    assert resp.status_code == 200, resp.get_json()
    assert strip_ids(raw_json(setup.get(url(other)))) == strip_ids(exported)
    # re-importing into the same competition keeps every id (rows are reused by position)
    assert raw_json(setup.put(url(cid), exported)) == exported
    audit = setup.audit("scheme_replaced", cid)
    assert len(audit) == 2 and audit[-1].details["aspects"] == 6 and audit[-1].details["source"] == "json"


def test_engine_specs_of_the_stored_scheme(setup):
    cid = setup.with_scheme()
    scheme = scheme_specs(setup.competition(cid))
    assert isinstance(scheme, Scheme) and validate_scheme(scheme) == []
    assert [m.weight for m in scheme.modules] == [Decimal(30), Decimal(70)]
    dive = next(a for a in scheme.aspects if a.uses_difficulty)
    assert isinstance(dive, AspectSpec) and dive.trim_k == 2 and dive.judges_required == 7
    assert dive.id == db.session.scalar(select(Aspect.id).where(Aspect.name == "难度动作"))
    assert dive.module_id == scheme.modules[1].id


def test_replacing_keeps_rows_by_position_and_drops_the_rest(setup):
    cid = setup.with_scheme()
    before = raw_json(setup.get(url(cid)))
    smaller = sample_scheme()
    smaller["modules"][1]["criteria"] = smaller["modules"][1]["criteria"][:1]  # drop 工艺质量
    smaller["modules"][0]["weight"], smaller["modules"][1]["weight"] = "40", "60"
    smaller["modules"].append({"name": "综合", "kind": "other", "weight": None, "criteria": [
        {"name": "答辩", "aspects": [{"name": "答辩表现", "kind": "M", "max_mark": "5", "scale_max": "5"}]}]})
    for m in smaller["modules"]:
        m["weight"] = None
    after = raw_json(setup.put(url(cid), smaller))
    assert [m["id"] for m in after["modules"][:2]] == [m["id"] for m in before["modules"]]
    assert len(after["modules"][1]["criteria"]) == 1
    assert counts() == (3, 3, 4)


def test_replacing_drops_difficulty_factors_of_aspects_that_no_longer_use_them(setup):
    cid = setup.with_scheme()
    entry = setup.entry(cid)
    dive = db.session.scalar(select(Aspect).where(Aspect.name == "难度动作"))
    resp = setup.put(url(cid, "/difficulty"), [{"entry_id": entry.id, "aspect_id": dive.id, "factor": "2.5"}])
    assert resp.status_code == 200
    scheme = sample_scheme()
    assert setup.put(url(cid), scheme).status_code == 200
    assert db.session.scalar(select(func.count(DifficultyFactor.id))) == 1  # unchanged aspect: kept
    scheme["modules"][1]["criteria"][1]["aspects"][1]["uses_difficulty"] = False
    scheme["modules"][1]["criteria"][1]["aspects"][1]["max_mark"] = "30"
    scheme["modules"][1]["criteria"][1]["aspects"][1]["normalize"] = True
    assert setup.put(url(cid), scheme).status_code == 200, setup.put(url(cid), scheme).get_json()
    assert db.session.scalar(select(func.count(DifficultyFactor.id))) == 0


def _invalid(mutate):
    doc = sample_scheme()
    mutate(doc)
    return doc


def _aspect(doc, m, c, a):
    return doc["modules"][m]["criteria"][c]["aspects"][a]


INVALID = [
    ("weights not summing to 100", lambda d: d["modules"][1].update(weight="60"), ["modules"]),
    ("one module without a weight", lambda d: d["modules"][1].update(weight=None), ["modules[1].weight", "modules"]),
    ("step not dividing the range", lambda d: _aspect(d, 0, 0, 0).update(scale_step="0.7"),
     ["modules[0].criteria[0].aspects[0].scale_step"]),
    ("trim too large for the judges", lambda d: _aspect(d, 1, 1, 0).update(trim_k=3),
     ["modules[1].criteria[1].aspects[0].trim_k"]),
    ("empty module", lambda d: d["modules"][0].update(criteria=[]), ["modules[0]"]),
    ("empty criterion", lambda d: d["modules"][1]["criteria"][0].update(aspects=[]), ["modules[1].criteria[0]"]),
    ("no modules", lambda d: d.update(modules=[]), ["modules"]),
    ("max mark the scale cannot reach", lambda d: _aspect(d, 0, 0, 1).update(max_mark="50"),
     ["modules[0].criteria[0].aspects[1].max_mark"]),
    ("module max mark given and wrong", lambda d: d["modules"][0].update(max_mark="90"), ["modules[0].max_mark"]),
    ("judgement with one judge", lambda d: _aspect(d, 1, 0, 0).update(judges_required=1),
     ["modules[1].criteria[0].aspects[0].judges_required"]),
    ("scale max below min", lambda d: _aspect(d, 0, 0, 1).update(scale_min="50"),
     ["modules[0].criteria[0].aspects[1].scale_max"]),
    ("level words not matching the scale", lambda d: _aspect(d, 1, 0, 0).update(level_words=["差", "好"]),
     ["modules[1].criteria[0].aspects[0].level_words"]),
    ("duplicate module names", lambda d: d["modules"][1].update(name="理论知识"), ["modules[1].name"]),
    ("negative threshold", lambda d: _aspect(d, 1, 1, 0).update(divergence_threshold="-1"),
     ["modules[1].criteria[1].aspects[0].divergence_threshold"]),
    # structural problems (before the engine's checks)
    ("unknown aspect kind", lambda d: _aspect(d, 1, 1, 2).update(kind="X"), ["modules[1].criteria[1].aspects[2].kind"]),
    ("missing max mark", lambda d: _aspect(d, 1, 1, 2).pop("max_mark"), ["modules[1].criteria[1].aspects[2].max_mark"]),
    ("misspelt field", lambda d: _aspect(d, 1, 1, 2).update(scale_stp="1"),
     ["modules[1].criteria[1].aspects[2].scale_stp"]),
    ("judges as text", lambda d: _aspect(d, 1, 0, 0).update(judges_required="3"),
     ["modules[1].criteria[0].aspects[0].judges_required"]),
    ("too many decimal places", lambda d: _aspect(d, 1, 1, 2).update(scale_step="0.00001"),
     ["modules[1].criteria[1].aspects[2].scale_step"]),
    ("NaN as text", lambda d: _aspect(d, 1, 1, 2).update(max_mark="NaN"), ["modules[1].criteria[1].aspects[2].max_mark"]),
    ("huge", lambda d: _aspect(d, 1, 1, 2).update(max_mark="1e12"), ["modules[1].criteria[1].aspects[2].max_mark"]),
    ("unknown aggregation", lambda d: _aspect(d, 1, 1, 0).update(aggregation="mode"),
     ["modules[1].criteria[1].aspects[0].aggregation"]),
]


@pytest.mark.parametrize("name, mutate, paths", INVALID, ids=[i[0] for i in INVALID])
def test_invalid_schemes_are_422_with_paths_and_nothing_written(setup, name, mutate, paths):
    cid = setup.with_scheme()
    before_doc, before_counts = raw_json(setup.get(url(cid))), counts()
    resp = setup.put(url(cid), _invalid(mutate))
    assert resp.status_code == 422, resp.get_json()
    assert problem_paths(resp) == paths
    assert all(p["message"] and p["code"] for p in resp.get_json()["error"]["details"]["problems"])
    assert raw_json(setup.get(url(cid))) == before_doc and counts() == before_counts
    assert len(setup.audit("scheme_replaced", cid)) == 1


def test_every_problem_is_reported_at_once(setup):
    cid = setup.create()
    doc = sample_scheme()
    doc["modules"][1]["weight"] = "60"
    _aspect(doc, 0, 0, 0)["scale_step"] = "0.7"
    _aspect(doc, 1, 1, 0)["trim_k"] = 3
    resp = setup.call("organizer", "PUT", url(cid), doc, headers={"Accept-Language": "en"})
    assert resp.status_code == 422
    assert resp.get_json()["error"]["code"] == "invalid_scheme"
    problems = {p["path"]: p for p in resp.get_json()["error"]["details"]["problems"]}
    assert set(problems) == {"modules", "modules[0].criteria[0].aspects[0].scale_step",
                             "modules[1].criteria[1].aspects[0].trim_k"}
    assert problems["modules[0].criteria[0].aspects[0].scale_step"]["message"] == (
        "The step must divide the range from the scale minimum to the scale maximum.")
    assert problems["modules"]["code"] == "weights_not_100"
    assert counts() == (0, 0, 0)


def test_json_numbers_are_read_exactly(setup):
    cid = setup.create()
    # weights that add up to exactly 100, and a step that divides its range, only in decimal arithmetic
    assert 67.89 + 28.35 + 3.76 != 100 and 0.3 / 0.1 != 3
    body = """{"modules": [
      {"name": "甲", "kind": "theory", "weight": 67.89, "criteria": [{"name": "c", "aspects": [
        {"name": "a", "kind": "M", "max_mark": 0.3, "scale_max": 0.3, "scale_step": 0.1}]}]},
      {"name": "乙", "kind": "practical", "weight": 28.35, "criteria": [{"name": "c", "aspects": [
        {"name": "a", "kind": "M", "max_mark": 1E+1, "scale_max": 10, "scale_step": 0.25}]}]},
      {"name": "丙", "kind": "other", "weight": 3.76, "criteria": [{"name": "c", "aspects": [
        {"name": "a", "kind": "J", "max_mark": 3, "scale_max": 3, "judges_required": 3, "divergence_threshold": 1.5}]}]}
    ]}"""
    resp = setup.call("organizer", "PUT", url(cid), raw=body)
    assert resp.status_code == 200, resp.get_json()
    doc = raw_json(resp)
    assert [m["weight"] for m in doc["modules"]] == ["67.89", "28.35", "3.76"]
    assert doc["modules"][0]["criteria"][0]["aspects"][0]["scale_step"] == "0.1"
    assert doc["modules"][1]["criteria"][0]["aspects"][0]["max_mark"] == "10"
    stored = db.session.scalar(select(Aspect).where(Aspect.scale_step == Decimal("0.1")))
    assert stored.max_mark == Decimal("0.3")  # exactly, on SQLite and PostgreSQL


def test_json_numbers_beyond_the_stored_precision_are_refused_not_rounded(setup):
    cid = setup.create()
    body = '{"modules": [{"name": "m", "kind": "theory", "criteria": [{"name": "c", "aspects": [' \
        '{"name": "a", "kind": "M", "max_mark": 0.30000000000000001, "scale_max": 1}]}]}]}'
    resp = setup.call("organizer", "PUT", url(cid), raw=body)
    assert resp.status_code == 422
    assert problem_paths(resp) == ["modules[0].criteria[0].aspects[0].max_mark"]
    for constant in ("NaN", "Infinity", "-Infinity"):
        resp = setup.call("organizer", "PUT", url(cid), raw=body.replace("0.30000000000000001", constant))
        assert resp.status_code == 400, constant
    assert counts() == (0, 0, 0)


def test_booleans_are_not_numbers(setup):
    cid = setup.create()
    doc = sample_scheme()
    _aspect(doc, 0, 0, 1)["max_mark"] = True
    _aspect(doc, 0, 0, 0)["judges_required"] = True
    resp = setup.put(url(cid), doc)
    assert resp.status_code == 422
    assert problem_paths(resp) == ["modules[0].criteria[0].aspects[0].judges_required",
                                   "modules[0].criteria[0].aspects[1].max_mark"]


@pytest.mark.parametrize("state, allowed", [
    ("draft", True), ("registration_open", True), ("registration_closed", True),
    ("running", False), ("scoring_closed", False),
])
def test_scheme_is_editable_until_the_competition_runs(setup, state, allowed):
    cid = setup.with_scheme()
    setup.run_to(cid, state)
    doc = sample_scheme()
    doc["modules"][0]["name"] = "理论"
    resp = setup.put(url(cid), doc)
    upload = setup.call("organizer", "POST", url(cid, "/scheme.xlsx"),
                        data={"file": (io.BytesIO(_xlsx_of(setup, cid)), "scheme.xlsx")})
    if allowed:
        assert resp.status_code == 200 and upload.status_code == 200, (resp.get_json(), upload.get_json())
    else:
        assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "scheme_locked"
        assert upload.status_code == 409
        assert raw_json(setup.get(url(cid)))["modules"][0]["name"] == "理论知识"


def test_check_reports_the_stored_schemes_problems(setup):
    cid = setup.create()
    check = setup.get(url(cid, "/scheme/check")).get_json()
    assert check["valid"] is False and [(p["path"], p["code"]) for p in check["problems"]] == [("modules", "empty")]
    cid = setup.with_scheme()
    assert setup.get(url(cid, "/scheme/check")).get_json() == {"valid": True, "problems": []}


# --- XLSX -----------------------------------------------------------------------------------------------------


def _xlsx_of(world, cid: int, lang: str = "en") -> bytes:
    resp = world.call("organizer", "GET", url(cid, "/scheme.xlsx"), headers={"Accept-Language": lang})
    assert resp.status_code == 200
    assert resp.mimetype == services.XLSX_MIMETYPE
    return resp.data


def _upload(world, cid: int, content: bytes, lang: str = "en"):
    return world.call("organizer", "POST", url(cid, "/scheme.xlsx"), headers={"Accept-Language": lang},
                      data={"file": (io.BytesIO(content), "scheme.xlsx")}, content_type="multipart/form-data")


def _sheet(content: bytes):
    return openpyxl.load_workbook(io.BytesIO(content)).active


def _save(ws) -> bytes:
    out = io.BytesIO()
    ws.parent.save(out)
    return out.getvalue()


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_xlsx_export_import_round_trip(setup, lang):
    cid = setup.with_scheme()
    exported = raw_json(setup.get(url(cid)))
    content = _xlsx_of(setup, cid, lang)
    ws = _sheet(content)
    assert ws.max_row == 7  # header + one row per aspect
    other = setup.create(name="另一场")
    resp = _upload(setup, other, content, lang)
    assert resp.status_code == 200, resp.get_json()
    assert strip_ids(raw_json(setup.get(url(other)))) == strip_ids(exported)
    assert setup.audit("scheme_replaced", other)[-1].details["source"] == "xlsx"


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_xlsx_export_escapes_formula_cells_and_reads_them_back(setup, prefix):
    doc = sample_scheme()
    doc["modules"][1]["name"] = prefix + "SUM(A1)"
    doc["modules"][1]["criteria"][0]["name"] = prefix + "cmd|' /C calc'!A0"
    doc["modules"][1]["criteria"][0]["aspects"][0]["level_words"] = [prefix + "差", "合格", "良好", "优秀"]
    cid = setup.create()
    assert setup.put(url(cid), doc).status_code == 200
    stored = raw_json(setup.get(url(cid)))
    content = _xlsx_of(setup, cid)
    cells = [c for row in _sheet(content).iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert not any(t[0] in "=+-@\t\r" for t in texts)
    assert "'-" in texts  # the divergence threshold "never" as well
    other = setup.create(name="另一场")
    resp = _upload(setup, other, content)
    assert resp.status_code == 200, resp.get_json()
    assert strip_ids(raw_json(setup.get(url(other)))) == strip_ids(stored)


def test_xlsx_headers_in_the_other_language_and_codes_are_understood(setup):
    cid = setup.with_scheme()
    ws = _sheet(_xlsx_of(setup, cid, "en"))
    ws.cell(row=1, column=1).value = "module"  # the column code
    with force_locale("zh_CN"):
        ws.cell(row=1, column=5).value = str(dict(services.XLSX_COLUMNS)["aspect"])
    other = setup.create(name="另一场")
    resp = _upload(setup, other, _save(ws), "en")
    assert resp.status_code == 200, resp.get_json()


def test_xlsx_problems_name_the_row(setup):
    cid = setup.with_scheme()
    ws = _sheet(_xlsx_of(setup, cid))
    ws.cell(row=3, column=10).value = 0.7  # scale step of 判断题 (0–40)
    ws.cell(row=5, column=3).value = 60  # a different weight on a later row of 实际操作
    before = raw_json(setup.get(url(cid)))
    resp = _upload(setup, cid, _save(ws))
    assert resp.status_code == 422
    problems = resp.get_json()["error"]["details"]["problems"]
    assert [(p["path"], p["row"]) for p in problems] == [("modules[1].weight", 5)]
    ws.cell(row=5, column=3).value = 70
    resp = _upload(setup, cid, _save(ws))
    problems = resp.get_json()["error"]["details"]["problems"]
    assert [(p["path"], p["row"]) for p in problems] == [("modules[0].criteria[0].aspects[1].scale_step", 3)]
    assert raw_json(setup.get(url(cid))) == before


def test_xlsx_unknown_and_missing_columns(setup):
    cid = setup.create()
    wb = openpyxl.Workbook()
    wb.active.append(["Module", "Criterion", "Aspect", "Type (M/J)", "Colour"])
    wb.active.append(["m", "c", "a", "M", "red"])
    out = io.BytesIO()
    wb.save(out)
    resp = _upload(setup, cid, out.getvalue())
    assert resp.status_code == 422
    assert problem_paths(resp) == ["columns[4]", "columns.max_mark", "columns.scale_max"]


def test_xlsx_minimal_sheet_with_defaults_words_and_labels(setup):
    cid = setup.create()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["module", "module_kind", "criterion", "aspect", "kind", "max_mark", "scale_max", "judges_required",
               "aggregation", "divergence_threshold", "level_words", "normalize"])
    ws.append(["实操", "Practical", "工艺", "美观", "j", 10, 3, 3, "Median", "-", "差\n中\n良|优", "yes"])
    ws.append(["实操", None, "工艺", "规范", "M", 5, 5, None, None, None, None, None])
    out = io.BytesIO()
    wb.save(out)
    resp = _upload(setup, cid, out.getvalue())
    assert resp.status_code == 200, resp.get_json()
    doc = raw_json(resp)
    module = doc["modules"][0]
    assert (module["name"], module["kind"], module["weight"]) == ("实操", "practical", None)
    first, second = module["criteria"][0]["aspects"]
    assert first["kind"] == "J" and first["aggregation"] == "median" and first["normalize"] is True
    assert first["divergence_threshold"] is None and first["level_words"] == ["差", "中", "良", "优"]
    assert second["judges_required"] == 1 and second["scale_step"] == "1" and second["scale_min"] == "0"


def test_not_a_workbook(setup):
    cid = setup.create()
    resp = _upload(setup, cid, b"name,kind\nx,M\n")
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "bad_xlsx"
    empty = openpyxl.Workbook()
    out = io.BytesIO()
    empty.save(out)
    resp = _upload(setup, cid, out.getvalue())
    assert resp.status_code == 422 and problem_paths(resp) == [""]
