"""What a judge's mark is checked against and seldom changes, kept by the token lane (SQLite) from one group of
marks to the next: the judges behind API tokens, the competitions' marking schemes with their modules' locks, the
modules' panels, the coded entries with their declared conflicts, and the judges' enterprises and chains.

Why: a group of judges' marks holds the database's one write lock from its first read to its commit, and those
reads were most of its statements (measured: five of a group's seven queries read only these, about a fifth of its
time). At a venue they change a few times an hour; marks arrive dozens a second.

How it stays true: ``marks_setup_version`` holds a counter that SQLite triggers add one to whenever a row of a
watched table (``competitions.models.SETUP_TABLES``) is inserted, changed or deleted — by this app, another
process, the CLI or a script writing the file. A group reads the counter first, in its write transaction: no one
else can write until the group commits. If the counter is the one the cache was filled at, nothing the cache holds
has changed since, and it answers as the queries would. Otherwise the cache is emptied and filled again from this
group's reads. A group that fails empties it too.

Written here rather than taken from a caching library: the rule that makes it correct — one version read under
the write lock, bumped by the database itself — is ours, and the cache itself is a few dictionaries.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

from sqlalchemy import select

from competitions.models import MarksSetupVersion

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

MAX_ITEMS = 50_000  # more than this many kept answers (of any kind): start again (a bound, not a tuning)


def setup_version_column():
    """The counter as a scalar subquery (NULL without its row), for a query that a group runs first anyway."""
    t = MarksSetupVersion.__table__
    return select(t.c.n).where(t.c.id == 1).scalar_subquery()


class SetupCache:
    """One per token lane (process and database); used by one group at a time (``app.grouped_writes``)."""

    def __init__(self) -> None:
        self.version: int | None = None  # the counter the kept answers were read at; None: nothing kept
        self._kinds: dict[str, dict[Any, Any]] = {}
        self._size = 0
        self.fills = 0  # answers read from the database and kept (tests)

    def begin(self, version: int | None) -> None:
        """Call first in a group's write transaction (it holds the write lock), with the counter read in it
        (``setup_version_column``, in the query the group runs first: ``marks.start_group``): keep the answers if
        the counter has not moved since they were read, else forget them. A database without the counter's row
        (made before it existed, or not by this app: ``version`` None) keeps nothing."""
        if version is None or version != self.version:
            self.discard()
        self.version = version

    def discard(self) -> None:
        """Forget everything (a group that failed: what it read may not be what the database holds)."""
        self.version = None
        self._kinds.clear()
        self._size = 0

    def many(self, kind: str, keys: Iterable[K], load: Callable[[list[K]], dict[K, V]]) -> dict[K, V]:
        """``keys`` → their answers of ``kind``: those kept, and the others from ``load(missing keys)``, which
        returns the answers it found (a key it leaves out is asked again next time). Only while a version is
        held (``begin``) are answers kept."""
        keys = list(dict.fromkeys(keys))
        if self.version is None:
            return load(keys) if keys else {}
        kept = self._kinds.setdefault(kind, {})
        missing = [k for k in keys if k not in kept]
        if missing:
            found = load(missing)
            if self._size + len(found) > MAX_ITEMS:
                self._kinds.clear()
                self._size = 0
                kept = self._kinds.setdefault(kind, {})
            kept.update(found)
            self._size += len(found)
            self.fills += len(found)
        return {k: kept[k] for k in keys if k in kept}
