"""Reading back what an export wrote, for the tests that check no cell can run as a formula."""

from __future__ import annotations

import csv
import io

PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # what starts a formula in Excel, WPS or LibreOffice (OWASP's list)


def cells(content: bytes, fmt: str) -> list[str]:
    """Every non-empty text cell of every sheet of an XLSX (no cell may be a formula), or of a CSV."""
    if fmt == "csv":
        texts = [c for line in csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")) for c in line]
    else:
        import openpyxl

        wb = openpyxl.load_workbook(io.BytesIO(content))
        found = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
        formulas = [c.coordinate for c in found if c.data_type == "f"]
        assert not formulas, f"formula cells: {formulas}"
        texts = [c.value for c in found if isinstance(c.value, str)]
    return [t for t in texts if t]


def assert_formula_free(content: bytes, fmt: str, planted: list[str] = ()) -> list[str]:
    """No text cell starts a formula, and each of ``planted`` is there, escaped with a leading apostrophe (XML, and
    so XLSX, reads a CR back as LF)."""
    texts = cells(content, fmt)
    assert not [t for t in texts if t[0] in "".join(PREFIXES) + "\n"], texts
    for value in planted:
        expected = "'" + (value if fmt == "csv" else value.replace("\r", "\n"))
        assert expected in texts, (value, texts)
    return texts
