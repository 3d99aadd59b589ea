"""Reading a ledger file and turning its rows into registrations (no broker, no registry):
the form of each cell, the columns, the mapping step, and files that are not ledgers."""
import pytest

from kernel.divisions import configured_division_table
from kernel.errors import ValidationError
from kernel.likeness import LikenessIndex, Person, one_character_apart
from services.imports.ledger import (COLUMNS, VillageFinder, column_positions, elder_id_for,
                                     read_sheet, row_payload, template_xlsx)
from services.imports.report import refusal_lines, reason_in_chinese
from tests.imports.ledger_files import HEADERS, TODAY, demo_rows, to_csv, to_xlsx, with_id_character

DIVISIONS = configured_division_table({})
COUNTY = "410928000000"


def payloads(content, filename="ledger.xlsx", mapping=None):
    sheet = read_sheet(content, filename)
    positions = column_positions(sheet.headers, mapping)
    finder = VillageFinder(DIVISIONS, COUNTY)
    return [(number, *row_payload(cells, positions, finder, TODAY)) for number, cells in sheet.rows]


@pytest.mark.parametrize("write", [to_xlsx, to_csv])
def test_demo_rows_read_back_as_the_registrations_they_came_from(write):
    rows = demo_rows(40)
    read = payloads(write(rows), "ledger.xlsx" if write is to_xlsx else "ledger.csv")
    assert [number for number, _, _ in read] == list(range(2, 42))
    for (number, payload, problems), row in zip(read, rows):
        assert problems == {}
        assert payload["resident_id"] == row["身份证号"] and payload["name"] == row["姓名"]
        assert payload["elder_id"] == elder_id_for(row["身份证号"])
        assert len(payload["division_code"]) == 12 and payload["division_code"].startswith("410928")
        assert payload["self_care_level"] in ("full_self_care", "semi_disabled", "fully_disabled")
        assert len(payload["supporters"]) == sum(1 for n in (1, 2, 3) if row.get(f"赡养人{n}姓名"))


def test_cells_of_the_wrong_form_are_named_by_their_column():
    row = demo_rows(1)[0]
    row.update({"性别": "未知", "出生日期": "一九四五年", "自理能力": "还行", "是否独居": "也许", "村": "不存在村",
                "救助类别": "五保"})
    [(number, payload, problems)] = payloads(to_csv([row]), "l.csv")
    assert payload is None and number == 2
    assert set(problems) == {"性别", "出生日期", "自理能力", "是否独居", "村", "救助类别"}
    assert "不存在村" in problems["村"][0]


def test_a_missing_required_column_refuses_the_file_naming_it_and_a_mapping_fixes_it():
    headers = [h if h != "身份证号" else "证件号码" for h in HEADERS]
    content = to_csv([{("证件号码" if k == "身份证号" else k): v for k, v in demo_rows(2)[0].items()}], headers)
    with pytest.raises(ValidationError) as refused:
        payloads(content, "l.csv")
    assert list(refused.value.errors) == ["columns.身份证号"]
    assert "证件号码" in refused.value.errors["columns.身份证号"][0]       # says which headers the file has
    [(_, payload, problems)] = payloads(content, "l.csv", mapping={"resident_id": "证件号码"})
    assert problems == {} and len(payload["resident_id"]) == 18
    with pytest.raises(ValidationError) as bad_mapping:
        payloads(content, "l.csv", mapping={"resident_id": "没有这列"})
    assert "mapping.resident_id" in bad_mapping.value.errors


@pytest.mark.parametrize("content, words", [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
    (b"PK\x03\x04 this is no workbook", "XLSX"),
    (bytes(range(256)) * 4, "XLSX 或 CSV"),
    ("   \n\n".encode(), "没有表头"),
])
def test_a_file_that_is_not_a_ledger_is_refused_with_the_reason(content, words):
    with pytest.raises(ValidationError) as refused:
        read_sheet(content, "upload.bin")
    assert words in refused.value.errors["file"][0]


def test_the_template_has_every_column_and_reads_back_without_problems():
    sheet = read_sheet(template_xlsx(), "template.xlsx")
    assert sheet.headers == [c.header for c in COLUMNS]
    positions = column_positions(sheet.headers, None)
    [(number, cells)] = sheet.rows
    payload, problems = row_payload(cells, positions, VillageFinder(DIVISIONS, COUNTY), TODAY)
    assert problems == {} and payload["division_code"].startswith("410928")


def test_a_village_outside_the_jurisdiction_is_refused():
    finder = VillageFinder(DIVISIONS, "410928100000")         # one township
    outside = next(c for c in DIVISIONS.villages_within("410928") if not c.startswith("410928100"))
    code, problem = finder.find(outside, "")
    assert code is None and "辖区" in problem


def test_likeness_names_each_kind_of_probable_duplicate():
    base = "410928194103090022"
    recomputed = with_id_character(base, 14, "9")
    assert one_character_apart(base, recomputed) and one_character_apart(base, base[:17] + "5")
    assert not one_character_apart(base, base)
    index = LikenessIndex([Person(1, base, "王秀英", "1941-03-09", "410928100201", "h1")])
    assert index.probable(Person(2, recomputed, "李华", "1941-03-09", "410928100202", "h9"))[0][1] == \
        "resident_id_one_character_off"
    assert index.probable(Person(3, with_id_character(base, 16, "4"), "王秀英", "1941-03-09", "410928100203", "x")
                          )[0][1] == "name_birth_date_township"
    assert index.probable(Person(4, "410928195001010011", "王秀英", "1950-01-01", "410928100201", "h1"))[0][1] == \
        "household_name"
    assert index.probable(Person(5, base, "王秀英", "1941-03-09", "410928100201", "h1")) == []   # same person
    assert index.same_person(Person(5, base, "x", "", "410928100201", ""))[0].ref == 1


def test_registry_reasons_read_in_chinese_with_the_column():
    lines = refusal_lines({"resident_id": ["not a valid resident identity number: check character does not "
                                           "match (GB 11643)"], "supporters.1.phone": ["phone is not a phone number"]})
    assert lines[0][:3] == ("身份证号", "resident_id", "身份证号校验位不符（GB 11643）")
    assert lines[1][0] == "赡养人2电话" and lines[1][2] == "不是有效的电话号码"
    assert reason_in_chinese("effective date 2026-12-30 is in the future (today is 2026-11-23)") == \
        "登记日期 2026-12-30 晚于今天（2026-11-23）"
