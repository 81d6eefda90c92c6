"""Competition setup: the competition itself, its lifecycle, the marking scheme, difficulty factors and rules.

Split by use case: ``competition`` (list, create, edit), ``lifecycle`` (the steps and their guards), ``scheme`` (the
scheme document: checks in words, reading, replacing), ``scheme_xlsx`` (the scheme as a spreadsheet), ``modules``
(module end times), ``difficulty`` (difficulty factors), ``rules`` (tie-break, awards, promotion bands); ``common``
holds what they share. Pure checks of the scheme document and the reading of its spreadsheet cells are in
``competitions.domain.scheme_document``; the translated names of states, levels, … in ``competitions.labels``.

Other areas call:
    apply_transition(actor, competition, event, note)   every lifecycle step (results: "publish", "publish_correction")
    difficulty_factors(competition) -> {(entry_id, aspect_id): Decimal}
    rules_config(competition) -> RulesConfig             tie-break chain, award strategies, promotion bands
    visible_competition(actor, id)                       a competition the actor may see (404 otherwise)
"""

from app.tabular import XLSX_MIMETYPE
from competitions.services.setup.common import invalid, managed_competition, visible_competition
from competitions.services.setup.competition import (
    FIXED_ONCE_RUNNING,
    SETUP_FIELDS,
    create_competition,
    list_competitions,
    update_competition,
)
from competitions.services.setup.difficulty import (
    DIFFICULTY_EDITABLE,
    MAX_DIFFICULTY_ITEMS,
    MAX_FACTOR,
    difficulty_factors,
    list_difficulty,
    set_difficulty,
)
from competitions.services.setup.lifecycle import GUARDS, apply_transition, transition_dict, transitions_of
from competitions.services.setup.modules import list_modules, module_dict, set_module_end
from competitions.services.setup.rules import (
    DEFAULT_AWARD_RULES,
    DEFAULT_PROMOTION_BANDS,
    DEFAULT_TIE_BREAK,
    RulesConfig,
    get_rules,
    rules_config,
    rules_document,
    set_rules,
)
from competitions.services.setup.scheme import (
    SCHEME_EDITABLE,
    aspect_doc,
    check_scheme,
    doc_problems,
    get_scheme,
    load_scheme_document,
    replace_scheme,
    scheme_document,
    scheme_problems,
)
from competitions.services.setup.scheme_xlsx import (
    MAX_XLSX_ROWS,
    REQUIRED_COLUMNS,
    XLSX_COLUMNS,
    export_scheme_xlsx,
    import_scheme_xlsx,
    scheme_from_xlsx,
)

__all__ = [
    "DEFAULT_AWARD_RULES",
    "DEFAULT_PROMOTION_BANDS",
    "DEFAULT_TIE_BREAK",
    "DIFFICULTY_EDITABLE",
    "FIXED_ONCE_RUNNING",
    "GUARDS",
    "MAX_DIFFICULTY_ITEMS",
    "MAX_FACTOR",
    "MAX_XLSX_ROWS",
    "REQUIRED_COLUMNS",
    "SCHEME_EDITABLE",
    "SETUP_FIELDS",
    "XLSX_COLUMNS",
    "XLSX_MIMETYPE",
    "RulesConfig",
    "apply_transition",
    "aspect_doc",
    "check_scheme",
    "create_competition",
    "difficulty_factors",
    "doc_problems",
    "export_scheme_xlsx",
    "get_rules",
    "get_scheme",
    "import_scheme_xlsx",
    "invalid",
    "list_competitions",
    "list_difficulty",
    "list_modules",
    "load_scheme_document",
    "managed_competition",
    "module_dict",
    "replace_scheme",
    "rules_config",
    "rules_document",
    "scheme_document",
    "scheme_from_xlsx",
    "scheme_problems",
    "set_difficulty",
    "set_module_end",
    "set_rules",
    "transition_dict",
    "transitions_of",
    "update_competition",
    "visible_competition",
]
