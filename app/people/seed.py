"""The trade catalogue seed: occupations (职业) with their national occupational codes (职业编码).

Source: 《中华人民共和国职业分类大典（2022年版）》 (the 2022 national occupational classification); the
codes are also the ``职业编码`` printed on the cover of each 国家职业技能标准 / 国家职业标准 (national
occupational skill standard), e.g. 焊工 GZB 6-18-02-04, 镗工 GZB 6-18-01-05 (2023), 中式烹调师 4-03-02-01.
Codes changed between the 2015 and 2022 editions (工业机器人系统运维员 6-31-01-10 → 6-31-07-01,
冲压工 6-18-02-03 → 6-18-01-12, 工具钳工 → 6-18-04-06, …); the 2022 codes are used throughout. The 2022
edition has no single “钳工” or “数控车工” occupation: 钳工 is split into 装配钳工, 工具钳工 and 机修钳工, and
CNC turning belongs to 车工 (multi-process CNC work to 多工序数控机床操作调整工).

The selection favours trades common in workers' skills competitions (职工职业技能大赛).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

TRADES: list[tuple[str, str]] = [
    # 6-18 机械制造基础加工人员
    ("6-18-01-01", "车工"),
    ("6-18-01-02", "铣工"),
    ("6-18-01-04", "磨工"),
    ("6-18-01-05", "镗工"),
    ("6-18-01-07", "多工序数控机床操作调整工"),
    ("6-18-01-08", "电切削工"),
    ("6-18-01-11", "铆工"),
    ("6-18-01-12", "冲压工"),
    ("6-18-01-13", "增材制造设备操作员"),
    ("6-18-02-01", "铸造工"),
    ("6-18-02-02", "锻造工"),
    ("6-18-02-03", "金属热处理工"),
    ("6-18-02-04", "焊工"),
    ("6-18-03-03", "涂装工"),
    ("6-18-04-01", "模具工"),
    ("6-18-04-06", "工具钳工"),
    # 6-20 / 6-22 / 6-25 设备、汽车、电子设备制造
    ("6-20-01-01", "装配钳工"),
    ("6-20-03-01", "机床装调维修工"),
    ("6-22-02-01", "汽车装调工"),
    ("6-25-04-07", "电子设备装接工"),
    ("6-25-04-09", "物联网安装调试员"),
    # 6-11 化学原料和化学制品制造
    ("6-11-01-03", "化工总控工"),
    # 6-28 电力、热力生产和供应
    ("6-28-01-14", "变配电运行值班员"),
    ("6-28-01-15", "继电保护员"),
    # 6-29 建筑施工
    ("6-29-01-01", "砌筑工"),
    ("6-29-01-03", "混凝土工"),
    ("6-29-01-04", "钢筋工"),
    ("6-29-01-05", "架子工"),
    ("6-29-02-11", "电力电缆安装运维工"),
    ("6-29-02-12", "送配电线路工"),
    ("6-29-03-03", "电梯安装维修工"),
    ("6-29-03-05", "制冷空调系统安装维修工"),
    ("6-29-04-01", "装饰装修工"),
    # 6-30 通用工程机械操作
    ("6-30-05-01", "起重装卸机械操作工"),
    # 6-31 生产辅助人员
    ("6-31-01-02", "机修钳工"),
    ("6-31-01-03", "电工"),
    ("6-31-01-04", "仪器仪表维修工"),
    ("6-31-01-10", "机电设备维修工"),
    ("6-31-03-01", "化学检验员"),
    ("6-31-03-04", "无损检测员"),
    ("6-31-07-01", "工业机器人系统运维员"),
    ("6-31-07-03", "工业机器人系统操作员"),
    # 4 社会生产服务和生活服务人员
    ("4-02-04-06", "无人机驾驶员"),
    ("4-02-06-03", "物流服务师"),
    ("4-03-02-01", "中式烹调师"),
    ("4-03-02-02", "中式面点师"),
    ("4-03-02-03", "西式烹调师"),
    ("4-03-02-07", "茶艺师"),
    ("4-04-04-02", "网络与信息安全管理员"),
    ("4-04-05-05", "人工智能训练师"),
    ("4-07-05-03", "消防设施操作员"),
    ("4-08-08-23", "建筑信息模型技术员"),
    ("4-10-01-05", "养老护理员"),
    ("4-10-01-06", "家政服务员"),
    ("4-10-03-01", "美容师"),
    ("4-10-03-02", "美发师"),
    ("4-12-01-01", "汽车维修工"),
]


def seed_trades(session: Session) -> int:
    """Insert the trades of ``TRADES`` that are missing; return how many were added.

    Idempotent: a trade is skipped when its code or its name is already in the catalogue (an organizer
    may have entered or renamed it), so running it again never fails on the unique constraints.
    Flushes only; the caller commits.
    """
    from app.people.models import Trade

    rows = session.execute(select(Trade.code, Trade.name)).all()
    codes, names = {r.code for r in rows}, {r.name for r in rows}
    added = 0
    for code, name in TRADES:
        if code in codes or name in names:
            continue
        session.add(Trade(code=code, name=name))
        codes.add(code)
        names.add(name)
        added += 1
    session.flush()
    return added
