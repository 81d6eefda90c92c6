"""Translated labels and messages for people: skill levels, document types, consents, and the
reason codes returned by ``app.people.domain`` turned into per-field messages.

Everything here is a lazy string (``_l``), so it is safe at import time and renders in the
request's language. Views, the API and the import share these texts.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.people.domain import MIN_WORKING_AGE
from app.people.models import ConsentPurpose, IdType

SKILL_LEVEL_LABELS = {
    5: _l("Level 5 / Junior worker"),
    4: _l("Level 4 / Intermediate worker"),
    3: _l("Level 3 / Senior worker"),
    2: _l("Level 2 / Technician"),
    1: _l("Level 1 / Senior technician"),
}

GENDER_LABELS = {"M": _l("Male"), "F": _l("Female")}

ID_TYPE_LABELS = {
    IdType.RESIDENT: _l("Resident identity card"),
    IdType.PASSPORT: _l("Passport"),
    IdType.HK_MACAO: _l("Mainland travel permit for Hong Kong and Macao residents"),
    IdType.TAIWAN: _l("Mainland travel permit for Taiwan residents"),
    IdType.FOREIGN_PERMANENT: _l("Foreigner's permanent residence ID card"),
    IdType.OTHER: _l("Other document"),
}

CONSENT_LABELS = {
    ConsentPurpose.PUBLICITY: _l("Publicity"),
    ConsentPurpose.TALENT_POOL: _l("Talent pool"),
}

CONSENT_EXPLANATIONS = {
    ConsentPurpose.PUBLICITY: _l(
        "Your name and enterprise may be shown on public competition results, live boards and award lists. "
        "Without this consent you appear there with a masked name (for example 张*坤) or an entrant code."
    ),
    ConsentPurpose.TALENT_POOL: _l(
        "An anonymized profile (trade, skill level, awards, certificates; age band and region only coarsely; "
        "never your name, employer or contact details) may be seen by other enterprises. They can only ask the "
        "union to pass on a contact request, which you may accept or decline; your employer is not told."
    ),
}

# The version of each explanation above, stored with every consent given or withdrawn: change the text, raise it.
CONSENT_NOTICE_VERSIONS = {
    ConsentPurpose.PUBLICITY: "1",
    ConsentPurpose.TALENT_POOL: "1",
}

# The worker's attribute that tells since when they consent (scope "all"), for pages and the API.
CONSENT_FIELDS = {
    ConsentPurpose.PUBLICITY: "publicity_consent_at",
    ConsentPurpose.TALENT_POOL: "talent_pool_consent_at",
}

TRANSFER_STATUS_LABELS = {
    "pending": _l("Waiting for a decision"),
    "confirmed": _l("Confirmed"),
    "declined": _l("Declined"),
    "cancelled": _l("Cancelled"),
}

NAME_MESSAGES = {
    "missing": _l("Please enter the name."),
    "length": _l("The name may have at most 64 characters."),
    "format": _l("The name may contain only Chinese characters, Latin letters, spaces, dots and hyphens."),
}

RESIDENT_ID_MESSAGES = {
    "missing": _l("Please enter the ID number."),
    "length": _l("A resident ID number has exactly 18 characters."),
    "format": _l("A resident ID number has 17 digits followed by a digit or X."),
    "date": _l("The date of birth inside the ID number is not a real date."),
    "check": _l("The check character (the last character) of the ID number is wrong; please check for typos."),
}

OTHER_ID_MESSAGES = {
    "missing": _l("Please enter the document number."),
    "format": _l("A document number has 5 to 32 letters, digits, brackets or hyphens."),
}

MOBILE_MESSAGES = {
    "format": _l("A mobile number has 11 digits and starts with 13 to 19."),
}

GENDER_MESSAGES = {
    "missing": _l("Please choose the gender (it is read from a resident ID number if left empty)."),
    "format": _l("Please choose the gender."),
}

BIRTH_DATE_MESSAGES = {
    "missing": _l("Please enter the date of birth (it is read from a resident ID number if left empty)."),
    "future": _l("The date of birth lies in the future."),
    "too_old": _l("The date of birth must be in 1900 or later."),
    "too_young": _l("Workers must be at least %(n)d years old.", n=MIN_WORKING_AGE),
}

MISMATCH_MESSAGES = {
    "birth_date": _l("Does not match the date of birth in the ID number."),
    "gender": _l("Does not match the gender in the ID number."),
}

TRADE_CODE_MESSAGES = {
    "missing": _l("Please enter the occupational code."),
    "format": _l("An occupational code looks like 6-31-01-03 (digit, then three pairs of digits, separated by hyphens)."),
}
