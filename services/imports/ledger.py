"""A county's elder ledger (台账) as a file: its columns, reading XLSX and CSV, mapping the
file's own headers onto the columns, and turning each row into a ``register_elder`` payload.

Only the *form* of a cell is checked here (is it a date, 男 or 女, a known self-care level,
a village of this jurisdiction); every rule about the elder is the registry's, asked in the
dry run (``check_registrations``). Problems are keyed by the column's Chinese header, as the
person sees it in the file.
"""
from __future__ import annotations

import csv
import io
import re
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from kernel.divisions import DivisionTable, significant_prefix
from kernel.errors import ValidationError
from kernel.likeness import normalised_id

# Row identity is the person: the same resident ID gives the same elder id in every file.
ELDER_ID_NAMESPACE = uuid.UUID("5d0f3c1e-8a57-4c2b-9e0d-2f6b1a7c4e93")
MAX_SUPPORTERS = 3
MAX_ROWS = 200_000
XLSX_MAGIC, XLS_MAGIC = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"
YIELD_EVERY = 500


def pause() -> None:
    """Let other green threads run (under eventlet ``time.sleep`` yields): reading a large
    workbook is a minute of CPU, and a process that never yields misses its AMQP heartbeats
    and the broker drops its connections."""
    time.sleep(0)


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    hint: str = ""


def _supporter_columns(n: int) -> list[Column]:
    return [Column(f"supporter{n}_name", f"赡养人{n}姓名"),
            Column(f"supporter{n}_relationship", f"赡养人{n}关系", hint="儿子、女儿、儿媳、女婿、孙子女、其他"),
            Column(f"supporter{n}_phone", f"赡养人{n}电话"),
            Column(f"supporter{n}_whereabouts", f"赡养人{n}去向", (f"赡养人{n}外出地点",), hint="外出务工地点"),
            Column(f"supporter{n}_left_on", f"赡养人{n}外出日期", hint="如 2025-02-20")]


COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", ("老人姓名",), True),
    Column("sex", "性别", (), True, "男 或 女"),
    Column("resident_id", "身份证号", ("公民身份号码", "身份证号码", "身份证"), True, "18位"),
    Column("birth_date", "出生日期", ("出生年月日",), True, "如 1946-03-02"),
    Column("township", "乡镇", ("乡镇（街道）", "所属乡镇", "乡镇街道"), False, "村名在本县重名时必填"),
    Column("village", "村", ("村（社区）", "所属村", "行政村", "村名", "村居"), True, "村名或12位区划代码"),
    Column("household_id", "户编号", ("户号",), True),
    Column("address", "住址", ("家庭住址", "现住址"), False, "空则用乡镇和村名"),
    Column("phone", "老人电话", ("本人电话", "联系电话"), False),
    *[column for n in range(1, MAX_SUPPORTERS + 1) for column in _supporter_columns(n)],
    Column("carer_name", "委托照料人", ("委托照料人姓名",)),
    Column("carer_relationship", "委托照料人关系"),
    Column("carer_phone", "委托照料人电话"),
    Column("income_sources", "收入来源", (), False, "养老金、务农、子女供给、低保金、特困供养金、工资、其他，用顿号分隔"),
    Column("support_status", "救助类别", ("困难类别",), False, "低保、特困、建档立卡，可多项，无则留空"),
    Column("health", "健康状况", (), False, "良好、慢性病、重病"),
    Column("self_care_level", "自理能力", ("自理状况",), False, "全自理、半失能、全失能"),
    Column("lives_alone", "是否独居", ("独居",), False, "是 或 否"),
    Column("registered_on", "登记日期", (), False, "空则为导入当日"),
)
BY_KEY = {column.key: column for column in COLUMNS}
REQUIRED = tuple(column for column in COLUMNS if column.required)

SEXES = {"男": "male", "女": "female", "male": "male", "female": "female"}
SELF_CARE = {"全自理": "full_self_care", "自理": "full_self_care", "能自理": "full_self_care",
             "半失能": "semi_disabled", "半自理": "semi_disabled",
             "全失能": "fully_disabled", "失能": "fully_disabled", "全护理": "fully_disabled",
             "不能自理": "fully_disabled", "完全失能": "fully_disabled"}
SELF_CARE.update({value: value for value in ("full_self_care", "semi_disabled", "fully_disabled")})
SUPPORT = {"低保": "dibao", "特困": "tekun", "特困供养": "tekun", "建档立卡": "poverty_registered",
           "脱贫户": "poverty_registered"}
INCOME = {"养老金": "pension", "务农": "farming", "种地": "farming", "子女供给": "children", "子女赡养": "children",
          "低保金": "dibao", "低保": "dibao", "特困供养金": "tekun", "工资": "wages", "务工": "wages", "其他": "other"}
HEALTH = {"良好": "good", "健康": "good", "慢性病": "chronic_illness", "重病": "serious_illness",
          "大病": "serious_illness"}
RELATIONSHIPS = {"儿子": "son", "女儿": "daughter", "儿媳": "daughter_in_law", "女婿": "son_in_law",
                 "孙子": "grandchild", "孙女": "grandchild", "孙子女": "grandchild", "其他": "other",
                 "亲属": "relative", "邻居": "neighbour", "村干部": "village_cadre"}
YES, NO = {"是", "y", "yes", "true", "1", "独居"}, {"否", "n", "no", "false", "0", "", "不是"}
LIST_SEPARATORS = re.compile(r"[、,，;；/\s]+")
DATE_PATTERNS = (re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"), re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
                 re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"))
# Labels of the values this module produces, for the template and for the report.
LABELS = {v: k for k, v in {**SEXES, **SELF_CARE}.items() if not k.isascii()}


@dataclass(frozen=True)
class Sheet:
    headers: list[str]
    rows: list[tuple[int, list]]          # (row number as the person sees it, cells)


def elder_id_for(resident_id: str) -> str:
    return str(uuid.uuid5(ELDER_ID_NAMESPACE, normalised_id(resident_id)))


def read_sheet(content: bytes, filename: str, headers_only: bool = False) -> Sheet:
    """The first worksheet of an XLSX file, or a CSV file (UTF-8, with or without BOM, or
    GB18030). ``headers_only``: stop after the header row (a quick check at upload; reading
    every row of a 30,000-row workbook takes tens of seconds)."""
    if content.startswith(XLS_MAGIC):
        raise ValidationError({"file": [f"{filename} 是旧版 Excel（.xls）文件，请另存为 .xlsx 或 .csv 后再上传 "
                                        "(old .xls: save as .xlsx or .csv)"]})
    table = _xlsx_rows(content, filename) if content.startswith(XLSX_MAGIC) else _csv_rows(content, filename)
    numbered = enumerate(table, start=1)
    headers = None
    for _number, cells in numbered:
        if any(_text(c) for c in cells):
            headers = [_normalised_header(c) for c in cells]
            break
    if headers is None:
        raise ValidationError({"file": [f"{filename} 没有表头和数据行 (the file is empty)"]})
    if headers_only:
        table.close()
        return Sheet(headers, [])
    rows = []
    for number, cells in numbered:
        if any(_text(c) for c in cells):
            rows.append((number, list(cells)))
        if number % YIELD_EVERY == 0:
            pause()
    if len(rows) > MAX_ROWS:
        raise ValidationError({"file": [f"{filename} 有 {len(rows)} 行，一次最多导入 {MAX_ROWS} 行"]})
    return Sheet(headers, rows)


def _xlsx_rows(content: bytes, filename: str):
    from openpyxl import load_workbook
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = book.worksheets[0]
    except Exception as error:            # openpyxl raises many kinds for a broken zip or workbook
        raise ValidationError({"file": [f"{filename} 不是可读的 XLSX 文件 (not a readable XLSX file: "
                                        f"{type(error).__name__})"]}) from None

    def rows():
        try:
            yield from (list(row) for row in sheet.iter_rows(values_only=True))
        finally:
            book.close()
    return rows()


def _csv_rows(content: bytes, filename: str):
    text = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None or "\x00" in text:
        raise ValidationError({"file": [f"{filename} 不是 XLSX 或 CSV 文件 (not an XLSX or CSV file)"]})

    def rows():
        try:
            yield from csv.reader(io.StringIO(text))
        except csv.Error as error:
            raise ValidationError({"file": [f"{filename} 不是可读的 CSV 文件 ({error})"]}) from None
    return rows()


def _normalised_header(cell) -> str:
    return re.sub(r"\s+", "", _text(cell)).replace("(", "（").replace(")", "）")


def _text(cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def column_positions(headers: list[str], mapping: dict[str, str] | None) -> dict[str, int]:
    """Where each column is in the file: ``mapping`` ({column key or header: the file's
    header}) first, then the standard headers and their aliases. A required column that is
    not found refuses the file, naming each missing column and the headers the file has."""
    mapping = mapping or {}
    positions, errors = {}, {}
    for name, file_header in mapping.items():
        column = BY_KEY.get(name) or next((c for c in COLUMNS if c.header == name), None)
        if column is None:
            errors[f"mapping.{name}"] = [f"没有这一列：{name} (unknown column)"]
        elif _normalised_header(file_header) not in headers:
            errors[f"mapping.{name}"] = [f"文件中没有表头“{file_header}” (the file has no such header)"]
        else:
            positions[column.key] = headers.index(_normalised_header(file_header))
    for column in COLUMNS:
        if column.key in positions:
            continue
        for candidate in (column.header, *column.aliases):
            if _normalised_header(candidate) in headers:
                positions[column.key] = headers.index(_normalised_header(candidate))
                break
    missing = [column for column in REQUIRED if column.key not in positions]
    if missing:
        found = "、".join(h for h in headers if h) or "（无）"
        for column in missing:
            errors[f"columns.{column.header}"] = [
                f"缺少必填列“{column.header}”（{column.key}）；文件的表头有：{found}。请改表头，或用列对应（mapping）"
                f"指明哪一列是“{column.header}” (missing required column {column.key})"]
    if errors:
        raise ValidationError(errors)
    return positions


class VillageFinder:
    """Village cells (a name, or a 12-digit code) to division codes inside the jurisdiction."""

    def __init__(self, divisions: DivisionTable, jurisdiction: str):
        self.divisions, self.prefix = divisions, significant_prefix(jurisdiction)
        self.by_name: dict[str, list[str]] = {}
        for code in divisions.villages_within(self.prefix):
            self.by_name.setdefault(divisions.get(code).name, []).append(code)

    def find(self, village: str, township: str) -> tuple[str | None, str | None]:
        """(division code, problem)."""
        if re.fullmatch(r"\d{12}", village):
            if not village.startswith(self.prefix):
                return None, f"区划代码 {village} 不在本次导入的辖区（{self.prefix}）内"
            return village, None        # the registry checks it is a village in the table
        codes = self.by_name.get(village) or self.by_name.get(village + "村") or []
        if township:
            codes = [c for c in codes if self._township_name(c) in (township, township + "镇", township + "乡")]
        if not codes:
            where = f"{township}" if township else "本辖区"
            return None, f"在{where}找不到村“{village}” (unknown village)"
        if len(codes) > 1:
            return None, f"多个乡镇都有“{village}”，请填写“乡镇”列 (ambiguous village: give the township)"
        return codes[0], None

    def _township_name(self, village_code: str) -> str:
        township = self.divisions.get(village_code[:9] + "000")
        return township.name if township else ""

    def place_name(self, village_code: str) -> str:
        village = self.divisions.get(village_code)
        return self._township_name(village_code) + (village.name if village else village_code)


def row_payload(cells: list, positions: dict[str, int], villages: VillageFinder,
                today: date) -> tuple[dict | None, dict[str, list[str]]]:
    """The ``register_elder`` payload of one row, or the problems of its cells' form."""
    value = {key: (_cell(cells, index)) for key, index in positions.items()}
    text = {key: _text(cell) for key, cell in value.items()}
    problems: dict[str, list[str]] = {}

    def refuse(key, message):
        problems.setdefault(BY_KEY[key].header, []).append(message)

    def one_of(key, table, default=None):
        if not text.get(key):
            return default
        found = table.get(text[key]) or table.get(text[key].lower())
        if found is None:
            refuse(key, f"“{text[key]}”不是可选的值（可选：{'、'.join(k for k in table if not k.isascii())}）")
        return found

    def day(key):
        if not text.get(key):
            return None
        parsed = _date(value[key])
        if parsed is None:
            refuse(key, f"“{text[key]}”不是日期（如 1946-03-02）")
        return parsed

    for column in REQUIRED:
        if not text.get(column.key):
            refuse(column.key, "必填，不能为空")
    sex = one_of("sex", SEXES)
    birth_date, registered_on = day("birth_date"), day("registered_on")
    division_code = None
    if text.get("village"):
        division_code, problem = villages.find(text["village"], text.get("township", ""))
        if problem:
            refuse("village", problem)
    support = {"dibao": False, "tekun": False, "poverty_registered": False}
    for item in _items(text.get("support_status", "")):
        if item in ("无", "否"):
            continue
        if item not in SUPPORT:
            refuse("support_status", f"“{item}”不是救助类别（可选：低保、特困、建档立卡）")
        else:
            support[SUPPORT[item]] = True
    self_care = one_of("self_care_level", SELF_CARE, "full_self_care")
    lives_alone = text.get("lives_alone", "").lower()
    if lives_alone not in YES | NO:
        refuse("lives_alone", f"“{text['lives_alone']}”应为“是”或“否”")
    supporters = []
    for n in range(1, MAX_SUPPORTERS + 1):
        name = text.get(f"supporter{n}_name", "")
        if not name:
            continue
        relationship = text.get(f"supporter{n}_relationship", "") or "其他"
        supporters.append({"supporter_id": f"s{n}", "name": name,
                           "relationship": RELATIONSHIPS.get(relationship, relationship),
                           "phone": text.get(f"supporter{n}_phone") or None,
                           "whereabouts": text.get(f"supporter{n}_whereabouts") or None,
                           "left_on": _iso(day(f"supporter{n}_left_on"))})
    carer = None
    if text.get("carer_name"):
        carer = {"name": text["carer_name"],
                 "relationship": RELATIONSHIPS.get(text.get("carer_relationship") or "其他",
                                                   text.get("carer_relationship") or "其他"),
                 "phone": text.get("carer_phone", "")}
    if problems:
        return None, problems
    resident_id = normalised_id(text["resident_id"])
    payload = {
        "elder_id": elder_id_for(resident_id), "effective_date": (registered_on or today).isoformat(),
        "resident_id": resident_id, "name": text["name"], "sex": sex, "birth_date": birth_date.isoformat(),
        "division_code": division_code, "household_id": text["household_id"],
        "address": text.get("address") or villages.place_name(division_code),
        "phone": text.get("phone") or None, "supporters": supporters, "carer": carer,
        "income_sources": [INCOME.get(item, item) for item in _items(text.get("income_sources", ""))],
        "support_status": support, "health": HEALTH.get(text.get("health", ""), text.get("health") or None),
        "self_care_level": self_care, "lives_alone": lives_alone in YES,
    }
    return payload, {}


def _cell(cells, index):
    return cells[index] if index < len(cells) else None


def _items(text: str) -> list[str]:
    return [item for item in LIST_SEPARATORS.split(text or "") if item]


def _date(cell) -> date | None:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    text = _text(cell)
    for pattern in DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            try:
                return date(*map(int, match.groups()))
            except ValueError:
                return None
    return None


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def template_xlsx() -> bytes:
    """The ledger template: the headers, one example row, and a sheet saying how to fill it."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    book = Workbook()
    sheet = book.active
    sheet.title = "台账"
    sheet.append([column.header for column in COLUMNS])
    example = {"name": "王秀英", "sex": "女", "resident_id": "410928194103090022", "birth_date": "1941-03-09",
               "township": "城关镇", "village": "前夏园村", "household_id": "0001", "phone": "",
               "supporter1_name": "李强", "supporter1_relationship": "儿子", "supporter1_phone": "13800000001",
               "supporter1_whereabouts": "广东省东莞市", "supporter1_left_on": "2025-02-20",
               "carer_name": "李桂兰", "carer_relationship": "邻居", "carer_phone": "13900000002",
               "income_sources": "养老金、子女供给", "support_status": "低保", "health": "慢性病",
               "self_care_level": "全自理", "lives_alone": "否", "registered_on": ""}
    sheet.append([example.get(column.key, "") for column in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    notes = book.create_sheet("填写说明")
    notes.append(["列", "必填", "说明", "column"])
    for column in COLUMNS:
        notes.append([column.header, "是" if column.required else "", column.hint, column.key])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
