"""Certificates from a published competition result, in one action (organizer).

The rows come from the competition's **latest published results version**, asked of
``competitions.services.results`` (``latest_version`` / ``get_version``), never from the competition tables:
every entrant who took part gets one certificate — an **award** certificate when the published result gives
them an award (the awards' stored Chinese words joined, ``certificates.looks.AWARD_WORDS``, e.g. 一等奖), a
**participation** certificate otherwise. Entrants
who were absent (缺考) get nothing, and neither do disqualified ones.

Entrants whose skill-level promotion (竞赛晋级) the organizer **confirmed** (``competitions.services.promotions``)
also get a **skill-level** certificate: the achievement is the level as the app writes it (e.g. 三级/高级工), the
details carry ``skill_level``, and ``occupation`` (the competition's trade) and ``evaluator`` (its organizer) when
recorded — the placeholders of the skill-level template. Its subject is
``competition:<id>:entry:<entry id>:promotion``. A title-only confirmation (全国技术能手 without a level) gives no
certificate here.

Subjects are ``competition:<id>:entry:<entry id>``, so running the action again (or after a corrected
version) issues only what is missing: an entrant who already holds a live certificate of that kind for the
entry is counted as "already issued" and their PDF goes into the ZIP again. A correction that changes an
award is not applied to certificates already issued — the organizer supersedes those one by one on the
certificate page (the overview lists them).

The batch then runs exactly like a file batch (``certificates.services.batches``: job, progress, ZIP, error
file).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask_babel import lazy_gettext as _l

from app.audit.services import record
from app.db import db
from app.errors import Conflict, NotFound, PermissionDenied
from certificates.domain import CertificateKind
from certificates.looks import PARTICIPATION_WORDS, SKILL_LEVEL_WORDS, award_words
from certificates.models import CertificateBatch
from certificates.services import batches


def _require_organizer(actor) -> None:
    if not batches.is_manager(actor):
        raise PermissionDenied()


def published_version(actor, competition_id: int) -> dict[str, Any]:
    """The latest published version in full (organizers), or NotFound when nothing is published."""
    from competitions.services import results

    _require_organizer(actor)
    latest = results.latest_version(competition_id)
    if latest is None:
        raise NotFound(_l("No results have been published for this competition."))
    version = results.get_version(actor, competition_id, latest.version)
    competition = (latest.snapshot or {}).get("competition") or {}
    version["competition"] = {"id": competition_id, "name": competition.get("name", ""),
                              "level": competition.get("level")}
    return version


def plan(actor, competition_id: int, *, template_ids: dict[str, int | None] | None = None) -> dict[str, Any]:
    """What the action would issue: staged rows (award / participation / skill level / already issued) and skipped
    entrants."""
    from competitions.services.promotions import certificate_facts, confirmed_promotions

    version = published_version(actor, competition_id)
    promotions = confirmed_promotions(competition_id)
    facts = certificate_facts(competition_id) if promotions else {}
    name = version["competition"]["name"]
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    # the certificate's words are stored Chinese terms (certificates.looks), whoever clicks and in any language
    for n, e in enumerate(version.get("entries", []), start=1):
        if not e.get("worker_id"):
            continue
        if e.get("status") != "ranked":
            skipped.append({"name": e.get("name", ""), "code": e.get("code"), "status": e.get("status")})
            continue
        awards = [a.get("code") for a in e.get("awards") or [] if a.get("code")]
        kind = CertificateKind.AWARD.value if awards else CertificateKind.PARTICIPATION.value
        achievement = award_words(awards) if awards else PARTICIPATION_WORDS
        details: dict[str, Any] = {"subject": name[: batches.SUBJECT_MAX], "competition_version": version["version"]}
        if e.get("rank") is not None:
            details["rank"] = int(e["rank"])
        rows.append({
            "row": n, "name": e.get("name") or "", "worker_id": e["worker_id"], "id_last4": "", "kind": kind,
            "subject": name[: batches.SUBJECT_MAX],
            "subject_key": f"competition:{competition_id}:entry:{e['entry_id']}",
            "achievement": achievement[: batches.ACHIEVEMENT_MAX], "details": details, "issued_on": None,
            "state": "ok", "code": e.get("code"), "rank": e.get("rank"),
        })
        promoted = promotions.get(e["entry_id"])
        level = None if promoted is None else promoted.get("recommended_level")
        if level is not None and level in SKILL_LEVEL_WORDS:
            level_text = SKILL_LEVEL_WORDS[level]
            level_details: dict[str, Any] = {
                "subject": name[: batches.SUBJECT_MAX], "competition_version": version["version"],
                "skill_level": level_text, **{k: v[: batches.DETAIL_MAX] for k, v in facts.items()}}
            rows.append({
                "row": n, "name": e.get("name") or "", "worker_id": e["worker_id"], "id_last4": "",
                "kind": CertificateKind.SKILL_LEVEL.value, "subject": name[: batches.SUBJECT_MAX],
                "subject_key": f"competition:{competition_id}:entry:{e['entry_id']}:promotion",
                "achievement": level_text[: batches.ACHIEVEMENT_MAX], "details": level_details, "issued_on": None,
                "state": "ok", "code": e.get("code"), "rank": e.get("rank"),
            })
    live = batches.live_certificates({(f"worker:{r['worker_id']}", r["subject_key"], r["kind"]) for r in rows})
    for r in rows:
        c = live.get((f"worker:{r['worker_id']}", r["subject_key"], r["kind"]))
        if c is not None:
            r["state"] = "issued"
            r["serial"] = c.serial
            r["existing_achievement"] = c.achievement
    return {
        "competition": version["competition"], "version": version["version"],
        "published_at": version.get("published_at"), "rows": rows, "skipped": skipped,
        "award": sum(1 for r in rows if r["kind"] == CertificateKind.AWARD.value),
        "participation": sum(1 for r in rows if r["kind"] == CertificateKind.PARTICIPATION.value),
        "skill_level": sum(1 for r in rows if r["kind"] == CertificateKind.SKILL_LEVEL.value),
        "already": sum(1 for r in rows if r["state"] == "issued"),
        "changed": [r for r in rows if r["state"] == "issued" and r.get("existing_achievement") != r["achievement"]],
    }


def issue_for_competition(actor, competition_id: int, *, template_id: int | None = None) -> CertificateBatch:
    """One action: create the batch from the published result and queue it (award + participation + skill level
    for confirmed promotions)."""
    _require_organizer(actor)
    staged = plan(actor, competition_id)
    rows = staged["rows"]
    if not rows:
        raise Conflict(_l("The published results list nobody who took part."), code="batch_nothing_to_issue")
    template = batches.check_template(actor, template_id)
    running = db.session.scalar(
        db.select(CertificateBatch.id).where(CertificateBatch.competition_id == competition_id,
                                             CertificateBatch.status.in_(batches.ACTIVE)).limit(1))
    if running is not None:
        raise Conflict(_l("Certificates for this competition are being issued right now; wait for that batch."),
                       code="batch_running", details={"batch_id": running})
    batch = CertificateBatch(
        id=uuid.uuid4().hex, source=batches.COMPETITION, enterprise_id=None, competition_id=competition_id,
        template_id=template.id if template else None, filename=staged["competition"]["name"][:255],
        status=batches.PREVIEW, rows=rows, errors=[], total=len(rows), created_by_id=actor.id,
    )
    db.session.add(batch)
    db.session.flush()
    record("certificate_batch.preview", batch, {
        "source": batches.COMPETITION, "competition_id": competition_id, "version": staged["version"],
        "rows": len(rows), "award": staged["award"], "participation": staged["participation"],
        "skill_level": staged["skill_level"],
    }, actor=actor)
    return batches.confirm_batch(actor, batch.id)
