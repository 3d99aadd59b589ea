"""Every date and integer a command or query carries is bounded where the database and the
clock can hold it, so an absurd value is a 400 naming the field, never a 502 from an overflow
(schemathesis found: offset 2**64, capacity 2**64, effective date 0001-01-01, month 0000-01)."""
import importlib
import inspect

import pytest
from marshmallow import Schema, fields, validate

from contracts.fields import LARGEST_STORED_INTEGER, AcceptedDate, PageOffset
from kernel.clock import EARLIEST_ACCEPTED_DATE, LATEST_ACCEPTED_DATE, start_of_local_day
from kernel.errors import ValidationError
from kernel.validation import load_or_refuse
from services.facilities.schemas import COMMAND_SCHEMAS as FACILITY_COMMAND_SCHEMAS
from contracts.month import Month
from contracts.subsidies_rpc import RunKeySchema

SERVICES = ("facilities", "notifications", "registry", "subsidies", "visits")


def _input_fields():
    """(service, schema, field name, field) of every contract schema a service loads requests
    with; views (``…View``) only dump what the service computed."""
    for service in SERVICES:
        module = importlib.import_module(f"contracts.{service}_rpc")
        for name, schema in vars(module).items():
            if inspect.isclass(schema) and issubclass(schema, Schema) and schema.__module__ == module.__name__ \
                    and not name.endswith("View"):
                for field_name, field in schema._declared_fields.items():
                    yield service, name, field_name, field


def test_the_sweep_sees_the_request_schemas():
    seen = {(service, schema) for service, schema, _, _ in _input_fields()}
    assert ("visits", "RecordVisitSchema") in seen and ("registry", "SearchSchema") in seen
    assert ("registry", "RegisterElderRequest") in seen and ("facilities", "AdmitElderRequest") in seen
    assert len(seen) > 40


def test_no_request_date_is_unbounded():
    plain = [f"{s}.{schema}.{name}" for s, schema, name, field in _input_fields() if type(field) is fields.Date]
    assert plain == []


def test_no_request_integer_is_unbounded():
    def largest(field):
        return next((v.max for v in field.validators if isinstance(v, validate.Range) and v.max is not None), None)
    unbounded = [f"{s}.{schema}.{name}" for s, schema, name, field in _input_fields()
                 if isinstance(field, fields.Integer) and (largest(field) is None
                                                           or largest(field) > LARGEST_STORED_INTEGER)]
    assert unbounded == []


class _Query(Schema):
    on = AcceptedDate(required=True)
    offset = PageOffset()


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "2200-01-01", "9999-12-31"])
def test_a_date_outside_the_accepted_span_is_refused_by_name(day):
    with pytest.raises(ValidationError) as refused:
        load_or_refuse(_Query(), {"on": day})
    assert "1900-01-01 to 2199-12-31" in refused.value.errors["on"][0]


def test_the_accepted_span_converts_to_utc_at_both_ends():
    for day in (EARLIEST_ACCEPTED_DATE, LATEST_ACCEPTED_DATE):
        assert load_or_refuse(_Query(), {"on": day.isoformat()})["on"] == day
        assert start_of_local_day(day).tzinfo is not None


def test_an_offset_beyond_the_database_integer_is_refused_by_name():
    assert load_or_refuse(_Query(), {"on": "2026-11-23"})["offset"] == 0
    assert load_or_refuse(_Query(), {"on": "2026-11-23", "offset": LARGEST_STORED_INTEGER})["offset"] \
        == LARGEST_STORED_INTEGER
    for offset in (LARGEST_STORED_INTEGER + 1, 2**64, -1):
        with pytest.raises(ValidationError) as refused:
            load_or_refuse(_Query(), {"on": "2026-11-23", "offset": offset})
        assert list(refused.value.errors) == ["offset"]


def test_a_facility_of_two_to_the_64_beds_is_refused_by_name():
    payload = {"facility_id": "f-1", "effective_date": "2026-11-01", "name": "幸福院", "division_code": "410928101201",
               "kind": "happiness_home", "operating_model": "public_built_public_run", "operator": "东关村委会", "capacity": 2**64}
    with pytest.raises(ValidationError) as refused:
        load_or_refuse(FACILITY_COMMAND_SCHEMAS["open_facility"], payload)
    assert list(refused.value.errors) == ["capacity"]


@pytest.mark.parametrize("month", ["0000-01", "1899-12", "2200-01", "٢٠٢٦-01"])
def test_a_month_outside_the_span_or_in_other_digits_is_refused_by_name(month):
    with pytest.raises(ValidationError) as refused:
        load_or_refuse(RunKeySchema(), {"jurisdiction": "410928", "month": month})
    assert list(refused.value.errors) == ["month"]


def test_the_last_accepted_month_has_a_first_day():
    assert Month.parse("2199-12").first_day.isoformat() == "2199-12-01"
    assert Month.parse("1900-01").first_day.isoformat() == "1900-01-01"
