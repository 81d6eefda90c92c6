"""The domain registry: how the shell learns of its domains without naming any.

Every domain package — the foundation ones under ``app/`` (accounts, orgs, people, audit) and the product's
(competitions, certificates, and mentors, studios, talent as they come) — declares itself once, in its own
``__init__.py``, as ``DOMAIN = Domain(…)``: its models, HTML and API blueprints, navigation areas, demo data and CLI commands.
The package is listed as an entry point of the group ``jiangxin.domains`` in ``pyproject.toml``, which is how the
shell finds it (the standard way Python packages announce plug-ins; ``make`` installs the project, so the entry
points are there). Adding a domain is: a package with its ``domain``, one line under that entry-point group and one
in ``[tool.setuptools.packages.find]``, its migration. No file of the shell changes.

Domains are used in ``position`` order (the foundation first): that is the order of their demo data and of their
blueprints' registration. Each area has a position of its own, which orders the header and the start page.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

GROUP = "jiangxin.domains"


def resolve(path: str) -> Any:
    """``"package.module:attribute"`` → the attribute (imported when first needed)."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class Area:
    endpoint: str
    label: str  # the header's link
    blurb: str  # the start page's tile: what is there
    roles: tuple[str, ...] | None  # who sees it (any of them); None: everyone, signed in or not
    position: int  # its place in the header and among the tiles
    title: str | None = None  # the tile's heading, where the header's short label is not enough

    @property
    def heading(self) -> str:
        return self.title or self.label


@dataclass(frozen=True)
class Domain:
    """What a domain package brings to the app. Dotted paths (``"module:attribute"``) are imported only when used,
    so declaring a domain imports nothing heavy."""

    name: str
    package: str
    position: int  # the domain's place among domains: foundation 10–90, product 100 and up
    models: tuple[str, ...] = ()  # modules defining its ORM classes (metadata, Alembic, create_all)
    # Its HTML blueprints and flask-smorest API blueprints; None: every ``bp`` of ``<package>.views`` and ``blp`` of
    # ``<package>.api`` (modules or sub-packages), found by ``app.blueprints``.
    blueprints: tuple[str, ...] | None = None
    api: tuple[str, ...] | None = None
    areas: tuple[Area, ...] = ()  # its places in the header and on the start page
    demo: str | None = None  # a function taking the ``app.demo.DemoContext``: its part of ``flask demo``
    commands: tuple[str, ...] = ()  # click commands or groups added to ``flask``
    requires: tuple[str, ...] = ()  # domains it builds on (checked at start)

    def register(self, app, api) -> None:
        """Register the domain's blueprints on the app and its API blueprints on the API."""
        from app.blueprints import register_domain, register_listed

        if self.blueprints is None and self.api is None:
            register_domain(app, api, self.package)
        else:
            register_listed(app, api, [resolve(p) for p in self.blueprints or ()], [resolve(p) for p in self.api or ()])
        for command in self.commands:
            app.cli.add_command(resolve(command))

    def demo_loader(self) -> Callable[[Any], None] | None:
        return resolve(self.demo) if self.demo else None


class DomainsMissing(RuntimeError):
    pass


@functools.cache
def domains() -> tuple[Domain, ...]:
    """Every installed domain, in ``position`` order. Raises when none is installed (the project was not installed
    with ``pip install -e .``, so its entry points are unknown) or a domain lacks one it requires."""
    found: dict[str, Domain] = {}
    for point in entry_points(group=GROUP):
        domain = point.load()
        if not isinstance(domain, Domain):
            raise TypeError(f"entry point {point.name} of {GROUP} is not a Domain: {point.value}")
        found[domain.name] = domain
    if not found:
        raise DomainsMissing(f"no domains installed (entry points {GROUP!r}): install the project with "
                             "`pip install -e .` (`make run` and `make test` do)")
    for domain in found.values():
        missing = [r for r in domain.requires if r not in found]
        if missing:
            raise DomainsMissing(f"domain {domain.name} requires {', '.join(missing)}, which is not installed")
    return tuple(sorted(found.values(), key=lambda d: (d.position, d.name)))


def all_areas() -> list[Area]:
    """Every domain's areas, in the header's order."""
    return sorted((a for d in domains() for a in d.areas), key=lambda a: a.position)
