"""The domain registry (app.domains): the shell names no domain; each domain declares itself and is found through
the ``jiangxin.domains`` entry points, so a new domain needs no edit of the shell."""

from __future__ import annotations

import ast
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import app.domains as registry
from app.domains import Domain, DomainsMissing, all_areas, domains

APP = Path(__file__).resolve().parents[2] / "app"
FOUNDATION = ("accounts", "orgs", "people", "audit")


def test_the_installed_domains_in_their_order():
    assert [d.name for d in domains()] == ["accounts", "orgs", "people", "audit", "competitions", "certificates"]
    assert all(isinstance(d, Domain) for d in domains())


def test_the_shell_imports_no_product_domain():
    """``app/`` (shell and foundation) imports neither competitions nor certificates, anywhere in its code."""
    found = []
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            found += [f"{path.relative_to(APP)}: {n}" for n in names if n.split(".")[0] in ("competitions", "certificates")]
    assert found == []


def test_areas_come_from_the_domains_in_the_headers_order():
    endpoints = [a.endpoint for a in all_areas()]
    assert endpoints[0] == "competitions_setup.index" and endpoints[-1] == "competitions_board.index"
    assert endpoints.index("orgs.enterprises") < endpoints.index("people.trades") < endpoints.index("accounts.users")


def _with_sample(monkeypatch):
    installed = registry.entry_points(group=registry.GROUP)
    sample = EntryPoint(name="sample", value="tests.app.sample_domain:DOMAIN", group=registry.GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [*installed, sample])
    domains.cache_clear()


@pytest.mark.no_transaction
def test_a_new_domain_needs_no_edit_of_the_shell(monkeypatch, make_app, sqlite_url):
    _with_sample(monkeypatch)
    try:
        made = make_app(sqlite_url)
        assert made.test_client().get("/sample").get_data(as_text=True) == "sample domain"
        with made.test_request_context("/"):
            from app.navigation import public_areas

            assert ("sample.index", "/sample") in [(a.endpoint, url) for a, url in public_areas()]
        result = made.test_cli_runner().invoke(args=["sample-hello"])
        assert result.output.strip() == "hello from the sample domain"
    finally:
        domains.cache_clear()


def test_a_domain_missing_what_it_requires_stops_the_start(monkeypatch):
    sample = EntryPoint(name="sample", value="tests.app.sample_domain:DOMAIN", group=registry.GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [sample])
    domains.cache_clear()
    try:
        with pytest.raises(DomainsMissing, match="requires accounts"):
            domains()
        monkeypatch.setattr(registry, "entry_points", lambda group: [])
        domains.cache_clear()
        with pytest.raises(DomainsMissing, match="pip install -e"):
            domains()
    finally:
        domains.cache_clear()
