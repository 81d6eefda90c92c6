"""Pure rules of the worker import: the columns of the file, and the validation of every row.

No Flask, no database. ``app.tabular`` reads the bytes into rows of text with the worker columns (format,
encoding, header aliases, limits); ``validate_rows`` checks each row once with precompiled regexes and lookup
tables, hashes and encrypts valid ID numbers through the functions it is given, and returns *staged rows*
(``STAGED_*`` positions) plus error entries ``{"row", "column", "code", ...}``. Views translate the
codes. The plain ID number never leaves this module: staged rows carry its hash, its last four
characters and its encrypted copy only.

Speed matters (10,000 rows are an ordinary file): a row is a list of stripped strings in ``FIELDS``
order, the common case of every field takes a fast path (ASCII, already normalized), and the slow
normalizers of ``app.people.domain`` run only for the unusual values.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app import tabular
from app.people.domain import (
    MIN_WORKING_AGE,
    normalize_mobile,
    normalize_trade_code,
    validate_mobile,
    validate_name,
    validate_other_id,
)
from app.tabular import FORMULA_START, LOST_DIGITS, MAX_BYTES, Column, Layout, Table, looks_like_formula

# --- columns -----------------------------------------------------------------------------------

# Internal field order of a row. "trade_code" and "trade_name" are two optional spellings of the
# one required trade column (工种代码 / 工种); either may hold a code or a name.
FIELDS = ("name", "gender", "birth_date", "id_type", "id_number", "mobile", "trade_code", "trade_name", "skill_level")
F_NAME, F_GENDER, F_BIRTH, F_ID_TYPE, F_ID_NUMBER, F_MOBILE, F_TRADE_CODE, F_TRADE_NAME, F_LEVEL = range(len(FIELDS))

# The headers of the template (Chinese is the canonical file format; English aliases are accepted).
TEMPLATE_HEADERS = ("姓名", "性别", "出生日期", "证件类型", "证件号码", "手机号", "工种代码", "技能等级")
TEMPLATE_EXAMPLE = ("张三", "女", "1949-12-31", "居民身份证", "11010519491231002X", "13800138000", "6-31-01-03", "四级/中级工")

_HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "name", "full name", "worker name"),
    "gender": ("性别", "gender", "sex"),
    "birth_date": ("出生日期", "出生年月日", "生日", "birth date", "date of birth", "birthdate", "birthday", "dob"),
    "id_type": ("证件类型", "证件种类", "id type", "document type", "id document type"),
    "id_number": ("证件号码", "证件号", "身份证号", "身份证号码", "公民身份号码", "id number", "id no", "document number",
                  "id card number"),
    "mobile": ("手机号", "手机号码", "手机", "联系电话", "移动电话", "mobile", "mobile number", "mobile phone", "phone",
               "cell phone"),
    "trade_code": ("工种代码", "职业代码", "职业编码", "trade code", "occupation code"),
    "trade_name": ("工种", "职业", "工种名称", "职业名称", "职业(工种)", "职业（工种）", "trade", "trade name", "occupation"),
    "skill_level": ("技能等级", "职业技能等级", "等级", "skill level", "level"),
}
# A "missing columns" message names a column by its first alias (the template's header).
COLUMNS: dict[str, Column] = {f: Column(f, _HEADER_NAMES[f], numeric_id=f == "id_number") for f in FIELDS}
REQUIRED_COLUMNS: tuple[tuple[str, ...], ...] = (("name",), ("id_number",), ("trade_code", "trade_name"))
LAYOUT = Layout(tuple(COLUMNS.values()), REQUIRED_COLUMNS)

# Error entries name the column by one of these keys (both trade spellings report as "trade").
ERROR_COLUMNS = ("name", "gender", "birth_date", "id_type", "id_number", "mobile", "trade", "skill_level")
_ERROR_COLUMN = ("name", "gender", "birth_date", "id_type", "id_number", "mobile", "trade", "trade", "skill_level")

MAX_VALUE_CHARS = 64  # raw values kept for the preview and the error file are cut to this


# --- value vocabularies ----------------------------------------------------------------------

ID_TYPES: dict[str, str] = {
    "居民身份证": "resident", "身份证": "resident", "二代身份证": "resident", "中华人民共和国居民身份证": "resident",
    "resident": "resident", "resident id": "resident", "resident id card": "resident", "resident identity card": "resident",
    "id card": "resident",
    "护照": "passport", "passport": "passport",
    "港澳居民来往内地通行证": "hk_macao", "港澳通行证": "hk_macao", "回乡证": "hk_macao", "港澳居民居住证": "hk_macao",
    "hk macao": "hk_macao", "hk/macao permit": "hk_macao", "hong kong/macao permit": "hk_macao",
    "台湾居民来往大陆通行证": "taiwan", "台胞证": "taiwan", "台湾居民居住证": "taiwan", "taiwan": "taiwan",
    "taiwan permit": "taiwan",
    "外国人永久居留身份证": "foreign_permanent", "外国人永久居留证": "foreign_permanent", "永久居留证": "foreign_permanent",
    "foreign permanent": "foreign_permanent", "foreign permanent resident id": "foreign_permanent",
    "其他": "other", "其它": "other", "other": "other",
}
ID_TYPE_LABEL = {"resident": "居民身份证", "passport": "护照", "hk_macao": "港澳居民来往内地通行证",
                 "taiwan": "台湾居民来往大陆通行证", "foreign_permanent": "外国人永久居留身份证", "other": "其他"}

GENDERS: dict[str, str] = {"男": "M", "女": "F", "男性": "M", "女性": "F", "m": "M", "f": "F", "male": "M", "female": "F"}

_LEVEL_WORDS = {
    "五级": 5, "初级工": 5, "初级": 5, "四级": 4, "中级工": 4, "中级": 4, "三级": 3, "高级工": 3,
    "二级": 2, "技师": 2, "一级": 1, "高级技师": 1,
}
LEVEL_LABEL = {5: "五级/初级工", 4: "四级/中级工", 3: "三级/高级工", 2: "二级/技师", 1: "一级/高级技师"}
SKILL_LEVELS: dict[str, int] = {**{str(n): n for n in range(1, 6)}, **_LEVEL_WORDS,
                                **{f"level {n}": n for n in range(1, 6)}, **{f"{n}级": n for n in range(1, 6)},
                                **{label: n for n, label in LEVEL_LABEL.items()}}


def parse_skill_level(text: str) -> int | None | str:
    """'' → None; '3', '三级', '高级工', '三级/高级工', 'Level 3' → 3; anything else → 'invalid'."""
    if not text:
        return None
    level = SKILL_LEVELS.get(text)
    if level is not None:
        return level
    t = " ".join(unicodedata.normalize("NFKC", text).lower().split())
    if t.endswith(".0") and t[:-2].isdigit():  # 3.0 from a spreadsheet number
        t = t[:-2]
    parts = [p.strip() for p in re.split(r"[/／、]", t) if p.strip()]
    found = {SKILL_LEVELS.get(p) for p in parts}
    if len(found) == 1 and None not in found:
        return found.pop()
    return "invalid"


_BIRTH_RE = re.compile(
    r"(\d{4})(?:[-/.年](\d{1,2})[-/.月](\d{1,2})日?|(\d{2})(\d{2}))"  # 1990-1-31, 1990年1月31日, 19900131
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?",  # a midnight time a spreadsheet may append
    re.ASCII,
)


def parse_birth_date(text: str) -> date | None | str:
    """'' → None; 1990-01-31, 1990/1/31, 1990.01.31, 19900131, 1990年1月31日 → date; else 'invalid'."""
    if not text:
        return None
    m = _BIRTH_RE.fullmatch(text.strip())
    if m is None:
        return "invalid"
    y, mo, d, mo2, d2 = m.groups()
    try:
        return date(int(y), int(mo or mo2), int(d or d2))
    except ValueError:
        return "invalid"


# --- formulas ------------------------------------------------------------------------------------

_FORMULA_ANY = re.compile("\x1f[" + re.escape(FORMULA_START) + "]")  # some cell of "\x1f".join(cells) starts like one


# --- resident ID (fast path of app.people.domain.validate_resident_id) ------------------------

# The weights of GB 11643 are 2^(17-i) mod 11. Reading the 17 digits as a base-13 number gives
# Σ d_i·13^(16-i), and 13 ≡ 2 (mod 11), so 2·int(digits, 13) ≡ Σ d_i·2^(17-i): one C call per number.
_ID_CHECK = "10X98765432"
_RESIDENT_RE = re.compile(r"[0-9]{17}[0-9X]")



def _birth_date(ymd: str, cache: dict[str, date | None]) -> date | None:
    """The date of 8 birth digits 'YYYYMMDD', or None if no such day; memoized over one file."""
    try:
        return cache[ymd]  # a hit costs no more than .get (a miss, once per distinct day, raises)
    except KeyError:
        pass
    born: date | None
    try:
        born = date(int(ymd[:4]), int(ymd[4:6]), int(ymd[6:]))
    except ValueError:
        born = None
    cache[ymd] = born
    return born

def resident_id_problem(number: str, today_ymd: str, birth_cache: dict[str, date | None]) -> str | None:
    """Same answer as ``validate_resident_id`` for a normalized number; ``today_ymd`` is 'YYYYMMDD'.

    ``birth_cache`` maps the 8 birth digits to their date (None: not a date), shared over one file.
    """
    if len(number) != 18:
        return "length"
    if _RESIDENT_RE.fullmatch(number) is None:
        return "format"
    ymd = number[6:14]
    born = _birth_date(ymd, birth_cache)
    if born is None or ymd > today_ymd or born.year < 1900:
        return "date"
    if _ID_CHECK[2 * int(number[:17], 13) % 11] != number[17]:
        return "check"
    return None


def normalize_id_text(text: str) -> str:
    if text.isascii():
        return "".join(text.split()).upper() if " " in text or "\t" in text else text.upper()
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


# --- reading files ------------------------------------------------------------------------------


def read_table(filename: str, data: bytes, max_rows: int, max_bytes: int | None = MAX_BYTES) -> Table:
    """The file read with the worker columns by ``app.tabular`` (format, encoding, header, limits, blank rows);
    rows are read lazily, cells in ``FIELDS`` order."""
    return tabular.read_table(filename, data, LAYOUT, max_rows=max_rows, max_bytes=max_bytes)


# --- validating rows -------------------------------------------------------------------------------

# Positions in a staged row (a JSON list). For a row without errors the values are ready to insert;
# for a row with errors the invalid ones hold the (cut) raw text, for display only.
(STAGED_ROW, STAGED_NAME, STAGED_GENDER, STAGED_BIRTH, STAGED_ID_TYPE, STAGED_ID_HASH, STAGED_ID_LAST4,
 STAGED_ID_ENCRYPTED, STAGED_MOBILE, STAGED_TRADE, STAGED_LEVEL, STAGED_BAD) = range(12)

_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")

# The common, clean row in one regex over "\x1f" + "\x1f".join(cells): a Chinese name, 男/女 or
# nothing, an ISO date or nothing, a resident ID (or no type), an 18-character number, a mobile or
# nothing, and trade/level texts that cannot be formulas. Rows it accepts still get every semantic
# check (check character, dates, lookups, duplicates); anything else takes the general path, which
# produces the same staged row or reports the errors.
_CLEAN_ROW = re.compile(
    r"\x1f([\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f·]{1,20})"  # name
    r"\x1f(男|女|)"  # gender
    r"\x1f([12][0-9]{3}-[0-9]{2}-[0-9]{2}|)"  # date of birth
    r"\x1f(?:居民身份证|身份证|)"  # document type
    r"\x1f([0-9]{17}[0-9X])"  # resident ID number
    r"\x1f(1[3-9][0-9]{9}|)"  # mobile
    r"\x1f((?:[^\x1f=+\-@][^\x1f]*)?)"  # trade code
    r"\x1f((?:[^\x1f=+\-@][^\x1f]*)?)"  # trade name
    r"\x1f((?:[^\x1f=+\-@][^\x1f]*)?)"  # skill level
)


@dataclass
class Staged:
    rows: list[list[Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    hashes: dict[str, int] = field(default_factory=dict)  # ID hash → row number (first occurrence)

    @property
    def bad_rows(self) -> int:
        return sum(1 for r in self.rows if r[STAGED_BAD])


def _cut(text: str) -> str:
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def validate_rows(rows: Iterable[tuple[int, list[str]]], *, trades_by_code: dict[str, int],
                  trades_by_name: dict[str, int], hash_id: Callable[[str, str], str],
                  encrypt_id: Callable[[str], bytes], today: date, fast_path: bool = True) -> Staged:
    """Check every row; hash and encrypt valid ID numbers; find duplicates inside the file.

    ``fast_path=False`` sends every row through the general checks (tests compare both paths).
    """
    out = Staged()
    staged_rows, errors, seen = out.rows, out.errors, out.hashes
    today_ymd = today.strftime("%Y%m%d")
    youngest = _years_before(today, MIN_WORKING_AGE)
    clean_row = _CLEAN_ROW.fullmatch if fast_path else (lambda _text: None)
    id_check, genders, levels = _ID_CHECK, GENDERS, SKILL_LEVELS
    birth_cache: dict[str, date | None] = {}
    b64 = base64.b64encode
    mobile_match = _MOBILE_RE.fullmatch
    formula_any = _FORMULA_ANY.search
    level_cache: dict[str, int | str | None] = {}
    # Shared by both paths; the general one also keeps invalid input's text ("invalid" or the cut raw value).
    born: date | None
    trade: int | str | None
    level: int | str | None
    id_gender: str | None
    id_hash: str | None
    mobile: str | None

    for number, cells in rows:
        joined = "\x1f" + "\x1f".join(cells)
        m = clean_row(joined)
        if m is not None:  # the fast path: accept the row here, or fall through to the general checks
            name, gender_text, birth_text, id_number, mobile_text, code_text, tname_text, level_text = m.groups()
            ymd = id_number[6:14]
            born = _birth_date(ymd, birth_cache)
            trade_text = code_text or tname_text
            trade = trades_by_code.get(trade_text) or trades_by_name.get(trade_text)
            level = levels.get(level_text) if level_text else None
            if (born is not None and born <= youngest and born.year >= 1900
                    and id_check[2 * int(id_number[:17], 13) % 11] == id_number[17]
                    and trade is not None and (level is not None or not level_text)):
                id_gender = "M" if id_number[16] in "13579" else "F"
                born_iso = born.isoformat()
                if (not gender_text or genders[gender_text] == id_gender) and (not birth_text or birth_text == born_iso):
                    id_hash = hash_id("resident", id_number)
                    if id_hash not in seen:
                        seen[id_hash] = number
                        staged_rows.append([number, name, id_gender, born_iso, "resident", id_hash, id_number[-4:],
                                            b64(encrypt_id(id_number)).decode("ascii"), mobile_text or None, trade, level, 0])
                        continue

        row_errors: list[tuple[int, str, str | None]] = []  # (field index, code, raw value to show)

        formulas = 0  # bit k: field k held a formula (reported once, not again as missing)
        if formula_any(joined):
            for k, v in enumerate(cells):
                if looks_like_formula(v):
                    row_errors.append((k, "formula", None if k == F_ID_NUMBER else _cut(v)))
                    cells[k] = ""
                    formulas |= 1 << k
        name, gender_text, birth_text, id_type_text, id_text, mobile_text, code_text, tname_text, level_text = cells

        # name: whitespace collapsed as in the worker form
        if " " in name or "\t" in name or "\u3000" in name:
            name = " ".join(name.split())
        reason = validate_name(name)
        if reason and not formulas & (1 << F_NAME):
            row_errors.append((F_NAME, "missing" if reason == "missing" else reason, _cut(name) or None))

        # document type and number
        id_type = ID_TYPES.get(id_type_text) if id_type_text else "resident"
        if id_type is None:
            id_type = ID_TYPES.get(" ".join(id_type_text.lower().replace("_", " ").split()))
            if id_type is None:
                row_errors.append((F_ID_TYPE, "unknown", _cut(id_type_text)))
        id_number = ""
        id_ok = False
        id_hash = None
        if id_text == LOST_DIGITS:
            row_errors.append((F_ID_NUMBER, "as_number", None))
        elif not id_text:
            if not formulas & (1 << F_ID_NUMBER):
                row_errors.append((F_ID_NUMBER, "missing", None))
        elif id_type is not None:
            id_number = normalize_id_text(id_text)
            if id_type == "resident":
                reason = resident_id_problem(id_number, today_ymd, birth_cache)
            else:
                reason = validate_other_id(id_number)
            if reason:
                row_errors.append((F_ID_NUMBER, reason, None))
            else:
                id_ok = True
                id_hash = hash_id(id_type, id_number)
        resident = id_ok and id_type == "resident"

        # gender and date of birth: read from a resident ID when empty, else must agree with it
        gender: str | None = None
        if gender_text:
            gender = GENDERS.get(gender_text) or GENDERS.get(gender_text.lower())
            if gender is None:
                row_errors.append((F_GENDER, "format", _cut(gender_text)))
        id_gender = ("M" if int(id_number[16]) % 2 else "F") if resident else None
        if gender is None and not gender_text:
            if id_gender is not None:
                gender = id_gender
            elif id_ok:
                row_errors.append((F_GENDER, "missing", None))
        elif gender is not None and id_gender is not None and gender != id_gender:
            row_errors.append((F_GENDER, "mismatch", _cut(gender_text)))

        given_born = parse_birth_date(birth_text) if birth_text else None
        id_born = birth_cache[id_number[6:14]] if resident else None
        if isinstance(given_born, str):  # "invalid"
            row_errors.append((F_BIRTH, "format", _cut(birth_text)))
            born = None
        elif given_born is None:
            born = id_born
            if born is None and id_ok:
                row_errors.append((F_BIRTH, "missing", None))
        else:
            born = given_born
            if id_born is not None and born != id_born:
                row_errors.append((F_BIRTH, "mismatch", _cut(birth_text)))
        if born is not None:
            if born > today:
                row_errors.append((F_BIRTH, "future", _cut(birth_text) or None))
            elif born.year < 1900:
                row_errors.append((F_BIRTH, "too_old", _cut(birth_text) or None))
            elif born > youngest:
                row_errors.append((F_BIRTH, "too_young", _cut(birth_text) or None))

        # mobile (optional)
        mobile = None
        if mobile_text:
            if mobile_match(mobile_text):
                mobile = mobile_text
            else:
                mobile = normalize_mobile(mobile_text)
                if validate_mobile(mobile):
                    row_errors.append((F_MOBILE, "format", _cut(mobile_text)))

        # trade: a code or a name, in either trade column
        trade_text = code_text or tname_text
        trade = None
        if not trade_text:
            if not formulas & (1 << F_TRADE_CODE | 1 << F_TRADE_NAME):
                row_errors.append((F_TRADE_CODE, "missing", None))
        else:
            trade = trades_by_code.get(trade_text) or trades_by_name.get(trade_text)
            if trade is None:
                trade = _find_trade(trade_text, trades_by_code, trades_by_name)
            if trade is None:
                row_errors.append((F_TRADE_CODE, "unknown", _cut(trade_text)))
                trade = _cut(trade_text)

        # skill level (optional)
        level = SKILL_LEVELS.get(level_text) if level_text else None
        if level is None and level_text:
            level = level_cache.get(level_text)
            if level is None:
                level = level_cache[level_text] = parse_skill_level(level_text)
            if level == "invalid":
                row_errors.append((F_LEVEL, "invalid", _cut(level_text)))

        if id_hash is not None:  # a valid ID number
            first = seen.get(id_hash)
            if first is None:
                seen[id_hash] = number
            else:
                row_errors.append((F_ID_NUMBER, "duplicate", None))
        if row_errors:
            for k, code, value in row_errors:
                entry: dict[str, Any] = {"row": number, "column": _ERROR_COLUMN[k], "code": code}
                if value is not None:
                    entry["value"] = value
                if code == "duplicate" and id_hash is not None:  # (a duplicate has its hash)
                    entry["first_row"] = seen[id_hash]
                errors.append(entry)
            staged_rows.append([
                number, _cut(name), gender or _cut(gender_text) or None,
                born.isoformat() if isinstance(born, date) else (_cut(birth_text) or None),
                id_type or _cut(id_type_text), id_hash, id_number[-4:] if id_number else "", None,
                mobile if mobile and mobile_match(mobile) else (_cut(mobile_text) or None),
                trade, level if isinstance(level, int) else (_cut(level_text) or None), 1,
            ])
        else:
            # no error: the ID number is valid, so a birth date was given or read from it
            assert born is not None
            id_enc = b64(encrypt_id(id_number)).decode("ascii")
            staged_rows.append([number, name, gender, born.isoformat(), id_type, id_hash, id_number[-4:], id_enc,
                                mobile, trade, level, 0])
    return out


def _years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _find_trade(text: str, by_code: dict[str, int], by_name: dict[str, int]) -> int | None:
    """The slow path: full-width or spaced codes, 'code name' and 'name(code)' spellings."""
    code = normalize_trade_code(text)
    if code in by_code:
        return by_code[code]
    name = " ".join(unicodedata.normalize("NFKC", text).split())
    if name in by_name:
        return by_name[name]
    for part in re.split(r"[\s()（）]+", name):
        if part in by_code:
            return by_code[part]
        if part in by_name:
            return by_name[part]
    return None


def mark_registered(staged: Staged, registered: dict[str, int], enterprise_id: int) -> int:
    """Add an error to every row whose ID hash is already a worker; return how many rows.

    ``registered`` maps ID hash → enterprise id. Another enterprise is reported without naming it.
    """
    if not registered:
        return 0
    by_row = {number: h for h, number in staged.hashes.items() if h in registered}
    if not by_row:
        return 0
    for row in staged.rows:
        h = by_row.get(row[STAGED_ROW])
        if h is not None and row[STAGED_ID_HASH] == h:
            here = registered[h] == enterprise_id
            staged.errors.append({"row": row[STAGED_ROW], "column": "id_number",
                                  "code": "registered_here" if here else "registered_elsewhere"})
            if not row[STAGED_BAD]:
                row[STAGED_BAD] = 1
                row[STAGED_ID_ENCRYPTED] = None  # never written, so keep no copy
    staged.errors.sort(key=lambda e: e["row"])
    return len(by_row)
