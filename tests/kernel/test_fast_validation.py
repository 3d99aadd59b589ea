"""The write path's compiled acceptor (kernel.fast_validation) never vouches for a payload
marshmallow would refuse, and it does vouch for the canonical payloads services append (or
it would save nothing)."""
from datetime import timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, fields, validate, validates_schema

from contracts import CATALOGUE
from contracts.fields import DivisionCode, EnumValue, ResidentId
from contracts.notifications import UtcDateTime
from kernel.envelope import format_time
from kernel.errors import EventSchemaError
from kernel.fast_validation import compile_acceptor

COMPILED = [c for c in CATALOGUE if c.acceptor is not None]
JUNK = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False), st.text(max_size=3),
                 st.just("2026-02-30"), st.just("5"), st.lists(st.integers(), max_size=2), st.just({}))


def _string(field) -> st.SearchStrategy:
    for v in field.validators:
        if isinstance(v, validate.OneOf):
            return st.sampled_from(list(v.choices))
    for v in field.validators:
        if isinstance(v, validate.Regexp):
            return st.from_regex(v.regex, fullmatch=True)
    low, high = 0, 12
    for v in field.validators:
        if isinstance(v, validate.Length):
            low = v.equal if v.equal is not None else (v.min or 0)
            high = v.equal if v.equal is not None else min(v.max or 12, low + 12)
    return st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=low, max_size=high)


def _integer(field) -> st.SearchStrategy:
    low = high = None
    for v in field.validators:
        if isinstance(v, validate.Range):
            low = None if v.min is None else v.min + (0 if v.min_inclusive else 1)
            high = None if v.max is None else v.max - (0 if v.max_inclusive else 1)
    return st.integers(min_value=low if low is not None else -10**12, max_value=high if high is not None else 10**12)


def canonical_value(field) -> st.SearchStrategy:
    """Values of the type and shape the field expects (most of them valid)."""
    kind = type(field)
    if kind is DivisionCode:
        return st.from_regex(r"[0-9]{12}", fullmatch=True)
    if kind is UtcDateTime:
        return st.datetimes(timezones=st.just(timezone.utc)).map(format_time)
    if kind is ResidentId:
        return st.sampled_from(["11010519491231002X", "110105194912310021"])
    if kind in (fields.String, EnumValue):
        return _string(field)
    if kind is fields.Integer:
        return _integer(field)
    if kind is fields.Boolean:
        return st.booleans()
    if kind is fields.Date:
        return st.dates().map(lambda d: d.isoformat())
    if kind is fields.Nested:
        inner = payloads(field.schema, junk=False)
        return st.lists(inner, max_size=3) if field.many else inner
    if kind is fields.List:
        return st.lists(canonical_value(field.inner), max_size=3)
    return st.one_of(st.none(), st.integers(), st.text(max_size=5))


def payloads(schema: Schema, junk: bool) -> st.SearchStrategy:
    parts = {}
    for name, field in schema.load_fields.items():
        value = canonical_value(field)
        if junk:
            value = st.one_of(value, value, value, JUNK)
        parts[field.data_key or name] = (value, field.required)

    @st.composite
    def build(draw):
        payload = {}
        for key, (value, required) in parts.items():
            if required or draw(st.booleans()):
                payload[key] = draw(value)
        if junk and draw(st.integers(0, 9)) == 0:
            if payload and draw(st.booleans()):
                payload.pop(draw(st.sampled_from(sorted(payload))))
            else:
                payload["not_in_the_contract"] = 1
        return payload
    return build()


def contract_and_payload(junk: bool):
    return st.sampled_from(COMPILED).flatmap(lambda c: st.tuples(st.just(c), payloads(c.schema, junk)))


def test_nearly_every_contract_compiles():
    uncompiled = sorted(c.type for c in CATALOGUE if c.acceptor is None)
    assert uncompiled == ["registry.elder_details_corrected.v1"]     # its CorrectionChanges field


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contract_and_payload(junk=True))
def test_what_the_acceptor_vouches_for_marshmallow_accepts(case):
    contract, payload = case
    if contract.certainly_valid(payload):
        assert contract.schema.validate(payload) == {}, payload


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contract_and_payload(junk=False))
def test_canonical_payloads_marshmallow_accepts_are_vouched_for(case):
    contract, payload = case
    if contract.schema.validate(payload) == {}:
        assert contract.certainly_valid(payload), payload


class Sample(Schema):
    amount_fen = fields.Integer(required=True, validate=validate.Range(min=1))
    month = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-\d{2}$"))
    note = fields.String(load_default=None)
    on = fields.Date(load_default=None)


@pytest.mark.parametrize("payload", [
    {"amount_fen": 5.0, "month": "2026-10"},          # marshmallow may accept a whole float: it decides
    {"amount_fen": "5", "month": "2026-10"},
    {"amount_fen": True, "month": "2026-10"},
    {"amount_fen": 0, "month": "2026-10"},
    {"amount_fen": 5, "month": "2026-1"},
    {"amount_fen": 5},
    {"amount_fen": 5, "month": "2026-10", "extra": 1},
    {"amount_fen": None, "month": "2026-10"},
    {"amount_fen": 5, "month": "2026-10", "on": "2026-02-30"},
    {"amount_fen": 5, "month": b"2026-10"},
    ["not", "a", "dict"],
])
def test_anything_unusual_is_left_to_marshmallow(payload):
    assert compile_acceptor(Sample())(payload) is False


def test_the_canonical_form_is_vouched_for():
    accept = compile_acceptor(Sample())
    assert accept({"amount_fen": 5, "month": "2026-10"})
    assert accept({"amount_fen": 5, "month": "2026-10", "note": None, "on": "2026-02-28"})


def test_schemas_with_rules_it_cannot_see_are_not_compiled():
    class WithSchemaHook(Sample):
        @validates_schema
        def check(self, data, **kwargs):
            pass

    class WithCallableValidator(Schema):
        n = fields.Integer(validate=lambda n: n != 3)

    class WithUnknownField(Schema):
        at = fields.DateTime()

    assert compile_acceptor(WithSchemaHook()) is None
    assert compile_acceptor(WithCallableValidator()) is None
    assert compile_acceptor(WithUnknownField()) is None


def test_a_refused_payload_still_gets_marshmallows_error_naming_the_field():
    with pytest.raises(EventSchemaError) as caught:
        CATALOGUE.validate_many([
            ("subsidies.run_started.v1", {"run_id": "r", "jurisdiction": "1405", "month": "2026-10",
                                          "effective_date": "2026-10-01", "rulebook_hash": "a" * 64}),
            ("subsidies.run_started.v1", {"run_id": "r", "jurisdiction": "1405", "month": "2026-13",
                                          "effective_date": "2026-10-01", "rulebook_hash": "a" * 64}),
        ])
    assert list(caught.value.errors) == ["events[1].data(subsidies.run_started.v1).month"]


def test_contracts_refuse_float_money_so_no_float_reaches_the_log():
    # The log stores the payload as given: a non-strict Integer would let 20000.0 in as "20000.0".
    payload = {"run_id": "r", "jurisdiction": "1405", "month": "2026-10", "effective_date": "2026-10-01",
               "beneficiary_id": "e-1", "programme": "care_subsidy", "period": "2026-10",
               "amount_fen": 20000.0, "rule_version": "v1", "rule_hash": "a" * 64,
               "facts": {"as_of": "2026-10-01"}}
    with pytest.raises(EventSchemaError) as caught:
        CATALOGUE.validate("subsidies.disbursement_computed.v1", payload)
    assert "data(subsidies.disbursement_computed.v1).amount_fen" in caught.value.errors


def test_division_codes_are_ascii_digits_only():
    # Python's \d and str.isdigit() accept every script's digits: an alert was once filed
    # under ४१०९२८१०१२०१ (found by the schemathesis run).
    from marshmallow import ValidationError

    from kernel.jurisdiction import JurisdictionVersions  # noqa: F401 - the module's checks load
    from services.subsidies.handlers import normalise_jurisdiction
    with pytest.raises(ValidationError):
        DivisionCode().deserialize("४१०९२८१०१२०१")
    assert DivisionCode().deserialize("410928101201") == "410928101201"
    with pytest.raises(Exception) as caught:
        normalise_jurisdiction("४१०९")
    assert "jurisdiction" in str(caught.value)
