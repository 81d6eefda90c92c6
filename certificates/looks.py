"""The look of a certificate: its template version's, or its kind's built-in one.

The built-in content per kind is both the content of the union-wide default templates
(``certificates.services.templates.ensure_default_templates``) and the look of a certificate issued without a
template (``certificates.services.render``). Plain values only: no database, no request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from certificates.pdf import CertificateLook

if TYPE_CHECKING:
    from certificates.models import CertificateTemplateVersion

#: Built-in content per kind: the union-wide default templates and the look of certificates without one.
DEFAULTS: dict[str, dict[str, str]] = {
    "award": {"name": "获奖证书（默认）", "title": "荣誉证书",
              "body": "{holder_name} 同志：\n在{subject}中成绩优异，荣获{achievement}。\n特发此证，以资鼓励。"},
    "participation": {"name": "参赛证书（默认）", "title": "参赛证书",
                      "body": "{holder_name} 同志：\n参加{subject}，完成全部竞赛项目。\n特发此证。"},
    "skill_level": {"name": "职业技能等级证书（默认）", "title": "职业技能等级证书",
                    "body": "{holder_name} 同志：\n经考核评价，在{occupation}职业（工种）中达到{achievement}水平。\n特发此证。"},
    "apprentice_graduation": {"name": "出师证书（默认）", "title": "出师证书",
                              "body": "{holder_name} 同志：\n师从{master_name}，学习{trade}技艺，经出师考核，"
                                      "成绩{achievement}，准予出师。\n特发此证。"},
    "craftsman_title": {"name": "工匠称号证书（默认）", "title": "荣誉证书",
                        "body": "{holder_name} 同志：\n被授予“{achievement}”称号。\n特发此证，以资鼓励。"},
    "studio_honor": {"name": "创新工作室荣誉证书（默认）", "title": "荣誉证书",
                     "body": "{holder_name}：\n被命名为“{achievement}”。\n特发此证，以资鼓励。"},
}
#: What a certificate states for an award, a skill level and taking part: the official Chinese terms, part of the
#: signed text. Stored here, never taken from the interface's translations: what is signed must not depend on whether
#: the catalogues were compiled (without them the demo once signed "荣获Second prize。" for ever) nor on the language
#: of whoever issues.
AWARD_WORDS: dict[str, str] = {
    "first_prize": "一等奖", "second_prize": "二等奖", "third_prize": "三等奖",
    "gold": "金牌", "silver": "银牌", "bronze": "铜牌", "medallion_for_excellence": "优胜奖",
}
SKILL_LEVEL_WORDS: dict[int, str] = {5: "五级/初级工", 4: "四级/中级工", 3: "三级/高级工", 2: "二级/技师", 1: "一级/高级技师"}
PARTICIPATION_WORDS = "参赛"


def award_words(codes: list[str]) -> str:
    """The achievement of an award certificate: its awards' words, joined with 、 (an unknown code as it is)."""
    return "、".join(AWARD_WORDS.get(code, code) for code in codes)


DEFAULT_ISSUER = "匠心职工技能竞赛组委会"
DEFAULT_COLOR = "#b22222"
DEFAULT_BORDER = "double"


def default_border(kind: str) -> str:
    return "ornate" if kind == "award" else DEFAULT_BORDER


def default_look(kind: str) -> CertificateLook:
    d = DEFAULTS.get(kind) or DEFAULTS["award"]
    return CertificateLook(title=d["title"], body=d["body"], issuer_name=DEFAULT_ISSUER, signatories=(),
                           seal_png=None, primary_color=DEFAULT_COLOR, border_style=default_border(kind))


def look_of(version: CertificateTemplateVersion | None, kind: str) -> CertificateLook:
    """The template version's look; the kind's built-in default when the certificate has no template."""
    if version is None:
        return default_look(kind)
    return CertificateLook(
        title=version.title, body=version.body, issuer_name=version.issuer_name,
        signatories=tuple(version.signatories or ()), seal_png=version.seal_png,
        primary_color=version.primary_color, border_style=version.border_style,
    )
