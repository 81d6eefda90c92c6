"""Shared benchmark helpers: median timing, the BENCH line, a throwaway app on a temp SQLite file.

A benchmark module defines ``run() -> Result`` (or a list of them). ``ratio`` is the baseline's time
over ours for the same work: 1.0 means as fast as the baseline, higher is better, and the line says
PASS when ratio ≥ target.
"""

from __future__ import annotations

import gc
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPEAT = 5


@dataclass
class Result:
    name: str
    value: float  # our median time, seconds
    baseline: float  # the baseline's median time, seconds
    target: float

    @property
    def ratio(self) -> float:
        return self.baseline / self.value if self.value > 0 else float("inf")

    @property
    def passed(self) -> bool:
        return self.ratio >= self.target

    def line(self) -> str:
        return (f"BENCH {self.name} value={self.value:.4f}s baseline={self.baseline:.4f}s ratio={self.ratio:.2f} "
                f"target={self.target:g} {'PASS' if self.passed else 'FAIL'}")


def timed(fn: Callable[[], Any], setup: Callable[[], Any] | None = None) -> float:
    """Seconds one call of ``fn`` takes (``setup`` runs first, untimed; no GC pause inside)."""
    if setup is not None:
        setup()
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        gc.enable()


def compare(ours: Callable[[], Any], baseline: Callable[[], Any], *, ours_setup: Callable[[], Any] | None = None,
            baseline_setup: Callable[[], Any] | None = None, repeat: int = REPEAT) -> tuple[float, float]:
    """Medians of ``repeat`` runs each, interleaved so load from elsewhere hits both alike (one warm-up each)."""
    timed(baseline, baseline_setup)
    timed(ours, ours_setup)
    mine, base = [], []
    for _ in range(repeat):
        base.append(timed(baseline, baseline_setup))
        mine.append(timed(ours, ours_setup))
    return statistics.median(mine), statistics.median(base)


def temp_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"jiangxin-bench-{prefix}-"))


@dataclass
class BenchApp:
    app: Any
    enterprise_id: int
    hr_id: int
    trade_codes: list[str]
    db_path: Path


def throwaway_app(directory: Path) -> BenchApp:
    """An app on a fresh SQLite file (the schema of ``flask db upgrade``, via create_all), seeded with an
    enterprise, the trade catalogue and an HR user of that enterprise."""
    from app import create_app
    from app.accounts.models import Role, User, UserRole
    from app.config import TestingConfig
    from app.db import db
    from app.orgs.models import Enterprise
    from app.people.domain import uscc_check_char
    from app.people.seed import TRADES, seed_trades

    db_path = directory / "bench.db"
    config = TestingConfig(SQLALCHEMY_DATABASE_URI=f"sqlite:///{db_path}", INSTANCE_PATH=directory / "instance")
    app = create_app(config)
    with app.app_context():
        db.create_all()
        body = "91110000MA0000001"
        ent = Enterprise(name="基准测试机械厂", uscc=body + uscc_check_char(body), region="北京市")
        db.session.add(ent)
        seed_trades(db.session)
        hr = User(username="bench-hr", display_name="基准HR", password_hash="x")
        db.session.add(hr)
        db.session.flush()
        hr.roles.append(UserRole(role=Role.HR, enterprise_id=ent.id))
        db.session.commit()
        ids = (ent.id, hr.id)
    return BenchApp(app, ids[0], ids[1], [code for code, _ in TRADES], db_path)


def worker_rows(count: int, trade_codes: list[str]) -> list[list[str]]:
    """``count`` valid, distinct workers in the template's column order, like an HR export."""
    from datetime import date, timedelta

    from app.people.domain import id_check_char

    surnames = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
                "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
    given = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志海波宁"
    levels = ["五级/初级工", "四级/中级工", "三级/高级工", "二级/技师", "一级/高级技师", "", "3", "4"]
    areas = ["110105", "310104", "440305", "320102", "510107", "420106", "330106", "370102"]
    rows = []
    start = date(1965, 1, 1)
    for i in range(count):
        born = start + timedelta(days=(i * 37) % 14000)
        body = f"{areas[i % len(areas)]}{born:%Y%m%d}{i % 1000:03d}"
        number = body + id_check_char(body)
        gender = "男" if int(number[16]) % 2 else "女"
        name = surnames[i % len(surnames)] + given[(i // 7) % len(given)] + (given[(i // 3) % len(given)] if i % 3 else "")
        rows.append([name, gender if i % 2 else "", born.isoformat() if i % 4 == 0 else "", "居民身份证" if i % 5 else "",
                     number, f"1{3 + i % 7}{i:09d}", trade_codes[i % len(trade_codes)], levels[i % len(levels)]])
    return rows


def import_through_services(bench: BenchApp, filename: str, path: Path) -> int:
    """Preview and confirm one file as two requests would: each phase loads its user, commits, ends."""
    from app.accounts.models import User
    from app.db import db
    from app.people.imports import services

    app = bench.app
    with app.test_request_context("/workers/import", method="POST"):
        hr = db.session.get(User, bench.hr_id)
        imp = services.preview_import(hr, None, filename, path.read_bytes())
        assert imp.error_count == 0, imp.errors[:5]
        import_id = imp.id
        db.session.commit()
        db.session.remove()
    with app.test_request_context(f"/workers/import/{import_id}/confirm", method="POST"):
        hr = db.session.get(User, bench.hr_id)
        imp = services.confirm_import(hr, import_id)
        db.session.commit()
        count = imp.row_count
        db.session.remove()
    return count


def reset_workers(bench: BenchApp) -> None:
    """Empty the worker and staging tables and checkpoint the WAL, so every run starts alike."""
    from sqlalchemy import text

    from app.db import db

    with bench.app.app_context():
        db.session.execute(text("DELETE FROM worker"))
        db.session.execute(text("DELETE FROM worker_import"))
        db.session.commit()
        db.session.remove()
        raw = db.engine.raw_connection()  # outside any transaction, which a checkpoint needs
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
