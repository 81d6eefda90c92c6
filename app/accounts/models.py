"""Users, their roles (HR scoped to an enterprise), memberships (roles within one studio, pairing, …), browser
sessions and personal API tokens."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import db, utcnow

if TYPE_CHECKING:
    from app.orgs.models import Enterprise
    from app.people.models import Worker


class Role(enum.StrEnum):
    ADMIN = "admin"
    ORGANIZER = "organizer"
    HR = "hr"
    JUDGE = "judge"
    WORKER = "worker"


MANAGERS = (Role.ORGANIZER, Role.ADMIN)  # the union's staff, who set up and run what the others use


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_enabled: Mapped[bool] = mapped_column(default=True)
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Every browser session carries the generation it was opened in (``get_id``); raising it ends them all (log out
    # everywhere, a new password, a role removed, the account disabled). API tokens do not depend on it.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan", order_by="UserRole.id"
    )
    worker: Mapped[Worker | None] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login: disabled users cannot log in
        return self.is_enabled

    def get_id(self) -> str:
        """What Flask-Login keeps in the session cookie: the user's id and session generation, ``"42:3"``. The user
        loader (``app.accounts.sessions.load_user``) takes a session only while both still hold."""
        return f"{self.id}:{self.session_generation or 0}"

    def has_role(self, *roles: str) -> bool:
        return any(r.role in roles for r in self.roles)

    @property
    def role_names(self) -> set[str]:
        return {r.role for r in self.roles}

    @property
    def hr_enterprise_ids(self) -> set[int]:
        return {r.enterprise_id for r in self.roles if r.role == Role.HR and r.enterprise_id is not None}


class UserRole(db.Model):
    __table_args__ = (
        UniqueConstraint("user_id", "role", "enterprise_id"),
        CheckConstraint("(role = 'hr') = (enterprise_id IS NOT NULL)", name="hr_has_enterprise"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles")
    enterprise: Mapped[Enterprise | None] = relationship(lazy="joined")


class Membership(db.Model):
    """A role held within one scope for a period: a studio's leader (``studio_leader`` in ``studio`` 7), a pairing's
    master (``pairing_master`` in ``pairing`` 12). Held by a user, or by a worker — a person who may have no account
    yet; the account linked to that worker holds it then. ``[started_on, ended_on)``, ``ended_on`` NULL: open.
    The one check is ``app.accounts.services.has_scope``; domains register their role names there."""

    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (worker_id IS NULL)", name="user_or_worker"),
        CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="ends_after_start"),
        Index("ix_membership_scope", "scope_type", "scope_id", "role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    scope_type: Mapped[str] = mapped_column(String(32))
    scope_id: Mapped[int]
    started_on: Mapped[date]
    ended_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


class LoginSession(db.Model):
    """One browser login, from the password to its logout: the session cookie carries its key, the table only the
    key's SHA-256. A session is valid while its row exists (a plain logout deletes it), is younger than
    ``PERMANENT_SESSION_LIFETIME`` and was opened in the user's current ``session_generation``."""

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginThrottle(db.Model):
    """Failed logins in a row on one account (``app.accounts.domain``: the rule; ``app.accounts.throttle``: its
    use). In the database, so every process and host counts the same attempts. ``account`` is the lower-case
    username (of the account when it exists, else as typed: unknown names are throttled alike). A successful login
    deletes the row; rows without an attempt for a day are pruned."""

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_attempt_at: Mapped[datetime] = mapped_column(index=True)
    blocked_until: Mapped[datetime | None]


class ApiToken(db.Model):
    """A personal API token; only its SHA-256 is stored (the token itself has 256 bits of entropy)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


def live_token(digest) -> tuple:
    """Where-conditions of a token's user: the token with this SHA-256 ``digest`` (a value or a bind parameter), not
    revoked, of an enabled user, with ``api_token`` joined to ``user`` (``app.accounts.services.token_login``, which
    Flask-Login's request loader calls for every API request, is their one reader)."""
    return ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None), User.is_enabled.is_(True)
