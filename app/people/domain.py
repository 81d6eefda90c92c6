"""Pure rules about people and organizations: ID numbers, USCC, mobiles, masking.

No Flask, no database. Functions return a reason code (``None`` when valid); views translate codes.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

# --- 居民身份证 (GB 11643-1999, ISO 7064 MOD 11-2) -------------------------------------------

_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, …
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")


def id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def _ascii_width(value: str) -> str:
    """Full-width digits and letters (common in spreadsheets typed with a Chinese IME) to ASCII."""
    return unicodedata.normalize("NFKC", value or "")


def normalize_id_number(value: str) -> str:
    return re.sub(r"\s+", "", _ascii_width(value)).upper()


def validate_resident_id(value: str, today: date | None = None) -> str | None:
    """Return None if valid, else one of: length, format, date, check."""
    v = normalize_id_number(value)
    if len(v) != 18:
        return "length"
    if not _ID_RE.match(v):
        return "format"
    try:
        born = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return "date"
    today = today or date.today()
    if born > today or born.year < 1900:
        return "date"
    if id_check_char(v[:17]) != v[17]:
        return "check"
    return None


def resident_id_birth_date(value: str) -> date:
    v = normalize_id_number(value)
    return date(int(v[6:10]), int(v[10:12]), int(v[12:14]))


def resident_id_gender(value: str) -> str:
    """'M' or 'F' from the sequence digit (odd = male)."""
    return "M" if int(normalize_id_number(value)[16]) % 2 else "F"


_OTHER_ID_RE = re.compile(r"^[A-Z0-9()（）\-]{5,32}$")


def validate_other_id(value: str) -> str | None:
    """Passports and permits: 5–32 letters/digits; we cannot check them further."""
    v = normalize_id_number(value)
    if not v:
        return "missing"
    if not _OTHER_ID_RE.match(v):
        return "format"
    return None


# --- 统一社会信用代码 (GB 32100-2015) ------------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> str | None:
    """Return None if valid, else one of: length, format, check."""
    v = (value or "").strip().upper()
    if len(v) != 18:
        return "length"
    if not _USCC_RE.match(v):
        return "format"
    if uscc_check_char(v[:17]) != v[17]:
        return "check"
    return None


# --- mobiles -----------------------------------------------------------------------------------

_MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")


def normalize_mobile(value: str) -> str:
    v = re.sub(r"[\s\-]", "", _ascii_width(value))
    if v.startswith("+86"):
        v = v[3:]
    elif v.startswith("0086"):
        v = v[4:]
    return v


def validate_mobile(value: str) -> str | None:
    return None if _MOBILE_RE.match(normalize_mobile(value)) else "format"


# --- names -------------------------------------------------------------------------------------

_NAME_RE = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f·•A-Za-z .'\-]{1,64}$")


def validate_name(value: str) -> str | None:
    v = (value or "").strip()
    if not v:
        return "missing"
    if len(v) > 64:
        return "length"
    if not _NAME_RE.match(v):
        return "format"
    return None


# --- masking -----------------------------------------------------------------------------------


def mask_name(name: str) -> str:
    """张帅坤 → 张*坤, 张三 → 张*, 欧阳娜娜 → 欧**娜, 张 → *."""
    n = (name or "").strip()
    if len(n) <= 1:
        return "*" if n else ""
    if len(n) == 2:
        return n[0] + "*"
    return n[0] + "*" * (len(n) - 2) + n[-1]


def mask_mobile(mobile: str | None) -> str:
    m = mobile or ""
    return m[:3] + "****" + m[-4:] if len(m) == 11 else ("*" * len(m))


def mask_id(last4: str, id_type: str = "resident") -> str:
    """Only the last four characters are stored in clear, so that is all a mask can show."""
    return ("*" * 14 if id_type == "resident" else "*" * 6) + last4


SKILL_LEVELS = (5, 4, 3, 2, 1)


def validate_skill_level(value: int | None) -> str | None:
    """None (no level) or 1..5; else "range"."""
    if value is None:
        return None
    return None if isinstance(value, int) and not isinstance(value, bool) and value in SKILL_LEVELS else "range"


# --- other worker fields -----------------------------------------------------------------------

GENDERS = ("M", "F")
MIN_WORKING_AGE = 16  # 劳动法 Art. 15: no employment under 16


def validate_gender(value: str | None) -> str | None:
    return None if value in GENDERS else ("missing" if not value else "format")


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def validate_birth_date(born: date | None, today: date | None = None) -> str | None:
    """None if plausible for a worker, else one of: missing, future, too_old, too_young."""
    if born is None:
        return "missing"
    today = today or date.today()
    if born > today:
        return "future"
    if born.year < 1900:
        return "too_old"
    if age_on(born, today) < MIN_WORKING_AGE:
        return "too_young"
    return None


def resident_id_mismatches(number: str, born: date | None, gender: str | None) -> set[str]:
    """Fields that contradict a (valid) resident ID number: a subset of {"birth_date", "gender"}."""
    out = set()
    if born is not None and born != resident_id_birth_date(number):
        out.add("birth_date")
    if gender and gender != resident_id_gender(number):
        out.add("gender")
    return out


def validate_id_number(id_type: str, value: str, today: date | None = None) -> str | None:
    """Dispatch on the document type: resident IDs are fully checked, others only by shape."""
    if not normalize_id_number(value):
        return "missing"
    if id_type == "resident":
        return validate_resident_id(value, today)
    return validate_other_id(value)


# --- trades ------------------------------------------------------------------------------------

TRADE_CODE_RE = re.compile(r"^\d-\d{2}-\d{2}-\d{2}$", re.ASCII)  # 职业分类大典: 6-31-01-03


def normalize_trade_code(value: str | None) -> str:
    return re.sub(r"\s+", "", _ascii_width(value or "")).replace("—", "-").replace("–", "-")


def validate_trade_code(value: str | None) -> str | None:
    v = normalize_trade_code(value)
    if not v:
        return "missing"
    return None if TRADE_CODE_RE.match(v) else "format"


# --- transfers between employers (转入) ------------------------------------------------------------

TRANSFER_PENDING = "pending"
TRANSFER_TRANSITIONS = {
    (TRANSFER_PENDING, "confirm"): "confirmed",  # by the worker or the current employer's HR: the worker moves
    (TRANSFER_PENDING, "decline"): "declined",  # by the same people: nothing moves
    (TRANSFER_PENDING, "cancel"): "cancelled",  # by the requesting employer's HR
}


def transfer_transition(status: str, event: str) -> str | None:
    """The status after ``event``, or None when ``event`` is not possible in ``status``."""
    return TRANSFER_TRANSITIONS.get((status, event))


def normalize_name(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value or "").split())


def same_name(typed: str, stored: str) -> bool:
    """Whether a typed name is the stored one, up to spaces (王 转岗 is 王转岗), full-width letters and letter case."""
    def key(name: str) -> str:
        return "".join(normalize_name(name).split()).casefold()

    return key(typed) == key(stored)
