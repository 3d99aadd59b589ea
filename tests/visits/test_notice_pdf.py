"""The written notice's PDF carries its own Chinese font: the text extracts as Chinese, the
font is embedded (a subset), and rendering the same notice again gives the same bytes, so
the SHA-256 in the notice_issued event still checks."""
import io
from datetime import date

from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics

from kernel.divisions import load_division_rows
from services.visits.adapters.notice import FONT, NoticeContent, render_notice

CONTENT = NoticeContent("notice-1", date(2026, 11, 23), "王秀英", "濮阳县城关镇前夏园村", "李明", "13800000001",
                        "village_cadre", "前夏园村村民委员会", (("elder", "王秀英"), ("supporter", "王建国")))


def fonts_of(reader):
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            yield font.get_object()


def test_the_pdf_text_is_chinese_and_its_font_is_embedded():
    reader = PdfReader(io.BytesIO(render_notice(CONTENT).pdf))
    text = "".join(page.extract_text() for page in reader.pages).replace("\n", "")
    for expected in ("巡访关爱责任人告知书", "王秀英老人及其赡养人", "李明（村干部", "濮阳县城关镇前夏园村", "13800000001"):
        assert expected in text
    [chinese] = [f for f in fonts_of(reader) if "WenQuanYi" in f["/BaseFont"]]
    assert chinese["/BaseFont"].split("+")[0].isupper()          # a subset tag, e.g. AAAAAA+
    descriptor = chinese["/FontDescriptor"]
    assert "/FontFile2" in descriptor                             # the TrueType program itself
    assert len(descriptor["/FontFile2"].get_object().get_data()) > 1000


def test_rendering_again_gives_the_same_bytes():
    first, second = render_notice(CONTENT), render_notice(CONTENT)
    assert first.pdf == second.pdf and first.sha256 == second.sha256


def test_the_font_draws_every_division_name_and_the_notice_text():
    face = pdfmetrics.getFont(FONT).face
    names = "".join(d.name for d in load_division_rows())
    text = "".join(render_notice(CONTENT).html.split())
    missing = {c for c in names + text if ord(c) > 0x7F and ord(c) not in face.charToGlyph}
    assert not missing
