# ruff: noqa: F811  (fixtures imported from certcore_world are used as test arguments)
"""Issuing certificates (service level): signed payloads, serials, idempotency, scope, font check, templates,
revoke and supersede, audit."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.db import db
from app.errors import Conflict, DomainError, NotFound, PermissionDenied
from app.people.services import ValidationFailed
from certificates import domain
from certificates.models import (
    Certificate,
    CertificateIssuer,
    CertificateTemplate,
    CertificateTemplateVersion,
    SerialSequence,
)
from certificates.services import issuance, keys
from certificates.services.issuance import issue_certificate, revoke_certificate, supersede_certificate
from tests.certificates.certcore_world import ID_A, _transaction, own_keys, world, write_ring  # noqa: F401


def _issue(actor, worker, **kw):
    kw.setdefault("kind", "award")
    kw.setdefault("achievement", "荣获一等奖")
    return issue_certificate(actor, worker_id=worker.id, **kw)


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


# --- what is issued ----------------------------------------------------------------------------------------


def test_issued_certificate_is_signed_and_hashes_the_id(world):
    result = _issue(world.organizer, world.worker_a, details={"competition": "2026年数控车工技能竞赛"})
    cert = result.certificate
    assert result.created
    parsed = domain.parse_serial(cert.serial)
    assert not isinstance(parsed, str)
    assert parsed.kind == domain.CertificateKind.AWARD and parsed.year == cert.issued_on.year
    assert parsed.issuer_code == cert.issuer.code and cert.issuer.enterprise_id is None  # the union
    p = cert.payload
    assert p["holder_name"] == "张帅坤" and p["achievement"] == "荣获一等奖" and p["serial"] == cert.serial
    assert p["holder_id_sha256"] == domain.holder_id_hash(cert.serial, ID_A)
    assert ID_A not in str(p) and ID_A[-6:] not in str(p)  # the number itself is nowhere
    assert p["kid"] == cert.key_id == keys.active_key().key_id
    key = next(k for k in keys.key_records() if k.key_id == cert.key_id)
    assert domain.verify(domain.canonical_json(p), cert.signature, key.public_key_raw)
    assert cert.status == "issued" and cert.enterprise_id == world.ent_a.id and cert.worker_id == world.worker_a.id
    [entry] = _audit("certificate.issue")
    assert entry.details["serial"] == cert.serial and ID_A not in str(entry.details)


def test_serials_count_up_per_issuer_and_year(world):
    first = _issue(world.organizer, world.worker_a, achievement="一等奖").certificate
    second = _issue(world.organizer, world.worker_a2, achievement="一等奖", kind="participation").certificate
    hr_cert = _issue(world.hr_a, world.worker_a, achievement="二等奖").certificate
    seq = [domain.parse_serial(c.serial).seq for c in (first, second)]
    assert seq[1] == seq[0] + 1  # kinds share the issuer's sequence
    assert second.serial[0] == "P"
    assert hr_cert.issuer.enterprise_id == world.ent_a.id and hr_cert.issuer.code != first.issuer.code
    assert domain.parse_serial(hr_cert.serial).seq == 1


def test_sequence_is_per_year(world):
    issuer = issuance.issuer_for(None)
    assert issuance.allocate_seq(issuer.id, 2030) == 1
    assert issuance.allocate_seq(issuer.id, 2030) == 2
    assert issuance.allocate_seq(issuer.id, 2031) == 1
    assert db.session.get(SerialSequence, (issuer.id, 2030)).last_seq == 2


def test_issuer_codes_are_allocated_once(world):
    union = issuance.issuer_for(world.organizer)
    assert issuance.issuer_for(None).id == union.id
    a = issuance.issuer_for(world.hr_a)
    assert a.enterprise_id == world.ent_a.id and a.name == "甲机械厂"
    assert issuance.issuer_for(world.ent_a.id).id == a.id
    codes = db.session.scalars(select(CertificateIssuer.code)).all()
    assert len(codes) == len(set(codes)) and all(domain.is_issuer_code(c) for c in codes)


# --- idempotency ---------------------------------------------------------------------------------------------


def test_same_holder_subject_and_kind_is_issued_once(world):
    first = _issue(world.organizer, world.worker_a, subject_key="competition:7:entry:3")
    again = _issue(world.organizer, world.worker_a, subject_key="competition:7:entry:3", achievement="另一个文本")
    assert first.created and not again.created and again.certificate.id == first.certificate.id
    other_kind = _issue(world.organizer, world.worker_a, subject_key="competition:7:entry:3", kind="participation")
    assert other_kind.created
    # Manual certificates: the same form sent twice issues once; another achievement is another certificate.
    m1 = _issue(world.organizer, world.worker_a2, achievement="技术能手")
    m2 = _issue(world.organizer, world.worker_a2, achievement="技术能手")
    m3 = _issue(world.organizer, world.worker_a2, achievement="岗位标兵")
    assert m1.created and not m2.created and m3.created
    assert db.session.query(Certificate).filter_by(holder_key=f"worker:{world.worker_a2.id}").count() == 2
    assert len(_audit("certificate.issue")) == 4


def test_after_revocation_the_same_certificate_can_be_issued_again(world):
    first = _issue(world.organizer, world.worker_a, subject_key="skill:6-18:3", kind="skill_level").certificate
    revoke_certificate(world.organizer, first.id, reason="信息有误")
    again = _issue(world.organizer, world.worker_a, subject_key="skill:6-18:3", kind="skill_level")
    assert again.created and again.certificate.serial != first.serial


# --- scope -----------------------------------------------------------------------------------------------------


def test_hr_issues_only_for_own_enterprise(world):
    ok = _issue(world.hr_a, world.worker_a)
    assert ok.created and ok.certificate.issuer.enterprise_id == world.ent_a.id
    with pytest.raises(ValidationFailed) as exc:
        _issue(world.hr_b, world.worker_a)
    assert "worker_id" in exc.value.details
    with pytest.raises(NotFound):
        issuance.get_certificate(world.hr_b, ok.certificate.id)
    with pytest.raises(NotFound):
        revoke_certificate(world.hr_b, ok.certificate.id, reason="x")
    with pytest.raises(NotFound):
        supersede_certificate(world.hr_b, ok.certificate.id, reason="x", achievement="改")
    assert issuance.list_certificates(world.hr_b).total == 0
    assert issuance.list_certificates(world.hr_a).total == 1


def test_workers_see_only_their_own_and_cannot_issue(world):
    cert_a = _issue(world.organizer, world.worker_a).certificate
    cert_b = _issue(world.organizer, world.worker_b).certificate
    assert issuance.get_certificate(world.worker_user_a, cert_a.id).id == cert_a.id
    with pytest.raises(NotFound):
        issuance.get_certificate(world.worker_user_a, cert_b.id)
    assert [c.id for c in issuance.list_certificates(world.worker_user_a).items] == [cert_a.id]
    for actor in (world.worker_user_a, world.judge):
        with pytest.raises(PermissionDenied):
            _issue(actor, world.worker_a, achievement="自己发")
    with pytest.raises(NotFound):
        issuance.get_manageable(world.hr_b, cert_a.id)
    with pytest.raises(PermissionDenied):
        revoke_certificate(world.worker_user_a, cert_a.id, reason="不要了")
    with pytest.raises(PermissionDenied):
        issuance.list_certificates(world.judge)


def test_hr_sees_but_cannot_change_the_unions_certificates(world):
    union_cert = _issue(world.organizer, world.worker_a).certificate
    assert issuance.get_certificate(world.hr_a, union_cert.id).id == union_cert.id
    with pytest.raises(PermissionDenied):
        revoke_certificate(world.hr_a, union_cert.id, reason="不是我们发的")
    with pytest.raises(PermissionDenied):
        supersede_certificate(world.hr_a, union_cert.id, reason="x", achievement="改")
    assert revoke_certificate(world.organizer, union_cert.id, reason="组委会撤销").status == "revoked"


def test_hr_cannot_use_another_enterprises_template_or_issuer(world):
    template = CertificateTemplate(kind="award", name="乙模板", enterprise_id=world.ent_b.id)
    template.versions.append(CertificateTemplateVersion(version=1, title="荣誉证书", body="…", issuer_name="乙电力公司"))
    db.session.add(template)
    db.session.flush()
    with pytest.raises(ValidationFailed) as exc:
        _issue(world.hr_a, world.worker_a, template_id=template.id)
    assert "template_id" in exc.value.details
    issuer_b = issuance.issuer_for(world.ent_b.id)
    with pytest.raises(ValidationFailed) as exc:
        _issue(world.hr_a, world.worker_a, issuer_id=issuer_b.id)
    assert "issuer_id" in exc.value.details
    assert db.session.query(Certificate).count() == 0


# --- validation: nothing written ------------------------------------------------------------------------------


def test_a_name_the_font_cannot_draw_is_a_field_error(world, create_worker):
    from app.pdf import missing_glyphs

    if not missing_glyphs("𠮷"):
        pytest.skip("this machine's certificate font draws 𠮷")
    worker = create_worker(name="𠮷田", enterprise=world.ent_a)
    with pytest.raises(ValidationFailed) as exc:
        _issue(world.hr_a, worker)
    assert "holder_name" in exc.value.details and "𠮷" in exc.value.details["holder_name"][0]
    with pytest.raises(ValidationFailed) as exc:
        _issue(world.hr_a, world.worker_a, achievement="荣获𠮷祥奖")
    assert "achievement" in exc.value.details
    assert db.session.query(Certificate).count() == 0


@pytest.mark.parametrize(("kw", "field"), [
    ({"kind": "diploma"}, "kind"),
    ({"achievement": "  "}, "achievement"),
    ({"achievement": "奖" * 301}, "achievement"),
    ({"details": {"Bad Key": "x"}}, "details"),
    ({"details": {"score": 1.5}}, "details"),
    ({"details": {"note": "长" * 201}}, "details"),
    ({"subject_key": "no spaces allowed"}, "subject_key"),
    ({"issued_on": date.today() + timedelta(days=3)}, "issued_on"),
    ({"issued_on": date(2001, 1, 1)}, "issued_on"),
    ({"competition_id": 987654}, "competition_id"),
])
def test_invalid_input_is_refused_per_field(world, kw, field):
    with pytest.raises(ValidationFailed) as exc:
        _issue(world.organizer, world.worker_a, **kw)
    assert field in exc.value.details
    assert db.session.query(Certificate).count() == 0


def test_other_holders_need_a_name_and_scope(world):
    with pytest.raises(ValidationFailed) as exc:
        issue_certificate(world.organizer, kind="studio_honor", holder_key="studio:9", achievement="市级创新工作室")
    assert "holder_name" in exc.value.details
    with pytest.raises(ValidationFailed) as exc:
        issue_certificate(world.hr_a, kind="studio_honor", holder_key="studio:9", holder_name="王工作室",
                          achievement="市级创新工作室", enterprise_id=world.ent_b.id)
    assert "enterprise_id" in exc.value.details
    ok = issue_certificate(world.hr_a, kind="studio_honor", holder_key="studio:9", holder_name="王工作室",
                           achievement="市级创新工作室", enterprise_id=world.ent_a.id)
    assert ok.created and ok.certificate.payload["holder_id_sha256"] is None
    assert ok.certificate.serial.startswith("H")


# --- templates and validity -----------------------------------------------------------------------------------


def _template(ent_id, *, months=None, kind="skill_level", active=True):
    template = CertificateTemplate(kind=kind, name="技能等级证书", enterprise_id=ent_id, is_active=active)
    template.versions.append(CertificateTemplateVersion(version=1, title="职业技能等级证书", body="…",
                                                        issuer_name="甲机械厂评价中心", validity_months=months))
    db.session.add(template)
    db.session.flush()
    return template


def test_template_sets_issuer_name_and_validity(world):
    template = _template(world.ent_a.id, months=24)
    cert = _issue(world.hr_a, world.worker_a, kind="skill_level", template_id=template.id,
                  details={"occupation": "车工", "level": "三级/高级工"}).certificate
    assert cert.payload["issuer_name"] == "甲机械厂评价中心"
    assert cert.template_version_id == template.versions[0].id
    assert cert.valid_until == date.fromordinal(issuance.add_months(cert.issued_on, 24).toordinal() - 1)
    assert cert.payload["valid_until"] == cert.valid_until.isoformat()
    # Without template_id the newest active template of the kind in the scope is used.
    other = _issue(world.hr_a, world.worker_a2, kind="skill_level").certificate
    assert other.template_version_id == template.versions[0].id
    archived = _template(world.ent_a.id, active=False)
    with pytest.raises(ValidationFailed):
        _issue(world.hr_a, world.worker_a, kind="skill_level", template_id=archived.id, achievement="四级")
    with pytest.raises(ValidationFailed):
        _issue(world.hr_a, world.worker_a, kind="award", template_id=template.id)


@pytest.mark.parametrize(("day", "months", "until"), [
    (date(2026, 1, 31), 1, date(2026, 2, 27)),
    (date(2026, 3, 15), 12, date(2027, 3, 14)),
    (date(2024, 2, 29), 12, date(2025, 2, 27)),
])
def test_validity_months(day, months, until):
    assert issuance.valid_until_for(CertificateTemplateVersion(validity_months=months), day) == until


# --- revoke and supersede ------------------------------------------------------------------------------------


def test_revoke_keeps_the_record_and_needs_a_reason(world):
    cert = _issue(world.hr_a, world.worker_a).certificate
    with pytest.raises(ValidationFailed):
        revoke_certificate(world.hr_a, cert.id, reason="  ")
    revoked = revoke_certificate(world.hr_a, cert.id, reason="获奖资格被取消")
    assert revoked.status == "revoked" and revoked.revoked_reason == "获奖资格被取消"
    assert revoked.revoked_by_id == world.hr_a.id and revoked.revoked_at is not None
    with pytest.raises(Conflict):
        revoke_certificate(world.hr_a, cert.id, reason="again")
    assert db.session.get(Certificate, cert.id) is not None
    [entry] = _audit("certificate.revoke")
    assert entry.details == {"serial": cert.serial, "reason": "获奖资格被取消"}


def test_supersede_issues_a_new_serial_linked_to_the_old(world):
    old = _issue(world.hr_a, world.worker_a, achievement="荣获二等奖").certificate
    world.worker_a.name = "张帅昆"  # the register's spelling was corrected
    db.session.flush()
    new = supersede_certificate(world.hr_a, old.id, reason="名字写错", achievement="荣获一等奖")
    assert new.serial != old.serial and new.supersedes_id == old.id
    assert new.payload["holder_name"] == "张帅昆" and new.achievement == "荣获一等奖"
    assert new.payload["holder_id_sha256"] == domain.holder_id_hash(new.serial, ID_A)
    db.session.refresh(old)
    assert old.status == "superseded" and old.revoked_reason == "名字写错"
    assert issuance.superseded_by(old).id == new.id
    assert [c.id for c in issuance.history(new)] == [old.id, new.id]
    assert [c.id for c in issuance.history(old)] == [old.id, new.id]
    [entry] = _audit("certificate.supersede")
    assert entry.details["new_serial"] == new.serial
    with pytest.raises(Conflict):
        supersede_certificate(world.hr_a, old.id, reason="again", achievement="x")


def test_a_failed_correction_leaves_the_old_certificate_live(world):
    old = _issue(world.organizer, world.worker_a).certificate
    with pytest.raises(ValidationFailed):
        supersede_certificate(world.organizer, old.id, reason="改奖项", achievement="奖" * 400)
    db.session.refresh(old)
    assert old.status == "issued" and superseded_none(old)
    with pytest.raises(DomainError):
        supersede_certificate(world.organizer, old.id, reason="x", serial="C0000000000000")


def superseded_none(cert) -> bool:
    return issuance.superseded_by(cert) is None


# --- key rotation ---------------------------------------------------------------------------------------------


def test_issue_date_must_fall_in_the_active_keys_window(world, own_keys):
    start = date.today() - timedelta(days=400)
    write_ring(own_keys, [(Ed25519PrivateKey.generate(), start, None)])
    back = _issue(world.organizer, world.worker_a, issued_on=start + timedelta(days=1)).certificate
    assert back.issued_on == start + timedelta(days=1)
    assert domain.parse_serial(back.serial).year == back.issued_on.year
    with pytest.raises(ValidationFailed):
        _issue(world.organizer, world.worker_a2, issued_on=start - timedelta(days=1))
