"""A whole competition run by a script that holds only API tokens (``Authorization: Bearer``), as the issue asks:

organizer creates the competition, imports the marking scheme as JSON, sets rules and difficulty factors, opens
registration; HR of two enterprises register workers; the organizer approves (and rejects one), closes, draws the
codes, assigns panels and starts; judges read their codes and submit marks, each batch sent twice (retries);
chief judges lock; the organizer closes scoring, decodes, reviews and publishes; anyone reads the results and
the board; an HR files an appeal, the organizer upholds it and publishes a corrected version.

The published ranks, totals and awards are checked against the pure engine fed with exactly the marks sent.
Only users, enterprises and workers (the foundation's registry) are made with factories; everything about the
competition goes through HTTP.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.db import db
from competitions.domain import (
    AspectSpec,
    ModuleSpec,
    Scheme,
    Standing,
    assign_awards,
    award_rules_from_json,
    quantize_total,
    rank,
    score_entries,
    tie_break_from_json,
)
from competitions.models import Mark

AWARD_RULES = [
    {"type": "fixed", "tiers": [["first_prize", 1], ["second_prize", 1], ["third_prize", 1]]},
    {"type": "medals", "codes": ["gold", "silver", "bronze"], "min_field": [4, 5, 6]},
]
SCHEME = {"modules": [
    {"name": "理论知识", "kind": "theory", "weight": "30", "criteria": [
        {"name": "笔试", "aspects": [
            {"name": "理论试卷", "kind": "M", "max_mark": "100", "scale_min": "0", "scale_max": "100",
             "scale_step": "0.5", "judges_required": 1}]}]},
    {"name": "实际操作", "kind": "practical", "weight": "70", "criteria": [
        {"name": "工艺", "aspects": [
            {"name": "接线工艺", "kind": "J", "max_mark": "30", "scale_min": "0", "scale_max": "3", "scale_step": "1",
             "judges_required": 3, "aggregation": "mean", "normalize": True, "level_words": ["差", "合格", "良", "优"]},
            {"name": "故障排除", "kind": "M", "max_mark": "10", "scale_min": "0", "scale_max": "10",
             "scale_step": "0.5", "judges_required": 1, "uses_difficulty": True}]}]},
]}
# Marks by entrant position (the script learns the codes after the draw): theory, [3 judges' J marks], M mark.
PLANNED = [
    ("88", ["3", "2", "3"], "9.5"),
    ("92.5", ["2", "2", "3"], "8"),
    ("75", ["1", "2", "1"], "6.5"),
    ("88", ["3", "2", "3"], "9.5"),  # the same marks and factor as the first: they share first place
]
DIFFICULTY = ["1.2", "1.1", "1", "1.2"]


class Script:
    """An API client that holds one Bearer token per actor and nothing else (no session, no CSRF)."""

    def __init__(self, client, tokens: dict[str, str]):
        self.client, self.tokens = client, tokens

    def call(self, who: str | None, method: str, path: str, body=None, expect: int | None = 200):
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        resp = self.client.open("/api/v1" + path, method=method, json=body, headers=headers)
        if expect is not None:
            assert resp.status_code == expect, (method, path, resp.status_code, resp.get_json())
        return resp.get_json()


def _engine_expectation(scheme_doc: dict, marks: dict[str, dict[int, list[str]]],
                        difficulty: dict[str, dict[int, str]]) -> dict[str, dict]:
    """What the engine alone makes of the marks sent: {code: {rank, total, awards}}."""
    modules, aspects = [], []
    for m in scheme_doc["modules"]:
        modules.append(ModuleSpec(id=m["id"], kind=m["kind"], weight=Decimal(m["weight"])))
        for c in m["criteria"]:
            for a in c["aspects"]:
                aspects.append(AspectSpec(
                    id=a["id"], module_id=m["id"], kind=a["kind"], max_mark=Decimal(a["max_mark"]),
                    scale_max=Decimal(a["scale_max"]), scale_min=Decimal(a["scale_min"]),
                    scale_step=Decimal(a["scale_step"]), judges_required=a["judges_required"],
                    aggregation=a["aggregation"], trim_k=a["trim_k"], normalize=a["normalize"],
                    uses_difficulty=a["uses_difficulty"],
                    divergence_threshold=None if a["divergence_threshold"] is None else Decimal(a["divergence_threshold"])))
    scheme = Scheme(modules=tuple(modules), aspects=tuple(aspects))
    scores = score_entries(scheme, {c: {a: [Decimal(v) for v in vs] for a, vs in by_a.items()} for c, by_a in marks.items()},
                           {c: {a: Decimal(v) for a, v in by_a.items()} for c, by_a in difficulty.items()},
                           aspect_detail=False)
    ranking = rank([Standing.from_score(s) for s in scores.values()], tie_break_from_json([]))
    awards = assign_awards(ranking, award_rules_from_json(AWARD_RULES))
    return {r.entry_id: {"rank": r.rank, "total": format(quantize_total(r.total), "f"),
                         "awards": sorted(str(a) for a in awards.get(r.entry_id, ()))} for r in ranking}


def test_a_whole_competition_through_the_api_with_tokens(app, client, create_enterprise, create_worker, create_user,
                                                         create_trade):
    from app.accounts.services import create_token

    ent_a, ent_b = create_enterprise(name="甲电力公司"), create_enterprise(name="乙电网公司")
    trade = create_trade()
    workers_a = [create_worker(enterprise=ent_a, name=n, trade=trade) for n in ("张帅坤", "李建国", "王秀英")]
    workers_b = [create_worker(enterprise=ent_b, name=n, trade=trade) for n in ("孙悟能", "周海涛")]
    users = {"organizer": create_user(Role.ORGANIZER), "hr_a": create_user(Role.HR, enterprise=ent_a),
             "hr_b": create_user(Role.HR, enterprise=ent_b)}
    users.update({f"judge{i}": create_user(Role.JUDGE) for i in range(1, 5)})
    api = Script(client, {who: create_token(u, "e2e script").secret for who, u in users.items()})
    judge_id = {who: u.id for who, u in users.items()}

    # --- organizer: competition, scheme (JSON import), rules ------------------------------------------------
    comp = api.call("organizer", "POST", "/competitions", {
        "name": "2026年电工技能比武", "level": "city", "trade_id": trade.id, "organizer_name": "市总工会",
        "venue": "市职业技能实训基地", "starts_on": "2026-12-01", "ends_on": "2026-12-02",
        "appeal_window_minutes": 120}, expect=201)
    cid = comp["id"]
    assert comp["status"] == "draft"
    api.call("organizer", "PUT", f"/competitions/{cid}/scheme", SCHEME)
    assert api.call("organizer", "GET", f"/competitions/{cid}/scheme/check")["valid"] is True
    scheme_doc = api.call("organizer", "GET", f"/competitions/{cid}/scheme")
    theory, practical = scheme_doc["modules"]
    t_aspect = theory["criteria"][0]["aspects"][0]["id"]
    j_aspect, d_aspect = (a["id"] for a in practical["criteria"][0]["aspects"])
    api.call("organizer", "PUT", f"/competitions/{cid}/rules", {"tie_break": [], "award_rules": AWARD_RULES,
                                                                  "promotion_bands": []})
    api.call("organizer", "POST", f"/competitions/{cid}/transitions", {"event": "open_registration"})

    # --- HR: registration (another enterprise's worker is refused, nothing written) ----------------------
    refused = api.call("hr_a", "POST", f"/competitions/{cid}/entries",
                       {"worker_ids": [workers_a[0].id, workers_b[0].id]}, expect=404)
    assert refused["error"]["details"]["items"][0]["worker_id"] == workers_b[0].id
    mine = api.call("hr_a", "POST", f"/competitions/{cid}/entries", {"worker_ids": [w.id for w in workers_a]},
                    expect=201)
    theirs = api.call("hr_b", "POST", f"/competitions/{cid}/entries", {"worker_ids": [w.id for w in workers_b]},
                      expect=201)
    assert api.call("hr_b", "GET", f"/competitions/{cid}/entries")["total"] == 2

    # --- organizer: decisions, close, draw ------------------------------------------------------------------
    rejected_id = theirs[1]["id"]
    api.call("organizer", "POST", f"/competitions/{cid}/entries/{rejected_id}/decision",
             {"decision": "reject", "reason": "不符合报名条件"})
    approve = [e["id"] for e in mine] + [theirs[0]["id"]]
    decided = api.call("organizer", "POST", f"/competitions/{cid}/entries/decisions",
                       {"entry_ids": approve, "decision": "approve"})
    assert {e["status"] for e in decided} == {"approved"}
    api.call("organizer", "POST", f"/competitions/{cid}/transitions", {"event": "close_registration"})
    assert api.call("organizer", "POST", f"/competitions/{cid}/draw", {})["drawn"] == 4
    entries = api.call("organizer", "GET", f"/competitions/{cid}/entries?per_page=200")["items"]
    code_of = {e["id"]: e["code"] for e in entries if e["status"] == "approved"}
    assert sorted(code_of) == sorted(approve) and all(code_of.values())
    assert all(e["code"] is None for e in api.call("hr_a", "GET", f"/competitions/{cid}/entries")["items"])

    # --- difficulty factors, panels, start ------------------------------------------------------------------
    codes = [code_of[i] for i in approve]  # entrant position k ↔ approve[k]
    api.call("organizer", "PUT", f"/competitions/{cid}/difficulty", [
        {"entry_id": entry_id, "aspect_id": d_aspect, "factor": DIFFICULTY[k]} for k, entry_id in enumerate(approve)])
    api.call("organizer", "PUT", f"/competitions/{cid}/modules/{theory['id']}/panel",
             {"judge_ids": [judge_id["judge1"]], "chief_judge_id": judge_id["judge1"]})
    api.call("organizer", "PUT", f"/competitions/{cid}/modules/{practical['id']}/panel",
             {"judge_ids": [judge_id["judge2"], judge_id["judge3"], judge_id["judge4"]],
              "chief_judge_id": judge_id["judge2"]})
    api.call("organizer", "POST", f"/competitions/{cid}/transitions", {"event": "start"})

    # --- judges: codes only, marks sent twice (retries change nothing) -------------------------------------
    assignment = api.call("judge2", "GET", "/judging/assignments")["assignments"]
    assert [(a["module_id"], sorted(a["codes"])) for a in assignment] == [(practical["id"], sorted(codes))]
    body = str(assignment)
    assert all(w.name not in body for w in workers_a + workers_b) and ent_a.name not in body

    sent: dict[str, dict[int, list[str]]] = {c: {} for c in codes}
    batches: dict[str, list[dict]] = {"judge1": [], "judge2": [], "judge3": [], "judge4": []}
    for k, code in enumerate(codes):
        theory_mark, j_marks, d_mark = PLANNED[k]
        batches["judge1"].append({"code": code, "aspect_id": t_aspect, "value": theory_mark})
        sent[code][t_aspect] = [theory_mark]
        for judge, value in zip(("judge2", "judge3", "judge4"), j_marks, strict=True):
            batches[judge].append({"code": code, "aspect_id": j_aspect, "value": value})
        sent[code][j_aspect] = list(j_marks)
        batches["judge2"].append({"code": code, "aspect_id": d_aspect, "value": d_mark})
        sent[code][d_aspect] = [d_mark]
    for judge, items in batches.items():
        for item in items:
            item["idempotency_key"] = uuid.uuid4().hex
        first = api.call(judge, "POST", f"/competitions/{cid}/marks", items)
        again = api.call(judge, "POST", f"/competitions/{cid}/marks", items)  # a retry after a lost response
        assert first["stored"] == len(items) and again["stored"] == 0 and again["duplicate"] == len(items)
    stored = db.session.scalar(select(func.count()).select_from(Mark).where(Mark.aspect_id.in_(
        [t_aspect, j_aspect, d_aspect])))
    assert stored == sum(len(v) for v in batches.values())  # none lost, none duplicated

    # --- locks, close, decode, review, publish --------------------------------------------------------------
    api.call("judge1", "POST", f"/competitions/{cid}/modules/{theory['id']}/lock")
    api.call("organizer", "POST", f"/competitions/{cid}/decode", expect=409)  # practical not locked yet
    api.call("judge3", "POST", f"/competitions/{cid}/modules/{practical['id']}/lock", expect=403)  # not the chief
    api.call("judge2", "POST", f"/competitions/{cid}/modules/{practical['id']}/lock")
    api.call("organizer", "POST", f"/competitions/{cid}/transitions", {"event": "close_scoring"})
    assert api.call("organizer", "POST", f"/competitions/{cid}/decode")["decoded"] is True
    review = api.call("organizer", "GET", f"/competitions/{cid}/results")
    assert review["complete"] is True and {e["code"] for e in review["entries"]} == set(codes)
    version = api.call("organizer", "POST", f"/competitions/{cid}/results/publish", {}, expect=201)
    assert version["version"] == 1

    # --- anyone reads results and the board; they equal the engine's answer ----------------------------
    expected = _engine_expectation(scheme_doc, sent, {code_of[e]: {d_aspect: DIFFICULTY[k]}
                                                      for k, e in enumerate(approve)})
    public = api.call(None, "GET", f"/competitions/{cid}/results/published")
    got = {e["code"]: {"rank": e["rank"], "total": e["total"], "awards": sorted(a["code"] for a in e["awards"])}
           for e in public["entries"]}
    assert got == expected
    assert sorted(r["rank"] for r in expected.values()) == [1, 1, 3, 4]  # equal marks and factors share the place
    board = api.call(None, "GET", f"/competitions/{cid}/board")
    assert board["phase"] == "published" and board["version"] == 1
    assert {e["code"]: (e["rank"], e["total"]) for e in board["entries"]} == {
        c: (x["rank"], x["total"]) for c, x in expected.items()}

    # --- an appeal: filed by HR of the entrant's enterprise, upheld, a corrected version -------------------
    target = mine[2]["id"]
    api.call("hr_b", "POST", f"/competitions/{cid}/appeals",
             {"entry_id": target, "module_id": practical["id"], "text": "评分有误"}, expect=404)
    appeal = api.call("hr_a", "POST", f"/competitions/{cid}/appeals",
                      {"entry_id": target, "module_id": practical["id"], "text": "接线工艺评分与现场记录不符，请复核。"},
                      expect=201)
    assert appeal["status"] == "open" and appeal["code"] == code_of[target]  # decoded: HR may see the code now
    api.call("hr_b", "GET", f"/competitions/{cid}/appeals/{appeal['id']}", expect=404)
    assert api.call("hr_b", "GET", f"/competitions/{cid}/appeals")["items"] == []
    decided = api.call("organizer", "POST", f"/competitions/{cid}/appeals/{appeal['id']}/decision",
                       {"decision": "uphold", "note": "复核后维持原始记录之外的更正"})
    assert decided["status"] == "upheld" and decided["next_step"] == "publish_correction"
    correction = api.call("organizer", "POST", f"/competitions/{cid}/appeals/{appeal['id']}/correction", {},
                          expect=201)
    assert correction["version"] == 2 and str(appeal["id"]) in correction["reason"]
    latest = api.call(None, "GET", f"/competitions/{cid}/results/published")
    assert latest["version"] == 2 and latest["corrected"] is True
    assert api.call("hr_a", "GET", f"/competitions/{cid}/appeals/{appeal['id']}")["status"] == "upheld"
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"competition_appeal_filed", "competition_appeal_upheld", "results_publish"} <= actions
