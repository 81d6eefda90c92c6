"""Enterprise and chain use cases: permissions, validation, uniqueness, membership, audit."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from app.errors import Conflict, DomainError, NotFound, PermissionDenied
from app.orgs import services
from app.orgs.models import Enterprise
from tests.app.orgs.conftest import audit_actions, last_audit, valid_uscc


@pytest.fixture(autouse=True)
def _english(_transaction):
    """These tests compare messages with their English msgids; the app's default locale is zh_CN."""
    with force_locale("en"):
        yield



def test_create_enterprise_normalizes_and_audits(req_ctx, users):
    code = valid_uscc()
    ent = services.create_enterprise(users["organizer"], "  新建 企业 ", f" {code.lower()[:9]} {code.lower()[9:]} ", "江苏省")
    assert (ent.name, ent.uscc, ent.region, ent.is_active) == ("新建 企业", code, "江苏省", True)
    entry = last_audit("enterprise_created")
    assert entry.target_id == str(ent.id) and entry.actor_id == users["organizer"].id
    assert entry.details["uscc"] == code


@pytest.mark.parametrize(("uscc", "code_reason", "fragment"), [
    ("9132010012345678", "length", "18"),
    ("91320100MA1B2C3D4O", "format", "I, O, S, V"),
    ("9132AB00MA1B2C3D4X", "format", "3 to 8"),
])
def test_uscc_length_and_format_errors(req_ctx, users, uscc, code_reason, fragment):
    with pytest.raises(DomainError) as exc:
        services.create_enterprise(users["admin"], "企业甲", uscc)
    assert exc.value.code == "invalid_uscc" and exc.value.status == 422
    assert fragment in str(exc.value.message)
    assert exc.value.details["uscc"] == [str(services.USCC_MESSAGES[code_reason])]


def test_uscc_wrong_check_character(req_ctx, users):
    good = valid_uscc()
    bad = good[:17] + next(c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if c != good[17])
    with pytest.raises(DomainError) as exc:
        services.create_enterprise(users["admin"], "企业乙", bad)
    assert exc.value.details["uscc"] == [str(services.USCC_MESSAGES["check"])]
    assert services.uscc_error(good) is None


def test_duplicate_name_and_uscc_are_conflicts(req_ctx, users, create_enterprise):
    existing = create_enterprise(name="重名企业")
    with pytest.raises(Conflict) as exc:
        services.create_enterprise(users["organizer"], "重名企业", valid_uscc())
    assert exc.value.code == "duplicate_name" and "name" in exc.value.details
    with pytest.raises(Conflict) as exc:
        services.create_enterprise(users["organizer"], "另一企业", existing.uscc.lower())
    assert exc.value.code == "duplicate_uscc" and "uscc" in exc.value.details
    other = services.create_enterprise(users["organizer"], "另一企业", valid_uscc())
    with pytest.raises(Conflict):
        services.update_enterprise(users["organizer"], other, name="重名企业")
    with pytest.raises(Conflict):
        services.update_enterprise(users["organizer"], other, uscc=existing.uscc)
    # keeping its own name and code is not a conflict
    services.update_enterprise(users["organizer"], existing, name="重名企业", uscc=existing.uscc)


@pytest.mark.parametrize("role", ["hr", "judge", "worker"])
def test_only_managers_change_enterprises(req_ctx, users, home, role):
    with pytest.raises(PermissionDenied):
        services.create_enterprise(users[role], "企业丙", valid_uscc())
    with pytest.raises(PermissionDenied):
        services.update_enterprise(users[role], home, region="上海市")
    with pytest.raises(PermissionDenied):
        services.create_chain(users[role], "产业链")


def test_update_records_changes_and_deactivation(req_ctx, users, create_enterprise):
    ent = create_enterprise(region="北京市")
    services.update_enterprise(users["admin"], ent, region="天津市")
    assert last_audit("enterprise_updated").details == {"region": ["北京市", "天津市"]}
    services.set_enterprise_active(users["admin"], ent, False)
    assert ent.is_active is False
    services.set_enterprise_active(users["admin"], ent, False)  # no change, no entry
    services.set_enterprise_active(users["admin"], ent, True)
    assert audit_actions("enterprise", ent.id) == ["enterprise_updated", "enterprise_deactivated", "enterprise_reactivated"]
    assert ent.is_active is True


def test_hr_reads_only_own_enterprises(req_ctx, users, home, create_enterprise):
    other = create_enterprise()
    assert services.get_enterprise(users["hr"], home.id) is home
    with pytest.raises(NotFound):
        services.get_enterprise(users["hr"], other.id)
    page = services.list_enterprises(users["hr"], 1, 50)
    assert [e.id for e in page.items] == [home.id]
    for role in ("judge", "worker"):
        with pytest.raises(PermissionDenied):
            services.list_enterprises(users[role])
        with pytest.raises(PermissionDenied):
            services.get_enterprise(users[role], home.id)


def test_list_search_filter_and_worker_counts(req_ctx, users, create_enterprise, create_worker):
    a = create_enterprise(name="搜索A钢铁", region="湖北省")
    b = create_enterprise(name="搜索B电网", is_active=False)
    create_worker(enterprise=a)
    create_worker(enterprise=a)
    create_worker(enterprise=a, is_active=False)
    page = services.list_enterprises(users["organizer"], 1, 50, q="搜索")
    assert [e.id for e in page.items] == [a.id, b.id]
    assert page.counts == {a.id: 2, b.id: 0}
    assert [e.id for e in services.list_enterprises(users["organizer"], 1, 50, q="湖北").items] == [a.id]
    assert [e.id for e in services.list_enterprises(users["organizer"], 1, 50, q=a.uscc.lower()).items] == [a.id]
    assert [e.id for e in services.list_enterprises(users["organizer"], 1, 50, q="搜索", is_active=False).items] == [b.id]
    assert services.list_enterprises(users["organizer"], 1, 1, q="搜索").pagination.pages == 2


def test_chain_create_update_and_duplicates(req_ctx, users):
    chain = services.create_chain(users["organizer"], "新能源汽车产业链", "整车与零部件")
    assert audit_actions("industry_chain", chain.id) == ["chain_created"]
    with pytest.raises(Conflict):
        services.create_chain(users["organizer"], "新能源汽车产业链")
    with pytest.raises(DomainError) as exc:
        services.create_chain(users["organizer"], "   ")
    assert exc.value.code == "name_required"
    services.update_chain(users["organizer"], chain, description="整车、电池与零部件")
    assert last_audit("chain_updated").details == {"description": ["整车与零部件", "整车、电池与零部件"]}


def test_chain_membership(req_ctx, users, create_enterprise):
    org = users["organizer"]
    a, b, c = create_enterprise(name="成员A"), create_enterprise(name="成员B"), create_enterprise(name="成员C")
    chain1 = services.create_chain(org, "链一")
    chain2 = services.create_chain(org, "链二")
    services.set_chain_members(org, chain1, [a.id, b.id, a.id])
    services.set_chain_members(org, chain2, [a.id])
    assert [e.name for e in chain1.members] == sorted(["成员A", "成员B"])
    assert {ch.name for ch in a.chains} == {"链一", "链二"}  # an enterprise may be in several chains
    assert last_audit("chain_members_changed").details == {"added": [a.id], "removed": []}

    services.set_chain_members(org, chain1, [b.id, c.id])
    assert last_audit("chain_members_changed").details == {"added": [c.id], "removed": [a.id]}
    services.remove_chain_member(org, chain1, b.id)
    services.add_chain_member(org, chain1, a.id)
    assert {e.id for e in chain1.members} == {a.id, c.id}
    assert audit_actions("industry_chain", chain1.id).count("chain_members_changed") == 4

    with pytest.raises(Conflict):
        services.add_chain_member(org, chain1, a.id)
    with pytest.raises(NotFound):
        services.remove_chain_member(org, chain1, b.id)
    with pytest.raises(DomainError) as exc:
        services.set_chain_members(org, chain1, [a.id, 999999])
    assert exc.value.code == "unknown_enterprise"


def test_inactive_enterprise_cannot_join_but_may_stay(req_ctx, users, create_enterprise):
    org = users["organizer"]
    a, b = create_enterprise(), create_enterprise(is_active=False)
    chain = services.create_chain(org, "链三")
    services.set_chain_members(org, chain, [a.id])
    with pytest.raises(DomainError) as exc:
        services.set_chain_members(org, chain, [a.id, b.id])
    assert exc.value.code == "inactive_enterprise"
    services.set_enterprise_active(org, a, False)
    services.set_chain_members(org, chain, [a.id])  # already a member: stays
    assert [e.id for e in chain.members] == [a.id]


def test_enterprise_choices_keeps_its_contract(req_ctx, create_enterprise):
    a = create_enterprise(name="选择甲")
    b = create_enterprise(name="选择乙", is_active=False)
    choices = services.enterprise_choices()
    assert (a.id, "选择甲") in choices and (b.id, "选择乙") in choices
    assert (b.id, "选择乙") not in services.enterprise_choices(active_only=True)
    assert all(isinstance(i, int) and isinstance(n, str) for i, n in choices)


def test_model_unchanged_uniques(req_ctx):
    assert Enterprise.__table__.c.name.unique and Enterprise.__table__.c.uscc.unique
