"""The sample nginx site (deploy/nginx/jiangxin.conf) agrees with the app: the upload limit, and the board's
addresses that it micro-caches or streams."""

from __future__ import annotations

import re
from pathlib import Path

from flask import url_for

from app.config import Config

SITE = (Path(__file__).resolve().parent.parent / "deploy" / "nginx" / "jiangxin.conf").read_text()
UNITS = {"k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}


def _locations() -> dict[str, str]:
    """Regex location → its block's text."""
    return dict(re.findall(r"location ~ (\S+) \{(.*?)\n    \}", SITE, re.S))


def _location_for(path: str) -> str | None:
    """The block nginx picks for ``path`` among the regex locations (the first that matches, as nginx does)."""
    return next((body for pattern, body in _locations().items() if re.search(pattern, path)), None)


def test_the_upload_limit_is_the_app_s():
    size, unit = re.search(r"client_max_body_size (\d+)([kmg]?);", SITE).groups()
    assert int(size) * UNITS.get(unit, 1) == Config.MAX_CONTENT_LENGTH


def test_the_board_is_micro_cached_and_its_stream_is_not(app):
    with app.test_request_context():
        board = url_for("competitions_results_api.Board", competition_id=12)
        stream = url_for("competitions_results_api.BoardStream", competition_id=12)
        page = url_for("competitions_board.board", competition_id=12)
        results = url_for("competitions_board.results", competition_id=12)
    for path in (board, page):
        block = _location_for(path)
        assert block is not None and "proxy_cache jiangxin_board;" in block, path
        assert "proxy_cache_bypass $jiangxin_personal;" in block and "proxy_no_cache $jiangxin_personal;" in block
        assert "proxy_cache_lock on;" in block and "proxy_cache_use_stale updating" in block
    block = _location_for(stream)
    assert "proxy_buffering off;" in block and "proxy_cache off;" in block
    assert int(re.search(r"proxy_read_timeout (\d+)s;", block).group(1)) > app.config.get("BOARD_STREAM_SECONDS", 60)
    assert _location_for(results) is None  # everything else goes to the app uncached
    assert _location_for("/api/v1/competitions/12/results") is None


def test_the_proxy_tells_the_app_who_and_how_the_client_asked():
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in SITE
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in SITE
    assert "proxy_set_header Host $host;" in SITE
