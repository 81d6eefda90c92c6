"""Marks (评分): blind marking by judges, paper score sheets with double entry, the chief judge's completeness
matrix, divergence decisions, the module lock (签字确认), corrections after the lock and judge statistics.

Split by use case: ``submit`` (judges' and clerks' batches, confirmation), ``judge`` (a judge's own marks and score
sheets), ``chief`` (completeness, divergences, lock, corrections, statistics), ``reads`` (counted marks for results
and the board); ``common`` holds what they share, including ``store_revision``, the one place a mark is written.
Services load, check permissions, call the engine, write and flush — never commit.
"""

from competitions.domain.marks import canonical, check_value, fraction_text, parse_value, text_of
from competitions.services.marks.chief import (
    Cell,
    CellMark,
    DivergenceState,
    EntryRow,
    JudgeLine,
    ModuleState,
    chief_change_mark,
    completeness,
    decide_divergence,
    judge_stats,
    lock_module,
)
from competitions.services.marks.common import (
    ACCEPTED,
    CORRECTION_PHASES,
    DECISIONS,
    DUPLICATE,
    ITEM_PROBLEMS,
    MAX_BATCH,
    MAX_KEY_LENGTH,
    OPEN,
    REMARK,
    RUNNING,
    STORED,
    UNCHANGED,
    problem_message,
)
from competitions.services.marks.judge import (
    OwnMark,
    SheetResult,
    filled_by_others,
    filled_places,
    my_marks,
    submit_sheet,
)
from competitions.services.marks.reads import current_mark_rows, current_marks, mark_history
from competitions.services.marks.submit import MarkInput, MarkResult, confirm_mark, submit_marks

__all__ = [
    "ACCEPTED",
    "CORRECTION_PHASES",
    "DECISIONS",
    "DUPLICATE",
    "ITEM_PROBLEMS",
    "MAX_BATCH",
    "MAX_KEY_LENGTH",
    "OPEN",
    "REMARK",
    "RUNNING",
    "STORED",
    "UNCHANGED",
    "Cell",
    "CellMark",
    "DivergenceState",
    "EntryRow",
    "JudgeLine",
    "MarkInput",
    "MarkResult",
    "ModuleState",
    "OwnMark",
    "SheetResult",
    "canonical",
    "check_value",
    "chief_change_mark",
    "completeness",
    "confirm_mark",
    "current_mark_rows",
    "current_marks",
    "decide_divergence",
    "filled_by_others",
    "filled_places",
    "fraction_text",
    "judge_stats",
    "lock_module",
    "mark_history",
    "my_marks",
    "parse_value",
    "problem_message",
    "submit_marks",
    "submit_sheet",
    "text_of",
]
