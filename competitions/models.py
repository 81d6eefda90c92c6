"""ORM classes of competitions: the competition and its lifecycle log, the marking scheme (modules →
criteria → aspects), registration (entries, quotas, codes, difficulty factors), judging (panels,
judges, conflicts), marks with their revisions, appeals and published result versions.

Marks are never overwritten: every change is a new ``Mark`` row (revision n+1) and the previous row
is marked not current; ``idempotency_key`` makes a retried submission a no-op.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.db import db, utcnow
from app.orgs.models import Enterprise
from app.people.models import Trade, Worker


class Competition(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))  # national | provincial | city | district | chain | enterprise
    trade_id: Mapped[int | None] = mapped_column(ForeignKey("trade.id"))
    organizer_name: Mapped[str] = mapped_column(String(200), default="")  # 主办单位
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    venue: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(24), default="draft")
    # Configuration of the rules that vary between events (see competitions.domain for the shapes).
    tie_break: Mapped[list[Any]] = mapped_column(JSON, default=list)
    award_rules: Mapped[list[Any]] = mapped_column(JSON, default=list)
    promotion_bands: Mapped[list[Any]] = mapped_column(JSON, default=list)
    appeal_window_minutes: Mapped[int] = mapped_column(default=120)
    board_freeze_at: Mapped[datetime | None]
    conflict_same_chain: Mapped[bool] = mapped_column(default=False)
    uses_module_codes: Mapped[bool] = mapped_column(default=False)  # 二次加密
    is_decoded: Mapped[bool] = mapped_column(default=False)  # 解密, by the organizer after every lock
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    trade: Mapped[Trade | None] = relationship(lazy="joined")
    modules: Mapped[list[Module]] = relationship(
        back_populates="competition", order_by="Module.position", cascade="all, delete-orphan"
    )


class CompetitionTransition(db.Model):
    """One step of the lifecycle: who moved the competition from which state to which, and when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competition.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


class Module(db.Model):
    __table_args__ = (UniqueConstraint("competition_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competition.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # theory | practical | other
    weight: Mapped[Decimal | None]  # percent; all or none of a competition's modules have one
    ends_at: Mapped[datetime | None]  # the appeal window runs from here
    locked_at: Mapped[datetime | None]  # chief judge sign-off (签字确认)
    locked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    competition: Mapped[Competition] = relationship(back_populates="modules")
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="module", order_by="Criterion.position", cascade="all, delete-orphan"
    )


class Criterion(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))

    module: Mapped[Module] = relationship(back_populates="criteria")
    aspects: Mapped[list[Aspect]] = relationship(
        back_populates="criterion", order_by="Aspect.position", cascade="all, delete-orphan"
    )


class Aspect(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criterion.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(1))  # M (measurement) | J (judgement)
    max_mark: Mapped[Decimal]
    scale_min: Mapped[Decimal]
    scale_max: Mapped[Decimal]
    scale_step: Mapped[Decimal]
    judges_required: Mapped[int] = mapped_column(default=1)
    aggregation: Mapped[str] = mapped_column(String(16), default="mean")  # mean|median|sum|trimmed_mean|trimmed_sum
    trim_k: Mapped[int] = mapped_column(default=0)
    normalize: Mapped[bool] = mapped_column(default=False)
    uses_difficulty: Mapped[bool] = mapped_column(default=False)
    divergence_threshold: Mapped[Decimal | None]
    level_words: Mapped[list[str]] = mapped_column(JSON, default=list)  # the words for each judgement level

    criterion: Mapped[Criterion] = relationship(back_populates="aspects")


class EnterpriseQuota(db.Model):
    __table_args__ = (UniqueConstraint("competition_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competition.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    max_entries: Mapped[int]


class Entry(db.Model):
    """A worker registered for a competition. ``code`` is the blind entrant code from the draw."""

    __table_args__ = (
        UniqueConstraint("competition_id", "worker_id"),
        UniqueConstraint("competition_id", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competition.id", ondelete="CASCADE"), index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)  # at registration time
    status: Mapped[str] = mapped_column(String(16), default="registered")  # registered|approved|rejected|withdrawn
    code: Mapped[str | None] = mapped_column(String(16))
    completion_seconds: Mapped[int | None]  # for the tie-break chain
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    worker: Mapped[Worker] = relationship(lazy="joined")
    enterprise: Mapped[Enterprise] = relationship(lazy="joined")


class ModuleCode(db.Model):
    """Second blind code of an entry for one module (二次加密)."""

    __table_args__ = (UniqueConstraint("entry_id", "module_id"), UniqueConstraint("module_id", "code"))

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"))
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(16))


class DifficultyFactor(db.Model):
    """难度系数 of one entry on one aspect (e.g. the degree of difficulty of a dive)."""

    __table_args__ = (UniqueConstraint("entry_id", "aspect_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"))
    aspect_id: Mapped[int] = mapped_column(ForeignKey("aspect.id", ondelete="CASCADE"), index=True)
    factor: Mapped[Decimal]


class Panel(db.Model):
    """The judges of one module, led by a chief judge (裁判长)."""

    __table_args__ = (UniqueConstraint("module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competition.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id", ondelete="CASCADE"))
    chief_judge_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    members: Mapped[list[PanelJudge]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class PanelJudge(db.Model):
    __table_args__ = (UniqueConstraint("panel_id", "judge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panel.id", ondelete="CASCADE"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)

    judge: Mapped[User] = relationship(lazy="joined")


class JudgeProfile(db.Model):
    """What conflict checks need to know about a judge: the enterprise they belong to, if any."""

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"))


class DeclaredConflict(db.Model):
    """回避: a judge declared a conflict with an entry (kinship, teacher, former colleague …)."""

    __table_args__ = (UniqueConstraint("entry_id", "judge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competition.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"))
    judge_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Mark(db.Model):
    """One revision of one judge's mark for one entry on one aspect. Only ``is_current`` ever changes."""

    # The unique (entry, aspect, judge, revision) is also the index every mark lookup seeks: by entry × aspect (the
    # judges there), by entry × aspect × judge (a judge's current mark). A second index on (entry, aspect, judge,
    # is_current) was dropped: it served the same seeks, and every judge's mark paid for writing it, under SQLite's one
    # write lock.
    __table_args__ = (UniqueConstraint("entry_id", "aspect_id", "judge_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"))
    aspect_id: Mapped[int] = mapped_column(ForeignKey("aspect.id", ondelete="CASCADE"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)  # whose mark it is
    revision: Mapped[int] = mapped_column(default=1)
    value: Mapped[Decimal]
    is_current: Mapped[bool] = mapped_column(default=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(Text, default="")  # required after a lock
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))  # a clerk, for paper score sheets
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))  # double entry
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScoreSheet(db.Model):
    """A judge's submission of all their marks for one entry in one module."""

    __table_args__ = (UniqueConstraint("entry_id", "module_id", "judge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"))
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id", ondelete="CASCADE"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)


class DivergenceReview(db.Model):
    """The chief judge's decision on a flagged (entry, aspect): re-mark requested, or accepted with a reason."""

    __table_args__ = (UniqueConstraint("entry_id", "aspect_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"))
    aspect_id: Mapped[int] = mapped_column(ForeignKey("aspect.id", ondelete="CASCADE"))
    decision: Mapped[str] = mapped_column(String(16))  # remark | accepted
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


class Appeal(db.Model):
    """申诉: filed by HR (the team leader) within the window after a module ends; the chief judge decides."""

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id", ondelete="CASCADE"))
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | upheld | rejected
    decision: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None]


class ResultVersion(db.Model):
    """A published, frozen snapshot of the results; a correction is a new version with a reason."""

    __table_args__ = (UniqueConstraint("competition_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competition.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)


class PromotionDecision(db.Model):
    """The organizer's decision on one skill-level promotion recommendation (竞赛晋级): confirmed or declined
    (with a reason), on the published results version it was made on. Deciding again updates the row (audited);
    a decision made on an older version stays visible as such until it is decided again."""

    __table_args__ = (UniqueConstraint("competition_id", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # no index of its own: the unique (competition_id, entry_id) serves lookups by competition
    competition_id: Mapped[int] = mapped_column(ForeignKey("competition.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"))
    version: Mapped[int]  # the ResultVersion.version whose recommendation was decided
    outcome: Mapped[str] = mapped_column(String(24))  # PromotionOutcome, as recommended then
    recommended_level: Mapped[int | None]
    title: Mapped[str] = mapped_column(String(64), default="")
    decision: Mapped[str] = mapped_column(String(16))  # confirmed | declined
    note: Mapped[str] = mapped_column(Text, default="")  # required when declined
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
