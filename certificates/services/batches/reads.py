"""Reading a batch: the progress the page polls, the staged rows with their translated errors, the error file and
the template file."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from app import tabular
from certificates.models import CertificateBatch
from certificates.services.batches.common import DONE, FAILED, JOB_ERROR_CODES, zip_path
from certificates.services.batches.messages import ALREADY_ISSUED_MESSAGE, STATUS_LABELS, column_label, row_message
from certificates.services.batches.rows import TEMPLATE_EXAMPLE, TEMPLATE_HEADERS


def progress(batch: CertificateBatch) -> dict[str, Any]:
    """What the progress page polls."""
    finished = batch.status in (DONE, FAILED)
    return {
        "id": batch.id, "status": batch.status, "status_label": str(STATUS_LABELS.get(batch.status, batch.status)),
        "total": batch.total, "done": batch.done, "failed": batch.failed, "finished": finished,
        "skipped": len({e["row"] for e in batch.errors or [] if e.get("code") not in JOB_ERROR_CODES}),
        "started_at": batch.started_at.isoformat() if batch.started_at else None,
        "finished_at": batch.finished_at.isoformat() if finished and batch.finished_at else None,
        "has_zip": finished and zip_path(batch.id).exists(),
        "has_errors": bool(batch.errors),
    }


def translated_errors(batch: CertificateBatch) -> list[dict[str, Any]]:
    out = []
    for e in sorted(batch.errors or [], key=lambda e: (e["row"] if isinstance(e.get("row"), int) else 0)):
        item = {"row": e.get("row"), "column": e.get("column"), "code": e.get("code"), "message": row_message(e)}
        if "value" in e:
            item["value"] = e["value"]
        out.append(item)
    return out


def preview_rows(batch: CertificateBatch, *, only_errors: bool = False) -> list[dict[str, Any]]:
    """Staged rows with their translated errors, for the preview table (never an ID number)."""
    from certificates.services.issuance import kind_label

    by_row: dict[Any, list[dict[str, Any]]] = {}
    for e in batch.errors or []:
        by_row.setdefault(e.get("row"), []).append(e)
    out = []
    for r in batch.rows or []:
        if only_errors and r["state"] != "bad":
            continue
        errs = by_row.get(r["row"], [])
        out.append({
            **r, "kind_label": kind_label(r["kind"]) if r.get("kind") else "",
            "error_columns": {e.get("column") for e in errs},
            "errors": [{"column": column_label(e.get("column", "")), "message": row_message(e)} for e in errs],
            "notice": str(ALREADY_ISSUED_MESSAGE) % {"serial": r.get("serial", "")} if r["state"] == "issued" else "",
        })
    return out


def error_file(batch: CertificateBatch, fmt: str = "csv") -> tuple[bytes, str, str]:
    """(content, mimetype, filename): every reported row — row, column, reason, value, name (``app.tabular.error_list``:
    CSV with a BOM for Excel, or XLSX; formula-like cells escaped). The batch keeps no ID number, so the uploaded rows
    themselves cannot be given back here."""
    names = {r["row"]: r.get("name", "") for r in batch.rows or []}
    header = [_("Row"), _("Full name"), _("Column"), _("Error"), _("Value in the file")]
    lines = [[e.get("row"), names.get(e.get("row"), ""), column_label(e.get("column", "")), row_message(e),
              e.get("value", "")] for e in sorted(batch.errors or [], key=lambda e: e.get("row") or 0)]
    return tabular.error_list(header, lines, fmt=fmt, stem=f"certificate-errors-{batch.id[:8]}")


def template_file() -> tuple[bytes, str, str]:
    """An XLSX with the header row and one example row (the ID number column formatted as text)."""
    sheet = tabular.Sheet(_("Certificates"), [list(TEMPLATE_HEADERS), list(TEMPLATE_EXAMPLE)],
                          widths=(12, 24, 16, 40, 16, 14), bold_header=True, text_columns=(1,))
    return tabular.xlsx_bytes([sheet]), tabular.XLSX_MIMETYPE, "certificate-batch-template.xlsx"


def created_at_label(value: datetime | None) -> str:
    return value.isoformat() if value else ""
