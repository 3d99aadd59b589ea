"""Field types shared by the contracts and the RPC schemas."""
import re

from marshmallow import ValidationError, fields, validate
from kernel import resident_id
from kernel.clock import EARLIEST_ACCEPTED_DATE, LATEST_ACCEPTED_DATE
from kernel.fast_validation import register_field_check

DIVISION_CODE = re.compile(r"^[0-9]{12}$")
# A division or any enclosing one, by its significant prefix (province 2 … village 12 digits).
DIVISION_PREFIX = validate.Regexp(r"^[0-9]{2,12}$", error="must be a division code or prefix of 2–12 digits")

# The largest integer every backend stores and compares (PostgreSQL BIGINT, SQLite INTEGER):
# a larger one in a request is a bad field, not a database overflow.
LARGEST_STORED_INTEGER = 2**63 - 1


class AcceptedDate(fields.Date):
    """A local calendar date a command or query may carry: ISO ``YYYY-MM-DD`` within
    ``kernel.clock``'s accepted span (1900–2199)."""

    default_error_messages = {"out_of_span": "must be a date from {earliest} to {latest}, got {input}"}

    def _deserialize(self, value, attr, data, **kwargs):
        day = super()._deserialize(value, attr, data, **kwargs)
        if not EARLIEST_ACCEPTED_DATE <= day <= LATEST_ACCEPTED_DATE:
            raise self.make_error("out_of_span", earliest=EARLIEST_ACCEPTED_DATE.isoformat(),
                                  latest=LATEST_ACCEPTED_DATE.isoformat(), input=day.isoformat())
        return day


# A visit period: a month (2026-10) or a quarter (2026-Q4). ASCII digits only: ``int()``
# alone would take " 2026", "+2026", "2_026" and other scripts' digits.
PERIOD_LABEL = re.compile(r"^([0-9]{4})-(?:(0[1-9]|1[0-2])|[Qq]([1-4]))$")


def period_label_problem(label) -> str | None:
    found = PERIOD_LABEL.match(label) if isinstance(label, str) else None
    if found is None or not EARLIEST_ACCEPTED_DATE.year <= int(found.group(1)) <= LATEST_ACCEPTED_DATE.year:
        return (f"must be a month like 2026-10 or a quarter like 2026-Q4 from "
                f"{EARLIEST_ACCEPTED_DATE.year} to {LATEST_ACCEPTED_DATE.year}, got {label!r}")
    return None


class PeriodField(fields.String):
    """A visit period label, loaded as the text (the visits domain parses it)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = period_label_problem(text)
        if problem:
            raise ValidationError(problem)
        return text


class PageOffset(fields.Integer):
    """How many rows a list query skips (default 0)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("load_default", 0)
        super().__init__(validate=validate.Range(min=0, max=LARGEST_STORED_INTEGER), **kwargs)


class DivisionCode(fields.String):
    """A 12-digit statistical division code (province 2, city 2, county 2, township 3, village 3)."""

    default_error_messages = {"invalid_division": "must be a 12-digit division code, got {input!r}"}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not DIVISION_CODE.match(text):
            raise self.make_error("invalid_division", input=text)
        return text


class ResidentId(fields.String):
    """An 18-character resident identity number (GB 11643): format, birth date, address
    code and ISO 7064 MOD 11-2 check character (``kernel.resident_id``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip().upper()
        problems = resident_id.problems(text)
        if problems:
            raise ValidationError(f"not a valid resident identity number: {'; '.join(problems)}")
        return text


def personal(field: fields.Field) -> fields.Field:
    """Mark a contract's field as personal data (name, resident ID, phone, address, health…):
    the kernel stores it sealed with the person's key, so erasing the person erases it
    (``kernel.personal``). A personal field must be a String (an erased one reads
    ``[erased]``). The person is the payload's ``elder_id``, or the field a schema names in
    ``personal_subject``."""
    field.metadata = {**(field.metadata or {}), "personal": True}
    return field


class EnumValue(fields.String):
    """Dumps a str Enum (or plain string) as its value; loads the plain string."""

    def __init__(self, choices, **kwargs):
        super().__init__(validate=validate.OneOf(choices), **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return getattr(value, "value", value)


# The write path's compiled acceptor (kernel.fast_validation) checks these subclasses with
# exactly their own rules; without a registration it would leave them all to marshmallow.
register_field_check(DivisionCode, lambda value: type(value) is str and DIVISION_CODE.match(value) is not None,
                     loads_as_is=True)
register_field_check(ResidentId, lambda value: type(value) is str and not resident_id.problems(value.strip().upper()))
register_field_check(EnumValue, lambda value: type(value) is str, loads_as_is=True)   # OneOf: a validator
