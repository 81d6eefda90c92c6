"""Bulk issuing (批量发证): a file (XLSX/CSV) or a published competition result → a batch → a background job.

**Flow.** ``preview_file`` reads the upload with ``app.tabular`` (format sniffing, UTF-8 with or without BOM /
GBK / GB18030 for CSV, formula-safe read-only XLSX, header aliases, size and row limits), checks every row and stages
the result as a ``CertificateBatch`` in ``preview``: nothing is issued yet. ``confirm_batch`` moves it to
``queued`` with a conditional UPDATE (two confirms cannot both queue it) and queues the job in chunks
(``app.jobs.enqueue``, submitted after the commit). Each chunk issues its rows through
``certificates.services.issuance.issue_certificate`` (one short transaction per certificate), renders the PDF
outside any write transaction (so two worker processes render in parallel, also on SQLite) and adds to the
batch's ``done`` / ``failed`` counters, which the progress page polls. The chunk that completes the batch
writes ``certificates.zip`` (every PDF of the batch's rows) and ``errors.csv`` under
``instance/batches/<batch id>/`` and marks the batch ``done``. The job never depends on the request: closing
the browser changes nothing.

**Errors — a deliberate difference from the worker import.** The worker import refuses the whole file when
any row has an error (a half-imported registry is worse than none). Certificates are independent of each
other, and an organizer with 200 awardees should not have to wait for the five with a typo: rows with errors
are **reported and skipped**, the others are issued. The preview says so before confirming, and the error
file lists the skipped rows (and any row that failed while issuing) with the reason, so they can be fixed
and uploaded again — issuing is idempotent (one live certificate per holder, subject and kind), so uploading
the corrected *whole* file again issues only what is missing and duplicates nothing.

Row checks: the worker (by ID number, or by the registry's worker number) exists, belongs to the HR user's
enterprise, and the name in the file is the registry's name; every printed text can be drawn by the
certificate font (``app.pdf.missing_glyphs``); kind, subject and achievement are given; the issue date is a
date not in the future; the same worker, subject and kind appear once in the file. A row whose certificate
already exists (live) is *not* an error: it is shown as "already issued" and its existing PDF goes into the
ZIP.

Scope: organizers and admins see and start every batch; HR only their enterprise's (another enterprise's
batch is NotFound). Services flush; the job functions commit (they run outside requests).

Split by use case: ``preview`` (read, check and stage a file; confirm; discard), ``rows`` (the file's columns and
the row checks), ``job`` (the chunks, the ZIP and the error file on disk), ``reads`` (progress, preview rows, the
error and template files), ``messages`` (translated texts); ``common`` holds what they share. A batch from a
competition's published result is ``certificates.services.from_results``.
"""

from certificates.services.batches.common import (
    ACHIEVEMENT_MAX,
    ACTIVE,
    BATCH_MAX_ROWS,
    COMPETITION,
    DETAIL_MAX,
    DISCARDED,
    DONE,
    FAILED,
    FILE,
    JOB_ERROR_CODES,
    MANAGERS,
    PREVIEW,
    QUEUED,
    RUNNING,
    SUBJECT_MAX,
    batch_dir,
    check_template,
    errors_path,
    get_batch,
    hr_enterprises,
    is_manager,
    live_certificates,
    recent_batches,
    template_choices,
    todo_rows,
    zip_path,
)
from certificates.services.batches.job import batch_certificates, run_chunk, write_files
from certificates.services.batches.messages import (
    COLUMN_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    column_label,
    kind_choices,
    row_message,
)
from certificates.services.batches.preview import (
    CHUNK_SIZE,
    BatchFileInvalid,
    confirm_batch,
    discard_batch,
    preview_file,
    summary,
)
from certificates.services.batches.reads import (
    created_at_label,
    error_file,
    preview_rows,
    progress,
    template_file,
    translated_errors,
)
from certificates.services.batches.rows import (
    FIELDS,
    KIND_WORDS,
    LAYOUT,
    TEMPLATE_HEADERS,
    check_rows,
    read_file,
    subject_key_for,
)

__all__ = [
    "ACHIEVEMENT_MAX",
    "ACTIVE",
    "BATCH_MAX_ROWS",
    "CHUNK_SIZE",
    "COLUMN_LABELS",
    "COMPETITION",
    "DETAIL_MAX",
    "DISCARDED",
    "DONE",
    "FAILED",
    "FIELDS",
    "FILE",
    "JOB_ERROR_CODES",
    "KIND_WORDS",
    "LAYOUT",
    "MANAGERS",
    "PREVIEW",
    "QUEUED",
    "RUNNING",
    "SOURCE_LABELS",
    "STATUS_LABELS",
    "SUBJECT_MAX",
    "TEMPLATE_HEADERS",
    "BatchFileInvalid",
    "batch_certificates",
    "batch_dir",
    "check_rows",
    "check_template",
    "column_label",
    "confirm_batch",
    "created_at_label",
    "discard_batch",
    "error_file",
    "errors_path",
    "get_batch",
    "hr_enterprises",
    "is_manager",
    "kind_choices",
    "live_certificates",
    "preview_file",
    "preview_rows",
    "progress",
    "read_file",
    "recent_batches",
    "row_message",
    "run_chunk",
    "subject_key_for",
    "summary",
    "template_choices",
    "template_file",
    "todo_rows",
    "translated_errors",
    "write_files",
    "zip_path",
]
