"""Objects and URL arguments of certificate routes for the route × role matrix (tests/app/test_access_matrix.py).

Enterprise A's worker holds a certificate issued by enterprise A's issuer with an enterprise-A template, and
enterprise A has a batch: HR of enterprise B must get 403/404 on all of them (``SCOPED_ARGS``).
"""

from __future__ import annotations

from datetime import date

from app.db import db

SCOPED_ARGS: tuple[str, ...] = ("certificate_id", "template_id", "batch_id")


def extend(world: dict) -> None:
    from certificates.models import (
        Certificate,
        CertificateBatch,
        CertificateIssuer,
        CertificateTemplate,
        CertificateTemplateVersion,
    )

    ent_a, worker_a, users = world["ent_a"], world["worker_a"], world["users"]
    issuer = CertificateIssuer(code="0042", name="甲企业", enterprise_id=ent_a.id)
    template = CertificateTemplate(kind="award", name="获奖证书", enterprise_id=ent_a.id,
                                   created_by_id=users["hr_a"].id)
    template.versions.append(CertificateTemplateVersion(
        version=1, title="荣誉证书", body="{holder_name}在{subject}中荣获{achievement}。", issuer_name="甲企业",
        signatories=[], created_by_id=users["hr_a"].id))
    db.session.add_all([issuer, template])
    db.session.flush()
    batch = CertificateBatch(id="b" * 32, source="file", enterprise_id=ent_a.id, template_id=template.id,
                             issuer_id=issuer.id, filename="a.csv", created_by_id=users["hr_a"].id)
    db.session.add(batch)
    db.session.flush()
    # A stored (not necessarily validly signed) certificate: enough for access checks of the routes.
    serial = "C2600420000010"
    certificate = Certificate(
        serial=serial, kind="award", issuer_id=issuer.id, template_version_id=template.versions[0].id,
        worker_id=worker_a.id, enterprise_id=ent_a.id, holder_key=f"worker:{worker_a.id}",
        holder_name=worker_a.name, subject_key="manual:matrix", achievement="一等奖", details={}, payload={},
        signature="x", key_id="0" * 16, issued_on=date(2026, 11, 22), batch_id=batch.id,
        created_by_id=users["hr_a"].id,
    )
    db.session.add(certificate)
    db.session.flush()
    world["certificate"] = certificate
    world["args"].update({
        "certificate_id": certificate.id, "template_id": template.id, "batch_id": batch.id, "serial": serial,
        "version": 1,
    })
