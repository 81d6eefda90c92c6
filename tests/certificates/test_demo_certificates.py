"""``flask demo`` also issues the published competition's certificates: a newcomer logs in as worker1, downloads
the PDF and verifies it at once; running the demo again issues nothing twice."""

from __future__ import annotations

from sqlalchemy import func, select

from app.accounts.models import User
from app.db import db
from tests.conftest import _transaction, login_as  # noqa: F401  (database tests)


def _demo(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return result


def test_demo_issues_certificates_that_download_and_verify(app, client):
    from certificates.models import Certificate, CertificateTemplate
    from competitions.demo import WELDING
    from competitions.models import Competition

    _demo(app)
    welding = db.session.scalars(select(Competition).where(Competition.name == WELDING)).one()
    certs = list(db.session.scalars(select(Certificate).where(Certificate.competition_id == welding.id)).unique())
    assert len(certs) == 6  # six welders took part
    kinds = sorted(c.kind for c in certs)
    assert "award" in kinds and all(k in ("award", "participation") for k in kinds)
    assert {t.kind for t in db.session.scalars(select(CertificateTemplate))} >= {"award", "participation"}

    worker1 = db.session.scalars(select(User).where(User.username == "worker1")).one()
    mine = [c for c in certs if c.worker_id == worker1.worker_id]
    assert len(mine) == 1
    login_as(client, worker1)
    page = client.get("/my/certificates")
    assert page.status_code == 200 and mine[0].serial.encode() in page.data
    pdf = client.get(f"/certificates/{mine[0].id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    pdf.close()
    verification = client.get(f"/api/v1/certificates/{mine[0].serial}/verification").get_json()
    assert verification["valid"] is True, verification

    count = db.session.scalar(select(func.count()).select_from(Certificate))
    second = _demo(app)
    assert "already present" in second.output
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == count
