"""The audit log's rules, pure (no Flask, no database): how an entry is hashed, what a stream's chain must satisfy,
and the signed anchor that keeps each stream's head outside the database.

**Two hash rules** (the entry's ``hash_version``):

* :data:`LEGACY` (1): SHA-256 of a canonical JSON of most columns — the rule of entries written before keyed
  hashing. It covered neither ``ip`` nor (in the main stream) ``stream``, and anyone could recompute it. Old entries
  keep it, so their chains still verify.
* :data:`KEYED` (2): HMAC-SHA256, under a key derived from ``AUDIT_HMAC_KEY`` (kept outside the database), of a
  canonical JSON of **every column** but the row id (assigned by the database on insert; the chain's order is
  ``seq``, and the check below requires ids to grow with it) and the hash itself. Without the key nobody can
  recompute it, so an edit — even with every later hash recomputed — breaks the chain at the edited entry.

A stream's entries must run 1, 2, 3 … without gaps, each naming its predecessor's hash; once an entry is keyed,
every later one must be too (so a forger cannot fall back to the legacy rule).

**Anchors**: what the chain alone cannot show — the last entries deleted, or the whole log rewritten by someone who
holds the key — the anchor shows. It records each stream's head (its last ``seq`` and ``hash``) and from which
``seq`` on the stream is keyed, signed with a key derived from ``AUDIT_HMAC_KEY``; it lives outside the database
(``instance/audit-anchor.json``, ``app.audit.anchor``). A later check requires every anchored entry to still be
there with the anchored hash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

GENESIS = "0" * 64
MAIN = "main"
LEGACY = 1
KEYED = 2
ANCHOR_FORMAT = 1

# The purposes of keys derived from AUDIT_HMAC_KEY: one key, never used twice for different things.
ENTRY_KEY = "audit entry"
ANCHOR_KEY = "audit anchor"
BACKUP_KEY = "backup manifest"

# Why a chain does not verify (``ChainProblem.reason``)
GAP = "gap"  # a seq is missing or repeated: an entry was deleted or inserted
PREV_HASH = "prev_hash"  # the entry does not name its predecessor's hash
HASH = "hash"  # the entry's content does not give its hash: edited, or hashed without the key
VERSION = "version"  # an unknown hash rule, or the legacy rule where the stream is already keyed
ORDER = "order"  # the row ids do not grow with seq: rows were moved
TRUNCATED = "truncated"  # the anchored head is gone: the last entries were deleted
ANCHOR = "anchor"  # the anchored entry is there with another hash: the chain was rewritten


def derive_key(secret: str, purpose: str) -> bytes:
    """A key of its own for each ``purpose``, derived from the configured secret (HMAC-SHA256 as a PRF)."""
    return hmac.new(secret.encode(), b"jiangxin " + purpose.encode(), hashlib.sha256).digest()


def _canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def iso(at: datetime) -> str:
    """The entry's time as it is hashed (UTC, microseconds)."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def legacy_digest(seq: int, at_iso: str, actor_id: int | None, actor_name: str, action: str, target_type: str,
                  target_id: str, details: Mapping[str, Any], prev_hash: str, stream: str = MAIN) -> str:
    """The legacy rule (:data:`LEGACY`): SHA-256, no key, neither ``ip`` nor the main stream's name."""
    fields: list[Any] = [seq, at_iso, actor_id, actor_name, action, target_type, target_id, details, prev_hash]
    if stream != MAIN:  # the main stream's entries hash as they did before there were streams
        fields.append(stream)
    return hashlib.sha256(_canonical(fields)).hexdigest()


class EntryMac:
    """The keyed rule (:data:`KEYED`). Set up once per key; each digest copies the keyed state (``hmac.new`` would
    redo the key schedule for every entry, and judges append one per mark)."""

    def __init__(self, secret: str) -> None:
        self._mac = hmac.new(derive_key(secret, ENTRY_KEY), digestmod=hashlib.sha256)

    def digest(self, stream: str, seq: int, at_iso: str, actor_id: int | None, actor_name: str, action: str,
               target_type: str, target_id: str, ip: str, details: Mapping[str, Any], prev_hash: str) -> str:
        mac = self._mac.copy()
        mac.update(_canonical([KEYED, stream, seq, at_iso, actor_id, actor_name, action, target_type, target_id, ip,
                               details, prev_hash]))
        return mac.hexdigest()


class EntryLike(Protocol):
    """What the chain check reads of an entry (an ``AuditEntry`` row, or anything with these attributes)."""

    @property
    def id(self) -> int: ...
    @property
    def stream(self) -> str: ...
    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> datetime: ...
    @property
    def actor_id(self) -> int | None: ...
    @property
    def actor_name(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def target_type(self) -> str: ...
    @property
    def target_id(self) -> str: ...
    @property
    def ip(self) -> str: ...
    @property
    def details(self) -> dict[str, Any]: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...
    @property
    def hash_version(self) -> int: ...


def entry_hash(entry: EntryLike, mac: EntryMac) -> str | None:
    """The hash ``entry`` must carry under its own rule (None: an unknown rule)."""
    if entry.hash_version == KEYED:
        return mac.digest(entry.stream, entry.seq, iso(entry.at), entry.actor_id, entry.actor_name, entry.action,
                          entry.target_type, entry.target_id, entry.ip, entry.details, entry.prev_hash)
    if entry.hash_version == LEGACY:
        return legacy_digest(entry.seq, iso(entry.at), entry.actor_id, entry.actor_name, entry.action,
                             entry.target_type, entry.target_id, entry.details, entry.prev_hash, entry.stream)
    return None


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    reason: str  # GAP, PREV_HASH, HASH, VERSION, ORDER, TRUNCATED or ANCHOR
    stream: str = MAIN


@dataclass(frozen=True)
class Head:
    """A stream's last entry (``seq``, ``hash``) and the first ``seq`` under the keyed rule (every entry from
    there on must be keyed; ``seq + 1`` when none is yet)."""

    seq: int
    hash: str
    keyed_from: int

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "keyed_from": self.keyed_from}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Head:
        seq, digest, keyed_from = data["seq"], data["hash"], data["keyed_from"]
        if type(seq) is not int or type(keyed_from) is not int or not isinstance(digest, str) or seq < 1:
            raise ValueError("bad head")
        return cls(seq, digest, keyed_from)


class StreamCheck:
    """Walks one stream's entries in ``seq`` order and collects what is wrong.

    ``anchored``: the stream's head as the anchor recorded it — the entry must still be there with that hash, and
    every entry from its ``keyed_from`` on must be keyed. ``start``: continue a walk that was verified before up to
    this head (the anchor's): the first entry given must be that head itself; only the entries after it are
    checked. Without ``start`` the walk begins at seq 1 from the genesis hash.
    """

    def __init__(self, stream: str, mac: EntryMac, anchored: Head | None = None, start: Head | None = None) -> None:
        self.stream = stream
        self.mac = mac
        self.anchored = anchored
        self.start = start
        self.problems: list[ChainProblem] = []
        self.count = 0
        self._expected_seq: int = start.seq if start else 1
        self._prev: str | None = None if start else GENESIS  # None: the start head is still to come
        self._last_id: int | None = None
        self._keyed_from: int | None = None
        self._head: tuple[int, str] | None = None
        self._anchored_seen = False

    def _problem(self, seq: int, reason: str) -> None:
        self.problems.append(ChainProblem(seq, reason, self.stream))

    def add(self, entry: EntryLike) -> None:
        if self.start is not None and self._prev is None:  # the head verified before: only its hash is compared
            self._prev = self.start.hash
            self._keyed_from = self.start.keyed_from if self.start.keyed_from <= self.start.seq else None
            self._last_id, self._head = entry.id, (entry.seq, entry.hash)
            self._expected_seq += 1
            if entry.seq != self.start.seq or entry.hash != self.start.hash:
                self._problem(self.start.seq, ANCHOR)
            self._anchored_seen = self._is_anchored(entry)
            return
        self.count += 1
        seq = entry.seq
        if seq != self._expected_seq:
            self._problem(seq, GAP)
        if entry.prev_hash != self._prev:
            self._problem(seq, PREV_HASH)
        if self._last_id is not None and entry.id <= self._last_id:
            self._problem(seq, ORDER)
        version = entry.hash_version
        must_be_keyed = self._keyed_from is not None or (self.anchored is not None and seq >= self.anchored.keyed_from)
        if version not in (LEGACY, KEYED) or (version == LEGACY and must_be_keyed):
            self._problem(seq, VERSION)
        elif entry_hash(entry, self.mac) != entry.hash:
            self._problem(seq, HASH)
        if version == KEYED and self._keyed_from is None:
            self._keyed_from = seq
        if self._is_anchored(entry):
            self._anchored_seen = True
            if self.anchored is not None and entry.hash != self.anchored.hash:
                self._problem(seq, ANCHOR)
        self._expected_seq, self._prev, self._last_id = seq + 1, entry.hash, entry.id
        self._head = (seq, entry.hash)

    def _is_anchored(self, entry: EntryLike) -> bool:
        return self.anchored is not None and entry.seq == self.anchored.seq

    def finish(self) -> list[ChainProblem]:
        if self.start is not None and self._prev is None:  # not even the head verified before is there
            self._problem(self.start.seq, TRUNCATED)
        elif self.anchored is not None and not self._anchored_seen:
            self._problem(self.anchored.seq, TRUNCATED)
        return self.problems

    @property
    def head(self) -> Head | None:
        """The stream's head as walked (None: no entry)."""
        if self._head is None:
            return None
        seq, digest = self._head
        return Head(seq, digest, self._keyed_from if self._keyed_from is not None else seq + 1)


def missing_stream(stream: str, anchored: Head) -> ChainProblem:
    """An anchored stream that has no entry left at all."""
    return ChainProblem(anchored.seq, TRUNCATED, stream)


# --- anchors ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """Each stream's head at ``written_at``, for one database (``database``: its URL without password)."""

    database: str
    written_at: str
    heads: Mapping[str, Head]

    def payload(self) -> dict[str, Any]:
        return {"format": ANCHOR_FORMAT, "database": self.database, "written_at": self.written_at,
                "streams": {stream: head.as_json() for stream, head in sorted(self.heads.items())}}


class AnchorInvalid(ValueError):
    """The anchor file is not one this installation signed (altered, or signed with another key)."""


def sign(payload: Mapping[str, Any], key: bytes) -> dict[str, Any]:
    """``payload`` with its ``mac`` (HMAC-SHA256 of its canonical JSON)."""
    body = {k: v for k, v in payload.items() if k != "mac"}
    return {**body, "mac": hmac.new(key, _canonical(body), hashlib.sha256).hexdigest()}


def signed(data: Mapping[str, Any], key: bytes) -> bool:
    """True when ``data`` carries a valid ``mac`` under ``key``."""
    mac = data.get("mac")
    return isinstance(mac, str) and hmac.compare_digest(sign(data, key)["mac"], mac)


def anchor_from_json(data: Mapping[str, Any], key: bytes) -> Anchor:
    """The anchor of a signed JSON document; raises :class:`AnchorInvalid` when it is not validly signed."""
    if not isinstance(data, Mapping) or not signed(data, key):
        raise AnchorInvalid("the anchor's signature does not match")
    try:
        if data["format"] != ANCHOR_FORMAT:
            raise ValueError("format")
        heads = {str(stream): Head.from_json(head) for stream, head in data["streams"].items()}
        return Anchor(str(data["database"]), str(data["written_at"]), heads)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise AnchorInvalid("the anchor is malformed") from exc


def heads_extend(old: Mapping[str, Head], new: Mapping[str, Head]) -> bool:
    """True when ``new`` is at or past ``old`` in every stream ``old`` has (what an anchor may be advanced to)."""
    return all(stream in new and new[stream].seq >= head.seq for stream, head in old.items())
