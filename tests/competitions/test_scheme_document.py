"""The scheme document's pure rules (competitions.domain.scheme_document): cells of a scheme sheet, rows into a
document, the document's own checks. No app, no database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from competitions.domain.scheme_document import (
    cell_bool,
    cell_decimal,
    cell_int,
    cell_words,
    document_problems,
    row_of,
    scale_levels,
    scheme_from_rows,
    spec_from_document,
)


@pytest.mark.parametrize(("value", "expected"), [
    (0.1, Decimal("0.1")), (30.0, Decimal("30.0")), (12345.6789, Decimal("12345.6789")), (7, 7), (" 2.5 ", "2.5"),
    (True, True), (float("nan"), "nan"), (float("inf"), "inf"), (None, None),
])
def test_cell_decimal_reads_what_was_typed(value, expected):
    assert cell_decimal(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (3.0, 3), ("5", 5), (" -2 ", -2), (2.5, 2.5), ("1234567", "1234567"), ("x", "x"),
])
def test_cell_int(value, expected):
    assert cell_int(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (True, True), (1, True), (0.0, False), ("是", True), ("否", False), (" Yes ", True), ("N", False), ("√", True),
    ("×", False), ("maybe", "maybe"), (2, "2"),
])
def test_cell_bool(value, expected):
    assert cell_bool(value) == expected


def test_cell_words_split_on_lines_and_bars():
    assert cell_words("差\n 中 |良\n\n优") == ["差", "中", "良", "优"]


def _aspect(**kw):
    base = {"name": "a", "kind": "M", "max_mark": Decimal(10), "scale_min": Decimal(0), "scale_max": Decimal(10),
            "scale_step": Decimal(1), "judges_required": 1, "aggregation": "mean", "trim_k": 0, "normalize": False,
            "uses_difficulty": False}
    base.update(kw)
    return base


def test_scale_levels_and_default_threshold():
    assert scale_levels(spec_from_document(_aspect(scale_max=Decimal(3)), 0, 0)) == 4
    assert scale_levels(spec_from_document(_aspect(scale_step=Decimal("0.3")), 0, 0)) is None
    assert spec_from_document(_aspect(kind="J", judges_required=3), 0, 0).divergence_threshold == Decimal(1)
    assert spec_from_document(_aspect(), 0, 0).divergence_threshold is None


def test_document_problems_name_their_paths():
    doc = {"modules": [
        {"name": "m", "kind": "theory", "criteria": [
            {"name": "c", "aspects": [_aspect(), _aspect(scale_max=Decimal(3), max_mark=Decimal(3),
                                                         level_words=["x", "y"])]},
            {"name": "c", "aspects": []},
        ]},
        {"name": "m", "kind": "practical", "criteria": [{"name": "d", "aspects": [_aspect(name="b")]}]},
    ]}
    found = {(p.path, p.code) for p in document_problems(doc)}
    assert ("modules[0].criteria[0].aspects[1].name", "duplicate_name") in found
    assert ("modules[0].criteria[0].aspects[1].level_words", "level_words_count") in found
    assert ("modules[0].criteria[1].name", "duplicate_name") in found
    assert ("modules[0].criteria[1]", "no_aspects") in found
    assert ("modules[1].name", "duplicate_name") in found
    words = next(p for p in document_problems(doc) if p.code == "level_words_count")
    assert words.params == {"levels": 4}


def test_row_of_climbs_to_the_nearest_row():
    rows = {"modules[0]": 2, "modules[0].criteria[0]": 2, "modules[0].criteria[0].aspects[1]": 3}
    assert row_of("modules[0].criteria[0].aspects[1].scale_step", rows) == 3
    assert row_of("modules[0].weight", rows) == 2
    assert row_of("modules[1].name", rows) is None


def test_scheme_from_rows_groups_modules_and_criteria_and_reports_inconsistent_modules():
    columns = {0: "module", 1: "module_kind", 2: "module_weight", 3: "criterion", 4: "aspect", 5: "kind", 6: "max_mark",
               7: "divergence_threshold", 8: "normalize", 9: "level_words"}
    kinds, aggregations = {"theory": "theory", "实操": "practical"}, {"mean": "mean"}
    rows = [
        (2, ("理论", "theory", 30.0, "笔试", "选择", "m", 60.0, None, "否", None)),
        (3, ("理论", None, None, "笔试", "判断", "M", 40, None, None, None)),
        (4, ("实操", "实操", 70, "工艺", "接线", "J", 20, "-", "是", "差\n好")),
        (5, ("实操", "实操", 60, "工艺", "布线", "J", 20, "2", True, None)),
    ]
    doc, path_rows, problems = scheme_from_rows(rows, columns, module_kinds=kinds, aggregations=aggregations)
    assert [m["name"] for m in doc["modules"]] == ["理论", "实操"]
    theory, practical = doc["modules"]
    assert theory["kind"] == "theory" and theory["weight"] == Decimal("30.0")
    assert [a["name"] for a in theory["criteria"][0]["aspects"]] == ["选择", "判断"]
    assert theory["criteria"][0]["aspects"][0] == {"name": "选择", "kind": "M", "max_mark": Decimal("60.0"),
                                                   "normalize": False}
    assert practical["criteria"][0]["aspects"][0]["divergence_threshold"] is None
    assert practical["criteria"][0]["aspects"][0]["level_words"] == ["差", "好"]
    assert path_rows["modules[1].criteria[0].aspects[1]"] == 5
    assert [(p.path, p.code, p.row) for p in problems] == [("modules[1].weight", "inconsistent", 5)]
