"""Certificate templates: scope per role, validation (seal PNG, colour, border, validity, placeholders, font),
versions frozen once used, PDF preview, default templates; HTML pages and the JSON API."""

from __future__ import annotations

import base64
import io
import itertools
import re
import struct
import zlib
from datetime import date

import pytest
from flask_babel import force_locale
from PIL import Image, ImageDraw
from pypdf import PdfReader
from sqlalchemy import func, select

from app.db import db
from app.errors import Conflict, DomainError, NotFound, PermissionDenied
from certificates.domain import make_serial
from certificates.models import Certificate, CertificateIssuer, CertificateTemplate, CertificateTemplateVersion
from certificates.services import templates as services
from tests.conftest import _transaction, csrf_token  # noqa: F401  (the per-test database transaction)

_seq = itertools.count(1)

CONTENT = {"title": "荣誉证书", "body": "{holder_name} 同志：\n在{subject}中荣获{achievement}。\n特发此证。",
           "issuer_name": "甲机械厂", "signatories": [{"title": "厂长", "name": "王建国"}],
           "primary_color": "#1F4E79", "border_style": "double", "validity_months": 36}


def png(width: int = 300, height: int = 300, mode: str = "RGBA") -> bytes:
    img = Image.new(mode, (width, height), (0, 0, 0, 0) if mode == "RGBA" else 0)
    ImageDraw.Draw(img).ellipse((5, 5, width - 5, height - 5), outline=(200, 0, 0, 255) if mode == "RGBA" else 255,
                                width=8)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (300, 300), (200, 0, 0)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def world(app_ctx, create_enterprise, create_worker, create_user):
    ent_a, ent_b = create_enterprise(name="甲机械厂"), create_enterprise(name="乙电力公司")
    return {
        "ent_a": ent_a, "ent_b": ent_b,
        "organizer": create_user("organizer"), "admin": create_user("admin"),
        "hr_a": create_user("hr", enterprise=ent_a), "hr_b": create_user("hr", enterprise=ent_b),
        "judge": create_user("judge"), "worker": create_user("worker", worker=create_worker(enterprise=ent_a)),
    }


def counts() -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(CertificateTemplate)),
            db.session.scalar(select(func.count()).select_from(CertificateTemplateVersion)))


def issue_with(version: CertificateTemplateVersion, worker_enterprise_id: int | None = None) -> Certificate:
    """A stored certificate that uses ``version`` (what freezes it)."""
    n = next(_seq)
    code = f"{7000 + n % 1000:04d}"
    issuer = CertificateIssuer(code=code, name="发证单位")
    db.session.add(issuer)
    db.session.flush()
    serial = make_serial("award", 2026, code, n)
    cert = Certificate(serial=serial, kind="award", issuer_id=issuer.id, template_version_id=version.id,
                       holder_key=f"test:{n}", holder_name="张三", subject_key=f"manual:{n}", achievement="一等奖",
                       details={}, payload={}, signature="x", key_id="0" * 16, issued_on=date(2026, 11, 22),
                       enterprise_id=worker_enterprise_id)
    db.session.add(cert)
    db.session.flush()
    return cert


def make(user, enterprise_id=None, **overrides):
    values = {**CONTENT, **overrides}
    return services.create_template(user, kind=values.pop("kind", "award"), name=values.pop("name", f"模板{next(_seq)}"),
                                    enterprise_id=enterprise_id, **values)


# --- services: scope ----------------------------------------------------------------------------------


def test_organizer_creates_union_wide_and_hr_their_enterprise(world):
    union = make(world["organizer"], seal=png())
    assert union.enterprise_id is None and union.versions[0].version == 1
    assert union.versions[0].seal_sha256 and union.versions[0].primary_color == "#1f4e79"
    own = make(world["hr_a"], world["ent_a"].id)
    assert own.enterprise_id == world["ent_a"].id
    with pytest.raises(PermissionDenied):
        make(world["hr_a"], None)  # union-wide: organizers only
    with pytest.raises(PermissionDenied):
        make(world["hr_a"], world["ent_b"].id)


def test_hr_sees_union_and_own_templates_only(world):
    union = make(world["organizer"])
    own_a = make(world["hr_a"], world["ent_a"].id)
    own_b = make(world["hr_b"], world["ent_b"].id)
    visible_a = {t.id for t in services.list_templates(world["hr_a"])}
    assert {union.id, own_a.id} <= visible_a and own_b.id not in visible_a
    with pytest.raises(NotFound):
        services.get_template(world["hr_a"], own_b.id)
    with pytest.raises(PermissionDenied):  # visible, but the organizers manage it
        services.get_managed_template(world["hr_a"], union.id)
    assert {union.id, own_a.id, own_b.id} <= {t.id for t in services.list_templates(world["organizer"])}
    assert services.get_managed_template(world["organizer"], own_b.id) is own_b


def test_organizer_may_create_for_an_existing_enterprise_only(world):
    assert make(world["organizer"], world["ent_b"].id).enterprise_id == world["ent_b"].id
    before = counts()
    with pytest.raises(DomainError) as exc:
        make(world["organizer"], 987654)
    assert exc.value.status == 422 and "enterprise_id" in exc.value.details
    assert counts() == before


def test_duplicate_name_in_the_same_scope_is_a_conflict(world):
    make(world["hr_a"], world["ent_a"].id, name="厂内获奖证书")
    with pytest.raises(Conflict):
        make(world["hr_a"], world["ent_a"].id, name="厂内获奖证书")
    make(world["hr_b"], world["ent_b"].id, name="厂内获奖证书")  # another enterprise: fine


# --- services: validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(("overrides", "field_name"), [
    ({"title": ""}, "title"),
    ({"title": "证" * 101}, "title"),
    ({"body": ""}, "body"),
    ({"body": "{holdr_name}荣获"}, "body"),
    ({"body": "{occupation}"}, "body"),  # a skill-level placeholder on an award template
    ({"body": "单个{括号"}, "body"),
    ({"issuer_name": " "}, "issuer_name"),
    ({"primary_color": "red"}, "primary_color"),
    ({"primary_color": "#12345"}, "primary_color"),
    ({"border_style": "wavy"}, "border_style"),
    ({"validity_months": 0}, "validity_months"),
    ({"validity_months": 601}, "validity_months"),
    ({"validity_months": "三年"}, "validity_months"),
    ({"signatories": [{"title": "主任", "name": ""}]}, "signatories"),
    ({"signatories": [{"name": f"签{i}"} for i in range(4)]}, "signatories"),
    ({"title": "荣誉证书𠮷"}, "title"),  # the font cannot draw it: never a blank box
    ({"issuer_name": "𠮷野家工会"}, "issuer_name"),
])
def test_invalid_content_is_refused_with_the_field_and_nothing_is_written(world, overrides, field_name):
    before = counts()
    with force_locale("en"), pytest.raises(DomainError) as exc:
        make(world["organizer"], **overrides)
    assert exc.value.status == 422 and field_name in exc.value.details
    assert all(isinstance(m, str) and m for m in exc.value.details[field_name])
    assert counts() == before


def test_all_problems_are_reported_at_once(world):
    with pytest.raises(DomainError) as exc:
        make(world["organizer"], name="", title="", primary_color="x", border_style="y")
    assert {"name", "title", "primary_color", "border_style"} <= set(exc.value.details)


def test_missing_glyph_message_names_the_character(world):
    with force_locale("en"), pytest.raises(DomainError) as exc:
        make(world["organizer"], body="{holder_name}在𠮷野荣获{achievement}")
    assert "𠮷" in exc.value.details["body"][0] and "font" in exc.value.details["body"][0]


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (None, "PNG"),  # filled in below: a JPEG
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "not a valid PNG"),  # the signature, then garbage
    (b"GIF89a" + b"\0" * 100, "PNG"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * (services.SEAL_MAX_BYTES + 1), "too large"),
])
def test_bad_seal_files(world, data, message):
    data = jpeg() if data is None else data
    before = counts()
    with force_locale("en"), pytest.raises(DomainError) as exc:
        make(world["organizer"], seal=data)
    assert exc.value.status == 422 and message in exc.value.details["seal"][0]
    assert counts() == before


@pytest.mark.parametrize(("width", "height"), [(50, 50), (300, 60), (2400, 2400)])
def test_seal_pixel_size_is_checked(world, width, height):
    with force_locale("en"), pytest.raises(DomainError) as exc:
        services.check_seal(png(width, height, mode="L"))
    assert f"{width} × {height}" in exc.value.details["seal"][0]


def test_truncated_png_is_refused(world):
    data = png()
    with pytest.raises(DomainError) as exc:
        services.check_seal(data[: len(data) // 2])
    assert exc.value.code == "invalid_seal"


def test_decompression_bomb_is_refused_from_the_header(world):
    # A tiny file whose header claims 30000 × 30000 pixels: refused by its size before any decoding.
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))
    assert len(data) < 200
    with force_locale("en"), pytest.raises(DomainError) as exc:
        services.check_seal(data)
    assert "30000 × 30000" in exc.value.details["seal"][0]


def test_signatories_text_round_trip():
    parsed = services.parse_signatories("主任：王建国\n\n 秘书长: 李四 \n张三")
    assert parsed == [{"title": "主任", "name": "王建国"}, {"title": "秘书长", "name": "李四"},
                      {"title": "", "name": "张三"}]
    assert services.parse_signatories(services.signatories_text(parsed)) == parsed


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)), (date(2026, 11, 22), 36, date(2029, 11, 22)),
    (date(2024, 2, 29), 12, date(2025, 2, 28)), (date(2026, 12, 1), 1, date(2027, 1, 1)),
])
def test_add_months(day, months, expected):
    assert services.add_months(day, months) == expected


# --- services: versions ---------------------------------------------------------------------------------


def test_unused_version_is_corrected_in_place_used_one_is_frozen(world):
    template = make(world["organizer"], seal=png())
    v1 = template.versions[0]
    version, created = services.save_content(world["organizer"], template, **{**CONTENT, "title": "获奖证书"})
    assert (version is v1, created, v1.title) == (True, False, "获奖证书")
    issue_with(v1)
    version, created = services.save_content(world["organizer"], template, **{**CONTENT, "title": "荣誉证书"})
    assert created and version.version == 2 and version.title == "荣誉证书"
    assert v1.title == "获奖证书"  # frozen
    assert version.seal_sha256 == v1.seal_sha256 and version.seal_png == v1.seal_png  # the seal is kept
    with pytest.raises(Conflict):
        services.update_version(world["organizer"], template, 1, **CONTENT)  # not the latest, and used
    removed = services.add_version(world["organizer"], template, seal=None, **CONTENT)
    assert removed.version == 3 and removed.seal_png is None


def test_used_latest_version_cannot_be_updated(world):
    template = make(world["organizer"])
    issue_with(template.versions[0])
    with pytest.raises(Conflict) as exc:
        services.update_version(world["organizer"], template, 1, **CONTENT)
    assert exc.value.code == "version_in_use"


def test_hr_cannot_change_union_templates(world):
    union = make(world["organizer"])
    with pytest.raises(PermissionDenied):
        services.add_version(world["hr_a"], union, **CONTENT)
    with pytest.raises(PermissionDenied):
        services.update_template(world["hr_a"], union, is_active=False)


# --- defaults -------------------------------------------------------------------------------------------


def test_default_templates_one_per_kind_idempotent(world):
    first = services.ensure_default_templates()
    assert set(first) == set(services.KIND_LABELS)
    before = counts()
    again = services.ensure_default_templates()
    assert counts() == before and {k: t.id for k, t in again.items()} == {k: t.id for k, t in first.items()}
    for kind, template in first.items():
        v = template.versions[0]
        assert template.enterprise_id is None and services.placeholder_problems(v.body, kind) == []
        assert "{holder_name}" in v.body
        assert services.preview_pdf(template, v).startswith(b"%PDF-")


def test_template_for_prefers_the_enterprises_active_template(world):
    union = services.ensure_default_templates()["award"]
    assert services.template_for("award", world["ent_a"].id) is union.versions[-1]
    own = make(world["hr_a"], world["ent_a"].id)
    assert services.template_for("award", world["ent_a"].id) is own.versions[-1]
    assert services.template_for("award", world["ent_b"].id) is union.versions[-1]
    services.update_template(world["hr_a"], own, is_active=False)
    assert services.template_for("award", world["ent_a"].id) is union.versions[-1]


def test_preview_is_a_real_pdf_with_sample_data(world):
    template = make(world["organizer"], seal=png())
    data = services.preview_pdf(template, template.versions[0])
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "张三" in text and "荣誉证书" in text and "SPECIMEN" in text and "甲机械厂" in text
    assert "有效期至" in text  # validity 36 months


# --- HTML pages ---------------------------------------------------------------------------------------


def _form(token, **overrides):
    data = {"csrf_token": token, "kind": "award", "name": "新模板", "scope": "0", "title": CONTENT["title"],
            "body": CONTENT["body"], "issuer_name": CONTENT["issuer_name"], "signatories": "厂长：王建国",
            "primary_color": "#1f4e79", "border_style": "ornate", "validity_months": "24"}
    data.update(overrides)
    return data


def test_pages_list_create_preview_and_edit(client, login, world):
    login(client, world["organizer"])
    page = client.get("/certificate-templates")
    assert page.status_code == 200 and "获奖证书（默认）" in page.get_data(as_text=True)  # seeded on first use
    token = csrf_token(client)
    resp = client.post("/certificate-templates/new", data={**_form(token), "seal": (io.BytesIO(png()), "seal.png")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    template = db.session.scalar(select(CertificateTemplate).where(CertificateTemplate.name == "新模板"))
    assert template.enterprise_id is None and template.versions[0].seal_png == png()
    assert template.versions[0].signatories == [{"title": "厂长", "name": "王建国"}]
    detail = client.get(f"/certificate-templates/{template.id}")
    assert detail.status_code == 200 and "新模板" in detail.get_data(as_text=True)
    seal = client.get(f"/certificate-templates/{template.id}/versions/1/seal.png")
    assert seal.mimetype == "image/png" and seal.data == png()
    preview = client.get(f"/certificate-templates/{template.id}/versions/1/preview.pdf")
    assert preview.mimetype == "application/pdf" and preview.data.startswith(b"%PDF-")
    assert "SPECIMEN" in PdfReader(io.BytesIO(preview.data)).pages[0].extract_text()
    # Freeze version 1, then save: version 2.
    issue_with(template.versions[0])
    resp = client.post(f"/certificate-templates/{template.id}", data={**_form(csrf_token(client)), "title": "获奖证书"},
                       content_type="multipart/form-data")
    assert resp.status_code == 302
    db.session.expire_all()
    template = db.session.get(CertificateTemplate, template.id)
    assert [v.title for v in template.versions] == ["荣誉证书", "获奖证书"]
    assert template.versions[1].seal_png == png()  # kept
    resp = client.post(f"/certificate-templates/{template.id}/deactivate", data={"csrf_token": csrf_token(client)})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(CertificateTemplate, template.id).is_active is False


def test_page_shows_seal_errors_next_to_the_field_and_stores_nothing(client, login, world):
    login(client, world["hr_a"])
    client.set_cookie("lang", "en")
    before = counts()
    resp = client.post("/certificate-templates/new",
                       data={**_form(csrf_token(client), scope=str(world["ent_a"].id)),
                             "seal": (io.BytesIO(jpeg()), "seal.png")},
                       content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "The seal must be a PNG image." in body
    assert re.search(r'class="field has-error">\s*<label for="seal"', body)
    assert counts() == before


def test_page_hr_scope_choices_and_other_enterprise(client, login, world):
    own_b = make(world["hr_b"], world["ent_b"].id, name="乙厂模板")
    login(client, world["hr_a"])
    new = client.get("/certificate-templates/new").get_data(as_text=True)
    assert "甲机械厂" in new and "乙电力公司" not in new and 'value="0"' not in new  # no union-wide choice
    assert "乙厂模板" not in client.get("/certificate-templates").get_data(as_text=True)
    for path in (f"/certificate-templates/{own_b.id}", f"/certificate-templates/{own_b.id}/versions/1/preview.pdf"):
        assert client.get(path).status_code == 404
    resp = client.post(f"/certificate-templates/{own_b.id}", data=_form(csrf_token(client)))
    assert resp.status_code == 404
    # A forged union-wide scope in the form is refused.
    resp = client.post("/certificate-templates/new", data=_form(csrf_token(client), scope="0"))
    assert resp.status_code == 200 and counts()[0] == 1 + 6  # only B's template and the seeded defaults


def test_pages_refuse_workers_and_judges(client, login, world):
    for role in ("worker", "judge"):
        login(client, world[role])
        assert client.get("/certificate-templates").status_code == 403


# --- API --------------------------------------------------------------------------------------------


def _json(**overrides):
    data = {"kind": "award", "name": "接口模板", **CONTENT, "seal_png_base64": base64.b64encode(png()).decode()}
    data.update(overrides)
    return data


def test_api_create_version_update_and_preview(client, login, world):
    login(client, world["hr_a"])
    headers = {"X-CSRFToken": csrf_token(client)}
    resp = client.post("/api/v1/certificate-templates", json=_json(enterprise_id=world["ent_a"].id), headers=headers)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    tid = body["id"]
    assert body["enterprise_id"] == world["ent_a"].id and body["can_manage"] is True
    assert body["versions"][0]["seal_sha256"] and "seal_png" not in body["versions"][0]
    resp = client.put(f"/api/v1/certificate-templates/{tid}/versions/1", json={**CONTENT, "title": "优秀证书"},
                      headers=headers)
    assert resp.status_code == 200 and resp.get_json()["title"] == "优秀证书"
    assert resp.get_json()["seal_sha256"] == body["versions"][0]["seal_sha256"]
    issue_with(db.session.get(CertificateTemplate, tid).versions[0], world["ent_a"].id)
    resp = client.put(f"/api/v1/certificate-templates/{tid}/versions/1", json=CONTENT, headers=headers)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "version_in_use"
    resp = client.post(f"/api/v1/certificate-templates/{tid}/versions", json={**CONTENT, "seal_png_base64": None},
                       headers=headers)
    assert resp.status_code == 201 and resp.get_json()["version"] == 2 and resp.get_json()["seal_sha256"] is None
    preview = client.get(f"/api/v1/certificate-templates/{tid}/versions/2/preview")
    assert preview.mimetype == "application/pdf"
    listed = client.get("/api/v1/certificate-templates?kind=award").get_json()
    assert tid in [t["id"] for t in listed]
    resp = client.patch(f"/api/v1/certificate-templates/{tid}", json={"is_active": False}, headers=headers)
    assert resp.get_json()["is_active"] is False
    assert tid not in [t["id"] for t in client.get("/api/v1/certificate-templates?active=true").get_json()]


def test_api_bad_seal_and_fields_are_422_and_nothing_is_written(client, login, world):
    login(client, world["organizer"])
    client.set_cookie("lang", "en")
    headers = {"X-CSRFToken": csrf_token(client)}
    before = counts()
    for payload, field_name in (
        (_json(seal_png_base64=base64.b64encode(jpeg()).decode()), "seal"),
        (_json(seal_png_base64="not base64!"), "seal"),
        (_json(seal_png_base64=base64.b64encode(png(40, 40)).decode()), "seal"),
        (_json(primary_color="#zzzzzz"), "primary_color"),
        (_json(border_style="wavy"), "border_style"),
        (_json(body="{nope}"), "body"),
    ):
        resp = client.post("/api/v1/certificate-templates", json=payload, headers=headers)
        assert resp.status_code == 422, (field_name, resp.get_json())
        error = resp.get_json()["error"]
        assert field_name in error["details"] or field_name in str(error["details"]), error
        assert error["message"]
    assert counts() == before


def test_api_hr_of_another_enterprise(client, login, world):
    own_a = make(world["hr_a"], world["ent_a"].id)
    login(client, world["hr_b"])
    headers = {"X-CSRFToken": csrf_token(client)}
    assert client.get(f"/api/v1/certificate-templates/{own_a.id}").status_code == 404
    assert client.post(f"/api/v1/certificate-templates/{own_a.id}/versions", json=CONTENT,
                       headers=headers).status_code == 404
    for method in ("post", "put", "patch"):  # an invalid body must not reveal that the template exists
        path = f"/api/v1/certificate-templates/{own_a.id}" + {"post": "/versions", "put": "/versions/1", "patch": ""}[method]
        assert getattr(client, method)(path, json={"title": 5}, headers=headers).status_code == 404, method
    resp = client.post("/api/v1/certificate-templates", json=_json(enterprise_id=world["ent_a"].id), headers=headers)
    assert resp.status_code == 403
    resp = client.post("/api/v1/certificate-templates", json=_json(enterprise_id=None), headers=headers)
    assert resp.status_code == 403
    assert own_a.id not in [t["id"] for t in client.get("/api/v1/certificate-templates").get_json()]


def test_list_query_count_does_not_grow_with_templates(client, login, world):
    from sqlalchemy import event

    def count_queries(fn) -> int:
        statements = []

        def before(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", before)
        try:
            fn()
        finally:
            event.remove(db.engine, "before_cursor_execute", before)
        return len(statements)

    login(client, world["organizer"])
    services.ensure_default_templates()
    for _ in range(3):
        make(world["organizer"])
    few = count_queries(lambda: client.get("/certificate-templates"))
    for _ in range(20):
        make(world["organizer"])
    many = count_queries(lambda: client.get("/certificate-templates"))
    assert many == few
