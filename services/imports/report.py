"""The dry run's report: one line per refused row (row number, column, field, reason in
Chinese with the registry's English words beside it), then the probable duplicates and the
rows that are people already in the ledger."""
from __future__ import annotations

import io
import re

from kernel.likeness import REASON_LABELS
from services.imports.ledger import BY_KEY, COLUMNS

HEADERS = {column.key: column.header for column in COLUMNS}
SUPPORTER_FIELDS = {"name": "姓名", "relationship": "关系", "phone": "电话", "whereabouts": "去向",
                    "left_on": "外出日期", "supporter_id": "编号"}

# The registry words its refusals in English; a person reads them in Chinese.
_REASONS = [
    (r"check character does not match", "身份证号校验位不符（GB 11643）"),
    (r"must be 18 characters", "身份证号应为18位：17位数字加一位校验码（数字或X）"),
    (r"characters 1-6 are not a known address code", "身份证号前6位不是已知的地址码，或第7-14位不是有效的出生日期"),
    (r"encodes birth date (\S+), the record says (\S+)", r"身份证号中的出生日期是 \1，表中填的是 \2"),
    (r"encodes sex (\w+), the record says (\w+)", r"身份证号中的性别与表中填的性别不符"),
    (r"'(\d+)' is not in the division table", r"区划代码 \1 不在区划表中（未知的村）"),
    (r"is not a village", "不是村一级的区划"),
    (r"effective date (\S+) is in the future \(today is (\S+)\)", r"登记日期 \1 晚于今天（\2）"),
    (r"(left_on|returned_on) (\S+) is after the registration date", r"外出日期 \2 晚于登记日期（日期在将来）"),
    (r"is after the registration date (\S+)", r"晚于登记日期 \1（日期在将来）"),
    (r"must be a date from (\S+) to (\S+)", r"应为 \1 至 \2 之间的日期"),
    (r"Missing data for required field", "必填，不能为空"),
    (r"must not be blank", "不能为空"),
    (r"is not a phone number", "不是有效的电话号码"),
    (r"needs a name and a phone number", "委托照料人须有姓名和电话"),
    (r"already registered", "已登记"),
    (r"Not a valid date", "不是有效日期"),
]


def reason_in_chinese(message: str) -> str:
    for pattern, chinese in _REASONS:
        match = re.search(pattern, message)
        if match:
            return match.expand(chinese)
    return f"不符合登记规则：{message}"


def column_of(field: str) -> str:
    """The Chinese header of a registry field (``supporters.0.phone`` → 赡养人1电话)."""
    parts = field.split(".")
    if parts[0] == "division_code":
        return HEADERS["village"]
    if parts[0] == "effective_date":
        return HEADERS["registered_on"]
    if parts[0] == "supporters":
        number = int(parts[1]) + 1 if len(parts) > 1 and parts[1].isdigit() else None
        return f"赡养人{number or ''}{SUPPORTER_FIELDS.get(parts[-1], '')}" if number else "赡养人"
    if parts[0] == "carer":
        return "委托照料人" + {"phone": "电话", "relationship": "关系"}.get(parts[-1], "")
    if parts[0] in BY_KEY:
        return BY_KEY[parts[0]].header
    return field


def refusal_lines(problems: dict) -> list[tuple[str, str, str, str]]:
    """(column, field, reason in Chinese, the original words) for each problem of a row.
    ``problems`` is either the registry's {field: [messages]} or the ledger's {header: [...]}."""
    lines = []
    for field, messages in problems.items():
        column = field if not field.isascii() else column_of(field)
        for message in messages:
            chinese = message if not message.isascii() else reason_in_chinese(message)
            lines.append((column, field, chinese, message if message.isascii() else ""))
    return lines


def report_xlsx(summary: dict, refused: list[dict], matches: list[dict], existing: list[dict]) -> bytes:
    """``refused``: rows ``{row, problems}``; ``matches``: ``{row_no, other, reason, decision}``;
    ``existing``: ``{row, elder_id, same_as_row}``."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    book = Workbook()
    sheet = book.active
    sheet.title = "不合规的行"
    sheet.append(["行号", "列", "字段", "原因", "reason"])
    for row in refused:
        lines = refusal_lines(row["problems"])
        sheet.append([row["row"], "；".join(dict.fromkeys(l[0] for l in lines)),
                      "；".join(dict.fromkeys(l[1] for l in lines)), "；".join(l[2] for l in lines),
                      "; ".join(l[3] for l in lines if l[3])])
    duplicates = book.create_sheet("疑似重复")
    duplicates.append(["行号", "疑似与之重复", "依据", "处理", "reason"])
    for match in matches:
        chinese, english = REASON_LABELS[match["reason"]]
        other = match["other"]
        other_text = f"第{other[4:]}行" if other.startswith("row:") else f"已登记老人 {other[6:]}"
        duplicates.append([match["row_no"], other_text, chinese, {"merge": "合并", "keep_both": "保留两条"}.get(
            match.get("decision"), "待定"), english])
    same = book.create_sheet("已在台账")
    same.append(["行号", "已登记老人", "同一人（身份证号相同）的行"])
    for row in existing:
        same.append([row["row"], row.get("elder_id") or "", row.get("same_as_row") or ""])
    totals = book.create_sheet("汇总")
    for label, key in (("总行数", "rows"), ("可登记", "accepted"), ("不合规", "refused"), ("已在台账", "existing"),
                       ("表内同一人", "same_person"), ("疑似重复", "probable_duplicates")):
        totals.append([label, summary.get(key, 0)])
    for ws in (sheet, duplicates, same, totals):
        for cell in ws[1]:
            cell.font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
