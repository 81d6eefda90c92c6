"""The trade catalogue seed: national occupational classification codes (职业分类大典) and names.

(STUB: being completed with at least 30 verified trades.)
"""

TRADES: list[tuple[str, str]] = [
    ("6-31-01-03", "电工"),
    ("6-18-01-01", "车工"),
    ("6-18-01-02", "铣工"),
    ("6-18-02-04", "焊工"),
]
