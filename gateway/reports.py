"""The quarterly report to the region (001: numbers, distribution, main characteristics), as
CSV and XLSX. The figures come from the registry replaying its log as recorded by
``known_at``; the files are written deterministically (fixed order, fixed timestamps), so
the same quarter and ``known_at`` always give byte-identical files."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime, timedelta

from openpyxl import Workbook

from kernel.errors import ValidationError

METRIC_LABELS = {
    "left_behind": "留守老年人", "key_target": "重点对象", "key_target_hard_up": "经济困难",
    "key_target_advanced_age": "高龄", "key_target_disabled": "失能", "key_target_living_alone": "独居",
    "female": "女", "male": "男", "age_60-69": "60-69岁", "age_70-79": "70-79岁", "age_80+": "80岁以上",
    "self_care_full": "完全自理", "semi_disabled": "半失能", "fully_disabled": "全失能", "lives_alone": "独居老人",
    "hospitalised": "住院中",
}


def quarter_bounds(label: str) -> tuple[date, date]:
    try:
        year, quarter = label.upper().split("-Q")
        year, quarter = int(year), int(quarter)
        if not 1 <= quarter <= 4:
            raise ValueError
        start = date(year, 3 * quarter - 2, 1)        # year 0 (or the day after 9999-Q4): ValueError too
        end = (date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)) - timedelta(days=1)
    except ValueError:
        raise ValidationError({"quarter": [f"must look like 2026-Q3, got {label!r}"]}) from None
    return start, end


def _table(figures: dict, divisions) -> tuple[list[str], list[list]]:
    metrics = figures["metrics"]
    header = ["division_code", "name", *[f"{m} {METRIC_LABELS.get(m, '')}".strip() for m in metrics]]
    rows, totals = [], [0] * len(metrics)
    for row in figures["rows"]:
        place = divisions.get(row["division_code"])
        values = [row[m] for m in metrics]
        totals = [t + v for t, v in zip(totals, values)]
        rows.append([row["division_code"], place.name if place else "", *values])
    rows.append(["total", "合计", *totals])
    return header, rows


def report_csv(figures: dict, divisions, quarter: str, known_at: datetime) -> bytes:
    header, rows = _table(figures, divisions)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["# quarterly report of left-behind elders", figures["division_code"], quarter,
                     f"as recorded by {known_at.isoformat()}"])
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def report_xlsx(figures: dict, divisions, quarter: str, known_at: datetime) -> bytes:
    header, rows = _table(figures, divisions)
    book = Workbook()
    sheet = book.active
    sheet.title = quarter
    sheet.append([f"农村留守老年人季度报告 {figures['division_code']} {quarter}", f"as recorded by {known_at.isoformat()}"])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    moment = known_at.replace(tzinfo=None, microsecond=0)
    book.properties.created = book.properties.modified = moment
    book.properties.creator = "eldercare"
    raw = io.BytesIO()
    book.save(raw)
    return _normalised_zip(raw.getvalue(), moment)


def _normalised_zip(data: bytes, moment: datetime) -> bytes:
    """openpyxl stamps each zip entry, and the document's 'modified' property, with the time
    of saving; rewrite both with fixed values."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(name)
            if name == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                                 rb"\g<1>" + moment.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>", content)
            target.writestr(info, content)
    return out.getvalue()
