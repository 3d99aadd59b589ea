"""Aggregate reads of the elder directory (for dashboards and reports)."""
from __future__ import annotations

from marshmallow import Schema, fields
from sqlalchemy import func, select

from contracts.fields import DivisionCode
from kernel.divisions import CHILD_PREFIX_LENGTH, significant_prefix
from services.registry.adapters.tables import ELDER_COUNT_COLUMNS, elder_counts, elders
from services.registry.domain.model import RecordStatus


class DivisionSchema(Schema):
    division_code = DivisionCode(required=True)


DIVISION_SCHEMA = DivisionSchema()


class QuarterSchema(DivisionSchema):
    quarter_end = fields.Date(required=True)
    known_at = fields.AwareDateTime(load_default=None, allow_none=True)


QUARTER_SCHEMA = QuarterSchema()
KEY_TARGET_REASONS = ("hard_up", "advanced_age", "disabled", "living_alone")


def division_counts(conn, division_code: str) -> dict:
    """The division's figures and each place one level down's, added up from the per-village
    ``elder_counts`` (a county is a few hundred rows, whatever its number of elders)."""
    prefix = significant_prefix(division_code)
    child = func.substr(elder_counts.c.division_code, 1, CHILD_PREFIX_LENGTH[len(prefix)]).label("child")
    sums = [func.sum(elder_counts.c[name]).label(name) for name in ELDER_COUNT_COLUMNS]
    within = elder_counts.c.division_code.startswith(prefix)
    total = conn.execute(select(*sums).where(within)).one()._mapping
    children = conn.execute(select(child, *sums).where(within).group_by(child).order_by(child)).all()
    as_dict = lambda row: {k: int(row[k] or 0) for k in ELDER_COUNT_COLUMNS}  # noqa: E731
    return {"division_code": division_code, **as_dict(total),
            "children": [{"division_code": r._mapping["child"].ljust(12, "0"), **as_dict(r._mapping)}
                         for r in children if any(as_dict(r._mapping).values())]}


AGE_BANDS = ((60, 69, "60-69"), (70, 79, "70-79"), (80, 200, "80+"))
QUARTER_METRICS = ("left_behind", "key_target", *[f"key_target_{r}" for r in KEY_TARGET_REASONS], "female", "male",
                   *[f"age_{label}" for _, _, label in AGE_BANDS], "self_care_full", "semi_disabled",
                   "fully_disabled", "lives_alone", "hospitalised")


def quarterly_figures(conn, store, catalogue, division_code: str, quarter_end, known_at) -> dict:
    """The quarterly report's figures (001: numbers, distribution, characteristics), per place
    one level down: every elder's stream replayed as recorded by ``known_at`` and as in effect
    on ``quarter_end`` — so the same quarter and ``known_at`` always give the same figures."""
    from services.registry.adapters.event_mapping import event_from_envelope
    from services.registry.domain import fold_as_of
    from services.registry.domain.model import age_in_years

    prefix = significant_prefix(division_code)
    child_length = CHILD_PREFIX_LENGTH[len(prefix)]
    # Every elder of the county (or of the wider place) is replayed, not only those the directory
    # places inside the division today: someone may have moved in or out since the quarter ended.
    within = elders.c.county_code == prefix[:6] if len(prefix) >= 6 else elders.c.division_code.startswith(prefix)
    candidates = conn.execute(select(elders.c.elder_id).where(within).order_by(elders.c.elder_id))
    rows: dict[str, dict[str, int]] = {}
    for elder_id in candidates.scalars():
        envelopes = store.read_stream(elder_id, conn, recorded_until=known_at)
        state = fold_as_of(elder_id, [event_from_envelope(e, catalogue) for e in envelopes], quarter_end)
        if state.record_status != RecordStatus.ACTIVE or not state.division_code.startswith(prefix) \
                or not state.is_left_behind:
            continue
        row = rows.setdefault(state.division_code[:child_length].ljust(12, "0"), dict.fromkeys(QUARTER_METRICS, 0))
        age = age_in_years(state.birth_date, quarter_end)
        flags = {"left_behind": True, "key_target": state.is_key_target, state.sex: True,
                 "lives_alone": state.lives_alone, "hospitalised": state.hospitalised,
                 {"full_self_care": "self_care_full"}.get(state.self_care_level.value, state.self_care_level.value): True,
                 **{f"key_target_{r}": r in state.key_target_reasons for r in KEY_TARGET_REASONS},
                 **{f"age_{label}": low <= age <= high for low, high, label in AGE_BANDS}}
        for metric, on in flags.items():
            if on and metric in row:
                row[metric] += 1
    return {"division_code": division_code, "quarter_end": quarter_end.isoformat(), "metrics": list(QUARTER_METRICS),
            "rows": [{"division_code": code, **figures} for code, figures in sorted(rows.items())]}
