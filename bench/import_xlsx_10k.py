"""import_xlsx_10k: import 10,000 workers from an XLSX file (preview + confirm through the services).

Baseline B4: openpyxl loads the same file in read-only mode and iterates every row (values only, as
the import reads it). Ours does that read too, so the ratio says how much validating, hashing,
encrypting, staging and writing cost on top: 0.5 means they cost as much as reading the file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from bench._common import Result, compare, import_through_services, reset_workers, temp_dir, throwaway_app, worker_rows

NAME = "import_xlsx_10k"
TARGET = 0.5
ROWS = 10_000


def write_xlsx(path: Path, rows: list[list[str]]) -> None:
    import openpyxl

    from app.people.imports.domain import TEMPLATE_HEADERS

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("职工")
    ws.append(list(TEMPLATE_HEADERS))
    for row in rows:
        ws.append(row)
    wb.save(path)


def openpyxl_read(path: Path) -> int:
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path, read_only=True)
        count = sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
        wb.close()
    return count


def run() -> Result:
    directory = temp_dir(NAME)
    bench = throwaway_app(directory)
    path = directory / "workers.xlsx"
    write_xlsx(path, worker_rows(ROWS, bench.trade_codes))
    assert openpyxl_read(path) == ROWS + 1

    def ours() -> None:
        assert import_through_services(bench, path.name, path) == ROWS

    value, baseline = compare(ours, lambda: openpyxl_read(path), ours_setup=lambda: reset_workers(bench))
    return Result(NAME, value, baseline, TARGET)
