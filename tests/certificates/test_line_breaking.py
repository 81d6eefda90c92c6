"""Chinese line breaking (kinsoku) for the PDF body, with a fake width: 1 per CJK character, 0.5 otherwise."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certificates.domain import NO_LINE_END, NO_LINE_START, break_lines


def width(s: str) -> float:
    return sum(1.0 if unicodedata.east_asian_width(c) in ("W", "F") else 0.5 for c in s)


@pytest.mark.parametrize(("text", "max_width", "expected"), [
    ("", 5, []),
    ("荣获一等奖", 5, ["荣获一等奖"]),
    ("在全市焊工竞赛中荣获一等奖", 5, ["在全市焊工", "竞赛中荣获", "一等奖"]),
    # 。 may not start a line: 奖 moves down with it
    ("荣获一等奖。", 5, ["荣获一等", "奖。"]),
    # several closing marks in a row move together with the character before them
    # (the fake width counts the curly quotes, East Asian "ambiguous", as 0.5)
    ("他说：“荣获一等奖。”", 5, ["他说：“荣", "获一等", "奖。”"]),
    # （ may not end a line: it moves down
    ("获得一等（金奖）", 5, ["获得一等", "（金奖）"]),
    ("荣获《焊工》称号", 3, ["荣获", "《焊", "工》称", "号"]),
    # Latin words and numbers stay together; spaces hang at the end of a line
    ("Python 3.12 版本", 4, ["Python ", "3.12 版", "本"]),
    ("成绩95.5分", 3, ["成绩", "95.5分"]),
    ("GB/T 15834-2011", 3, ["GB/T ", "15834-2011"]),  # a word wider than the line stays whole
    # dashes and ellipses are not split
    ("好的——再见", 2.5, ["好的", "——再", "见"]),
    ("等等……", 2.5, ["等等", "……"]),
    # a forced line end
    ("第一行\n第二行", 10, ["第一行\n", "第二行"]),
    ("一\n\n二", 10, ["一\n", "\n", "二"]),
    # ASCII punctuation between CJK characters follows the same rules
    ("张三,李四", 2, ["张", "三,", "李四"]),
    # names with 间隔号 do not start a line with it
    ("阿依古丽·买买提", 4, ["阿依古", "丽·买买", "提"]),
])
def test_break_lines(text, max_width, expected):
    assert break_lines(text, max_width, width) == expected


def test_max_width_must_be_positive():
    with pytest.raises(ValueError):
        break_lines("字", 0, width)


def test_full_lines_of_plain_chinese():
    text = "中华人民共和国职业技能等级证书" * 3
    lines = break_lines(text, 7, width)
    assert all(len(line) == 7 for line in lines[:-1])


# --- properties ------------------------------------------------------------------------------------------

CJK = "中文证书技能竞赛一等奖荣获焊工"
ASCII = "abcXYZ0123.-/"
ALPHABET = CJK + "，。、；：？！）》」』”’" + "（《「『“‘" + ASCII + "——……·" + "  \n"
texts = st.text(alphabet=ALPHABET, max_size=60)
widths = st.integers(2, 24).map(lambda n: n / 2)  # 1.0, 1.5, … 12.0


def _word(ch: str) -> bool:
    return ch in ASCII


def allowed_break(line: str, i: int) -> bool:
    """An independent statement of the rules: may ``line`` be broken before ``line[i]``?"""
    before, after = line[:i], line[i]
    if before.endswith("\n"):
        return True
    if after.isspace() or after in NO_LINE_START:
        return False
    if before.rstrip()[-1:] in NO_LINE_END:
        return False
    if _word(before[-1]) and _word(after):
        return False
    if before[-1] == after and after in "—…":
        return False
    return True


@given(texts, widths)
def test_lines_concatenate_to_the_text(text, max_width):
    assert "".join(break_lines(text, max_width, width)) == text


@given(texts, widths)
def test_kinsoku(text, max_width):
    lines = break_lines(text, max_width, width)
    for prev, line in zip(lines, lines[1:], strict=False):
        if prev.endswith("\n"):
            continue  # a forced break: the text itself put the character there
        assert line[0] not in NO_LINE_START, lines
        assert not line[0].isspace(), lines  # spaces hang at the end of the line before
        assert prev.rstrip()[-1:] not in NO_LINE_END, lines
        # a break after a space is between words; a word is cut only when both sides of the break are word characters
        assert not (_word(prev[-1]) and _word(line[0])), lines


@given(texts, widths)
def test_lines_fit_unless_unbreakable(text, max_width):
    for line in break_lines(text, max_width, width):
        if width(line.rstrip()) > max_width:
            assert not any(allowed_break(line, i) for i in range(1, len(line))), line


@given(texts, widths)
def test_lines_are_as_full_as_allowed(text, max_width):
    """Greedy: the first unbreakable unit of the next line would not have fitted."""
    lines = break_lines(text, max_width, width)
    for line, nxt in zip(lines, lines[1:], strict=False):
        if line.endswith("\n"):
            continue
        j = next((j for j in range(1, len(nxt)) if allowed_break(nxt, j)), len(nxt))
        assert width((line + nxt[:j]).rstrip()) > max_width, (line, nxt)
