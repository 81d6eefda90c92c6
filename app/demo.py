"""Demo data for a newcomer: enterprises, a chain, trades, workers and the logins of every demo account.

Every account the demo creates is in ``DEMO_USERS``, so ``demo`` (and ``demo --show-logins``) prints a login for
each: a user who cannot log in as an account cannot do what the demo waits for it to do (judge3's marks).

Idempotent: it loads only into a database without demo data. Passwords are random per database:
each is an HMAC of the username under a random seed stored in the database and the app's secret key,
so ``demo --show-logins`` can print them again without any password being stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import select

from app.accounts import services as accounts
from app.accounts.models import Role, User, UserRole
from app.audit.services import record
from app.crypto import id_cipher
from app.db import db
from app.models import AppSetting
from app.orgs.models import Enterprise, IndustryChain
from app.people import consents
from app.people.domain import id_check_char, uscc_check_char
from app.people.models import Trade, Worker
from app.people.seed import seed_trades

SEED_KEY = "demo_seed"


@dataclass(frozen=True)
class DemoContext:
    """What a domain's demo loader gets (``Domain.demo``): the database's demo seed (for its random passwords and
    choices) and the foundation's demo workers, in order."""

    seed: str
    workers: list[Worker]

# (role, username, display name, enterprise index or None, worker index or None)
DEMO_USERS = [
    (Role.ADMIN, "admin", "系统管理员", None, None),
    (Role.ORGANIZER, "organizer", "市总工会 李组织", None, None),
    (Role.HR, "hr_steel", "华东钢铁 人力资源部", 0, None),
    (Role.HR, "hr_grid", "江城电网 人力资源部", 1, None),
    (Role.JUDGE, "judge1", "裁判 王建国", None, None),
    (Role.JUDGE, "judge2", "裁判 陈立", None, None),
    (Role.JUDGE, "judge3", "裁判 刘芳", None, None),  # the demo competitions' J aspects need three judges
    (Role.WORKER, "worker1", "张帅坤", None, 0),
    (Role.WORKER, "worker2", "李娜", None, 1),
    (Role.WORKER, "worker3", "欧阳明辉", None, 5),
]

ENTERPRISES = [
    ("华东钢铁集团有限公司", "9132010", "江苏省南京市"),
    ("江城电网检修有限公司", "9142010", "湖北省武汉市"),
    ("海港重工机械股份有限公司", "9133020", "浙江省宁波市"),
]

WORKERS = [
    # name, gender, birth, enterprise index, trade code, skill level, mobile
    ("张帅坤", "M", date(1988, 3, 14), 0, "6-18-02-04", 3, "13812345678"),
    ("李娜", "F", date(1992, 7, 2), 0, "6-31-01-03", 2, "13912345670"),
    ("王磊", "M", date(1985, 11, 30), 0, "6-18-01-01", 4, "13712345671"),
    ("赵敏", "F", date(1995, 1, 8), 0, "6-18-01-02", 5, "15012345672"),
    ("陈刚", "M", date(1979, 5, 21), 1, "6-31-01-03", 1, "15112345673"),
    ("欧阳明辉", "M", date(1990, 9, 9), 1, "6-31-01-03", 2, "18612345674"),
    ("刘洋", "M", date(1993, 4, 17), 1, "6-18-02-04", 3, "18812345675"),
    ("孙悦", "F", date(1997, 12, 25), 2, "6-18-01-01", 4, "17712345676"),
    ("周杰", "M", date(1987, 6, 6), 2, "6-18-01-02", 3, "13612345677"),
    ("吴芳", "F", date(1991, 8, 19), 2, "6-18-02-04", 4, "13512345679"),
]


def _uscc(prefix7: str, n: int) -> str:
    body = f"{prefix7}{n:02d}MA1B2C3D"[:17]
    return body + uscc_check_char(body)


def _resident_id(region: str, born: date, seq: int, gender: str) -> str:
    seq3 = seq * 2 + (1 if gender == "M" else 0)
    body = f"{region}{born:%Y%m%d}{seq3:03d}"
    return body + id_check_char(body)


def _password(seed: str, username: str) -> str:
    mac = hmac.new(current_app.config["SECRET_KEY"].encode(), f"{seed}:{username}".encode(), hashlib.sha256).digest()
    return base64.b32encode(mac).decode()[:16].lower()


def demo_logins() -> list[tuple[str, str, str]]:
    seed = db.session.get(AppSetting, SEED_KEY)
    if seed is None:
        return []
    return [(role.value, username, _password(seed.value, username)) for role, username, *_ in DEMO_USERS]


def load_demo() -> bool:
    """Load the demo data set unless it is there already; return whether anything was created."""
    if db.session.get(AppSetting, SEED_KEY) is not None:
        return False
    seed = secrets.token_hex(16)
    db.session.add(AppSetting(key=SEED_KEY, value=seed))

    seed_trades(db.session)
    trades = {t.code: t for t in db.session.scalars(select(Trade))}

    enterprises = []
    for i, (name, prefix, region) in enumerate(ENTERPRISES):
        ent = db.session.scalar(select(Enterprise).where(Enterprise.name == name))
        if ent is None:
            ent = Enterprise(name=name, uscc=_uscc(prefix, i), region=region)
            db.session.add(ent)
        enterprises.append(ent)
    chain = db.session.scalar(select(IndustryChain).where(IndustryChain.name == "高端装备制造产业链"))
    if chain is None:
        chain = IndustryChain(name="高端装备制造产业链", description="钢铁、电网与重型机械企业组成的产业链工会联合会")
        db.session.add(chain)
    chain.members = [enterprises[0], enterprises[2]]
    db.session.flush()

    cipher = id_cipher()
    workers = []
    for i, (name, gender, born, ent_idx, trade_code, level, mobile) in enumerate(WORKERS):
        number = _resident_id("320106" if ent_idx != 1 else "420102", born, 100 + i, gender)
        id_hash = cipher.hash("resident", number)
        worker = db.session.scalar(select(Worker).where(Worker.id_hash == id_hash))
        if worker is None:
            worker = Worker(
                enterprise_id=enterprises[ent_idx].id, name=name, gender=gender, birth_date=born, id_type="resident",
                id_hash=id_hash, id_last4=number[-4:], id_encrypted=cipher.encrypt(number), mobile=mobile,
                trade_id=trades[trade_code].id if trade_code in trades else None, skill_level=level,
            )
            db.session.add(worker)
        workers.append(worker)
    db.session.flush()
    # Every third worker has given the publicity consent: a consent row, as if the worker had given it (PIPL: provable).
    for worker in workers[::3]:
        if not consents.consents(worker, "publicity"):
            consents.record_consent(worker, "publicity", True, actor_id=None)

    for role, username, display, ent_idx, worker_idx in DEMO_USERS:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            user = User(username=username, display_name=display, password_hash=accounts.hash_password(_password(seed, username)))
            db.session.add(user)
            db.session.flush()
        else:
            user.password_hash = accounts.hash_password(_password(seed, username))
        enterprise_id = enterprises[ent_idx].id if ent_idx is not None else None
        if not any(r.role == role and r.enterprise_id == enterprise_id for r in user.roles):
            user.roles.append(UserRole(role=role, enterprise_id=enterprise_id))
        if worker_idx is not None:
            user.worker_id = workers[worker_idx].id
    db.session.flush()
    # Then each domain's part, in the domains' order (app.domains): competitions shows a published and a running
    # competition to a newcomer, certificates the certificates of the published one.
    from app.domains import domains

    context = DemoContext(seed, workers)
    for domain in domains():
        loader = domain.demo_loader()
        if loader is not None:
            loader(context)
    record("demo_loaded", target_type="database", details={"workers": len(workers), "users": len(DEMO_USERS)})
    return True
