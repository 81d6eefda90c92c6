"""Mark values (pure helpers: parsing, the storage guard before ``validate_mark``, canonical form) and the marks
read by results (``current_marks``: counted marks only, a fixed number of queries)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.db import db
from competitions.domain import AspectSpec, MarkProblem, validate_mark
from competitions.services.marks import canonical, check_value, current_marks, parse_value, text_of
from tests.competitions import marks_fixtures
from tests.competitions.marks_fixtures import item
from tests.conftest import statements_run

mw = marks_fixtures.mw

SPEC = AspectSpec(id=1, module_id=1, kind="J", max_mark=Decimal(10), scale_min=Decimal(0), scale_max=Decimal(10),
                  scale_step=Decimal("0.5"), judges_required=3)
FINE = AspectSpec(id=2, module_id=1, kind="M", max_mark=Decimal(100), scale_min=Decimal(-5), scale_max=Decimal(100),
                  scale_step=Decimal("0.0001"))


@pytest.mark.parametrize(("raw", "expected"), [
    ("2.5", Decimal("2.5")), (" 3 ", Decimal(3)), ("1e1", Decimal(10)), ("+1", Decimal(1)), (".5", Decimal("0.5")),
    ("5.", Decimal(5)), (Decimal("2.50"), Decimal("2.50")), (7, Decimal(7)), ("-0", Decimal(0)),
    ("abc", MarkProblem.NOT_DECIMAL), ("", MarkProblem.NOT_DECIMAL), ("1,5", MarkProblem.NOT_DECIMAL),
    ("1_000", MarkProblem.NOT_DECIMAL), ("0x10", MarkProblem.NOT_DECIMAL), ("١٢", MarkProblem.NOT_DECIMAL),
    ("2.5" + "0" * 70, MarkProblem.NOT_DECIMAL), (None, MarkProblem.NOT_DECIMAL), (True, MarkProblem.NOT_DECIMAL),
    (2.5, MarkProblem.NOT_DECIMAL), ([1], MarkProblem.NOT_DECIMAL), ({"v": 1}, MarkProblem.NOT_DECIMAL),
    ("NaN", MarkProblem.NOT_FINITE), ("-inf", MarkProblem.NOT_FINITE), ("Infinity", MarkProblem.NOT_FINITE),
    ("sNaN", MarkProblem.NOT_FINITE), (Decimal("NaN"), MarkProblem.NOT_FINITE), (Decimal("-Infinity"), MarkProblem.NOT_FINITE),
])
def test_parse_value(raw, expected):
    assert parse_value(raw) == expected if isinstance(expected, MarkProblem) else parse_value(raw) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("0", None), ("10", None), ("9.5", None), ("9.50000", None), ("-0", None),
    ("10.5", MarkProblem.ABOVE_MAX), ("-0.5", MarkProblem.BELOW_MIN), ("9.25", MarkProblem.OFF_STEP),
    ("1e308", MarkProblem.ABOVE_MAX), ("-1e308", MarkProblem.BELOW_MIN), ("1e999999999", MarkProblem.ABOVE_MAX),
    ("1e-999999999", MarkProblem.OFF_STEP), ("-1e-999999999", MarkProblem.BELOW_MIN),
    ("0.30000000000000004", MarkProblem.OFF_STEP), ("2.0000000000000000000000000000001", MarkProblem.OFF_STEP),
    ("NaN", MarkProblem.NOT_FINITE),
])
def test_check_value(value, expected):
    assert check_value(SPEC, Decimal(value)) == expected


def test_check_value_guards_storage_of_fine_scales():
    assert check_value(FINE, Decimal("12.3456")) is None
    assert check_value(FINE, Decimal("12.34567")) is MarkProblem.OFF_STEP  # NUMERIC(14, 4) would round it
    assert check_value(FINE, Decimal("-5")) is None


@pytest.mark.parametrize(("value", "text"), [
    ("2.5000", "2.5"), ("3.0000", "3"), ("100", "100"), ("1E+2", "100"), ("-0", "0"), ("0.0000", "0"),
    ("0.0001", "0.0001"), ("-2.50", "-2.5"), ("1234567890.1234", "1234567890.1234"),
])
def test_canonical_text(value, text):
    assert text_of(Decimal(value)) == text
    assert canonical(Decimal(value)) == Decimal(value)


@given(st.decimals(min_value=-20, max_value=20, places=4, allow_nan=False, allow_infinity=False))
def test_storage_guard_agrees_with_the_engine_on_storable_values(value):
    assert check_value(SPEC, value) == validate_mark(SPEC, value)
    assert check_value(FINE, value) == validate_mark(FINE, value)


@given(st.decimals(allow_nan=True, allow_infinity=True))
def test_check_value_never_raises_and_accepts_only_valid_storable_marks(value):
    problem = check_value(SPEC, value)
    if problem is None:
        assert validate_mark(SPEC, value) is None
        assert Decimal(text_of(value)) == value


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-10**9, max_value=10**9))
def test_canonical_keeps_the_value_and_has_no_exponent(value):
    assert canonical(value) == value
    assert "E" not in text_of(value).upper()


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_canonical_is_the_one_form_of_its_value(value):
    """Whatever form a value arrives in (2.5, 2.50, 25E-1), its canonical form is the same: no trailing zero after
    the point, no positive exponent up to 1E+20, no negative zero."""
    form = canonical(value).as_tuple()
    for other in (value.quantize(Decimal(1)) if value == value.to_integral_value() and abs(value) < 10**20 else value,
                  Decimal((value.as_tuple().sign, (*value.as_tuple().digits, 0), value.as_tuple().exponent - 1))):
        assert canonical(other).as_tuple() == form
    if value:
        assert form.digits[-1] != 0 or form.exponent == 0
        assert form.exponent <= 0 or form.exponent > 20
    else:
        assert form == Decimal(0).as_tuple()


# --- what results read ---------------------------------------------------------------------------------------


def test_current_marks_are_the_counted_current_ones(mw):
    mw.fill(judges=("j1", "j2"))
    mw.mark("j1", "K101", mw.a1, "3")  # a revision: only the current value counts
    mw.post("organizer", "/marks/paper", {"judge_id": mw.users["j3"].id, "marks": [item("K101", mw.a1.id, "1")]})
    marks = current_marks(mw.competition.id)
    assert sorted(marks[mw.entries[0].id][mw.a1.id]) == [Decimal(2), Decimal(3)]  # j3's paper mark is unconfirmed
    assert sorted(marks[mw.entries[2].id][mw.a2.id]) == [Decimal(2), Decimal(2)]
    assert set(marks) == {e.id for e in mw.entries}
    assert current_marks(mw.competition.id, mw.module2.id) == {}
    assert all(isinstance(v, Decimal) for cells in marks.values() for vs in cells.values() for v in vs)


def _queries(fn) -> int:
    return len(statements_run(fn))


def test_current_marks_takes_one_query_whatever_the_number_of_entries(mw, create_worker):
    from competitions.models import Entry

    mw.fill(judges=("j1",))
    cid = mw.competition.id
    one = _queries(lambda: current_marks(cid))
    for n in range(20):
        worker = create_worker()
        db.session.add(Entry(competition_id=mw.competition.id, worker_id=worker.id, enterprise_id=worker.enterprise_id,
                             status="approved", code=f"Z{n:03d}"))
    db.session.commit()
    batch = [item(f"Z{n:03d}", a.id, "1") for n in range(20) for a in (mw.a1, mw.a2)]
    assert mw.post("j2", "/marks", batch).status_code == 200
    assert len(current_marks(mw.competition.id)) == 23
    assert _queries(lambda: current_marks(cid)) == one == 1
