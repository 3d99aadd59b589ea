"""The written notice of the responsible visitor (000: "name and contact details given in
writing to the elder and to the supporter"): a printable HTML page and the same text as a
PDF. The PDF is rendered reproducibly (no creation date, fixed ids), so the SHA-256 that
the notice-issued event records can be checked by rendering the event again.

The PDF embeds the subset of WenQuanYi Micro Hei (``data/fonts``, Apache-2.0) that its text
uses: the standard CID font STSong-Light it used before is not embedded, and pdfium and
poppler, lacking Adobe's font packs, drew only the digits. reportlab embeds TrueType outlines
only, which is why this font and not Noto CJK (CFF outlines).
"""
from __future__ import annotations

import hashlib
import html
import io
from dataclasses import dataclass
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from kernel.config import repository_path

FONT = "WenQuanYiMicroHei"
FONT_FILE = "data/fonts/wqy-microhei-subset.ttf"
pdfmetrics.registerFont(TTFont(FONT, str(repository_path(FONT_FILE))))

ROLE_NAMES = {"village_cadre": "村干部", "resident_cadre": "驻村干部", "civil_affairs_specialist": "民政专干",
              "social_work_organisation": "社会工作服务机构", "volunteer": "志愿者",
              "relative_or_neighbour": "亲友邻里", "grid_worker": "网格员", "third_party": "第三方服务机构"}


@dataclass(frozen=True)
class NoticeContent:
    notice_id: str
    issued_on: date
    elder_name: str
    division_name: str
    visitor_name: str
    visitor_phone: str
    visitor_role: str
    visitor_organisation: str
    recipients: tuple[tuple[str, str], ...]      # (role, name)


@dataclass(frozen=True)
class RenderedNotice:
    html: str
    pdf: bytes
    sha256: str


def _lines(content: NoticeContent) -> list[str]:
    role = ROLE_NAMES.get(content.visitor_role, content.visitor_role)
    return [
        f"{content.elder_name}老人及其赡养人：",
        f"根据农村留守老年人关爱服务工作要求，现确定 {content.visitor_name}（{role}，{content.visitor_organisation}）"
        f"为您的巡访关爱责任人，联系电话：{content.visitor_phone}。",
        "如遇生活困难、身体不适、安全隐患或合法权益受到侵害，请及时与巡访责任人联系，"
        "也可向村（居）民委员会、乡镇人民政府或县民政局反映。",
        f"送达对象：{'、'.join(f'{name}（{_recipient_role(r)}）' for r, name in content.recipients)}",
        f"村（居）：{content.division_name}",
        f"通知编号：{content.notice_id}　　日期：{content.issued_on.isoformat()}",
    ]


def _recipient_role(role: str) -> str:
    return "老年人" if role == "elder" else "赡养人"


def render_notice(content: NoticeContent) -> RenderedNotice:
    title = "农村留守老年人巡访关爱责任人告知书"
    lines = _lines(content)
    page = "\n".join([
        "<!doctype html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:serif;max-width:40em;margin:2em auto;line-height:1.8}"
        "h1{text-align:center;font-size:1.4em}@media print{body{margin:0}}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        *(f"<p>{html.escape(line)}</p>" for line in lines),
        "</body></html>"])
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, title=title, author="eldercare visits",
                                 leftMargin=25 * mm, rightMargin=25 * mm, invariant=1)
    heading = ParagraphStyle("heading", fontName=FONT, fontSize=16, leading=24, alignment=1)
    body = ParagraphStyle("body", fontName=FONT, fontSize=12, leading=22, wordWrap="CJK")
    story = [Paragraph(html.escape(title), heading), Spacer(1, 8 * mm)]
    story += [Paragraph(html.escape(line), body) for line in lines]
    document.build(story)
    pdf = buffer.getvalue()
    return RenderedNotice(page, pdf, hashlib.sha256(pdf).hexdigest())
