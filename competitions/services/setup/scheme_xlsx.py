"""The marking scheme as a spreadsheet: export (one row per aspect) and import (the same validation as the JSON
import; every problem names its row)."""

from __future__ import annotations

import io
import warnings
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.errors import DomainError
from app.tabular import Sheet, unescape_formula, xlsx_bytes
from competitions.domain.scheme_document import scheme_from_rows
from competitions.labels import AGGREGATION_LABELS, MODULE_KIND_LABELS
from competitions.schemas.setup import format_decimal
from competitions.services.setup.common import invalid, managed_competition, problem, visible_competition
from competitions.services.setup.scheme import replace_scheme, require_scheme_editable, scheme_document, scheme_message

XLSX_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("module", _l("Module")),
    ("module_kind", _l("Module kind")),
    ("module_weight", _l("Module weight (%)")),
    ("criterion", _l("Criterion")),
    ("aspect", _l("Aspect")),
    ("kind", _l("Type (M/J)")),
    ("max_mark", _l("Max mark")),
    ("scale_min", _l("Scale minimum")),
    ("scale_max", _l("Scale maximum")),
    ("scale_step", _l("Scale step")),
    ("judges_required", _l("Judges required")),
    ("aggregation", _l("Aggregation")),
    ("trim_k", _l("Marks dropped at each end")),
    ("normalize", _l("Normalize to max mark")),
    ("uses_difficulty", _l("Difficulty factor applies")),
    ("divergence_threshold", _l("Divergence threshold")),
    ("level_words", _l("Level words")),
)
REQUIRED_COLUMNS = ("module", "criterion", "aspect", "kind", "max_mark", "scale_max")
MAX_XLSX_ROWS = 5_000


def _in_every_language(labels: dict[str, Any]) -> dict[str, str]:
    """{text (casefolded) → code}: each code itself and its label in every language of the app."""
    out = {code.casefold(): code for code in labels}
    for lang in current_app.config["LANGUAGES"]:
        with force_locale(lang):
            out.update({str(label).strip().casefold(): code for code, label in labels.items()})
    return out


def export_scheme_xlsx(actor, competition_id: int) -> tuple[bytes, str]:
    """The scheme as XLSX (one sheet, a header row, one row per aspect) and a file name."""
    competition = visible_competition(actor, competition_id)
    doc = scheme_document(competition)

    def num(value: Decimal | None) -> Decimal | None:
        return None if value is None else Decimal(format_decimal(value))

    rows: list[list[Any]] = [[label for _key, label in XLSX_COLUMNS]]
    for m in doc["modules"]:
        for c in m["criteria"]:
            for a in c["aspects"]:
                rows.append([
                    m["name"], m["kind"], num(m["weight"]), c["name"], a["name"], a["kind"], num(a["max_mark"]),
                    num(a["scale_min"]), num(a["scale_max"]), num(a["scale_step"]), a["judges_required"],
                    a["aggregation"], a["trim_k"], a["normalize"], a["uses_difficulty"],
                    "-" if a["divergence_threshold"] is None else num(a["divergence_threshold"]),
                    "\n".join(a["level_words"]),
                ])
    widths = (20, 12, 10, 24, 32, 8, 10, 10, 10, 10, 8, 14, 8, 8, 8, 10, 30)
    # names are typed by users: app.tabular escapes every cell, so none becomes a formula in the sheet
    return xlsx_bytes([Sheet(_("Marking scheme"), rows, widths=widths)]), f"scheme-{competition.id}.xlsx"


def _read_sheet(data: bytes) -> list[tuple[int, tuple[Any, ...]]]:
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it ignores
        try:
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
        except Exception as exc:  # noqa: BLE001 - any failure to open means: not a workbook we can read
            raise DomainError(_("The file is not a valid XLSX workbook. Save it again from Excel or WPS as XLSX."),
                              code="bad_xlsx") from exc
        try:
            rows = []
            for number, row in enumerate(wb.worksheets[0].iter_rows(values_only=True, max_col=40), start=1):
                if any(c is not None and str(c).strip() for c in row):
                    # a cell the export escaped ('-, '=…) reads as it was
                    rows.append((number, tuple(unescape_formula(c) if isinstance(c, str) else c for c in row)))
                    if len(rows) > MAX_XLSX_ROWS + 1:
                        raise DomainError(_("The sheet has more than %(max)d rows.", max=MAX_XLSX_ROWS), code="too_many_rows")
            return rows
        except DomainError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise DomainError(_("The file is not a valid XLSX workbook. Save it again from Excel or WPS as XLSX."),
                              code="bad_xlsx") from exc
        finally:
            wb.close()


def scheme_from_xlsx(data: bytes) -> tuple[dict[str, Any], dict[str, int]]:
    """The raw scheme document of an XLSX sheet, and {document path → row number} for error messages.

    Header cells are matched by column code or by their label in any language; the rows become a document as
    ``competitions.domain.scheme_document.scheme_from_rows`` says. Nothing is saved when any problem is found.
    """
    rows = _read_sheet(data)
    if not rows:
        raise invalid([problem("", "empty", _("The sheet is empty."))], code="invalid_scheme")
    header_row, header = rows[0]
    names = _in_every_language(dict(XLSX_COLUMNS))
    columns: dict[int, str] = {}
    problems = []
    for index, cell in enumerate(header):
        text = str(cell).strip().casefold() if cell is not None else ""
        if not text:
            continue
        key = names.get(text)
        if key is None:
            problems.append(problem(f"columns[{index}]", "unknown_column",
                                    _("Unknown column: %(name)s.", name=str(cell).strip()), row=header_row))
        else:
            columns[index] = key
    for key in REQUIRED_COLUMNS:
        if key not in columns.values():
            label = dict(XLSX_COLUMNS)[key]
            problems.append(problem(f"columns.{key}", "missing_column", _("Missing column: %(name)s.", name=str(label)),
                                    row=header_row))
    if problems:
        raise invalid(problems, _("The scheme is invalid: nothing was saved."), code="invalid_scheme")
    doc, path_rows, found = scheme_from_rows(rows[1:], columns, module_kinds=_in_every_language(MODULE_KIND_LABELS),
                                             aggregations=_in_every_language(AGGREGATION_LABELS))
    if found:
        raise invalid([problem(p.path, p.code, scheme_message(p.path, p.code), row=p.row) for p in found],
                      _("The scheme is invalid: nothing was saved."), code="invalid_scheme")
    return doc, path_rows


def import_scheme_xlsx(actor, competition_id: int, data: bytes) -> dict[str, Any]:
    """Replace the scheme from an XLSX upload: the same validation as the JSON import; problems name their row."""
    competition = managed_competition(actor, competition_id)
    require_scheme_editable(competition)
    raw, rows = scheme_from_xlsx(data)
    return replace_scheme(actor, competition_id, raw, source="xlsx", rows=rows)
