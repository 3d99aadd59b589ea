"""Aggregate reads of the elder directory (for dashboards and reports)."""
from __future__ import annotations

from marshmallow import Schema
from sqlalchemy import case, func, select

from contracts.fields import DivisionCode
from kernel.divisions import CHILD_PREFIX_LENGTH, significant_prefix
from services.registry.adapters.tables import elders
from services.registry.domain.model import RecordStatus


class DivisionSchema(Schema):
    division_code = DivisionCode(required=True)


DIVISION_SCHEMA = DivisionSchema()
KEY_TARGET_REASONS = ("hard_up", "advanced_age", "disabled", "living_alone")


def _counts(columns):
    active = elders.c.record_status == RecordStatus.ACTIVE.value
    return [
        func.sum(case((active, 1), else_=0)).label("active"),
        func.sum(case((active & elders.c.left_behind, 1), else_=0)).label("left_behind"),
        func.sum(case((active & elders.c.key_target, 1), else_=0)).label("key_target"),
        func.sum(case((active & elders.c.hospitalised, 1), else_=0)).label("hospitalised"),
        func.sum(case((elders.c.record_status == RecordStatus.DECEASED.value, 1), else_=0)).label("deceased"),
        *[func.sum(case((active & elders.c.key_target & elders.c.key_target_reasons.contains(reason), 1),
                        else_=0)).label(f"key_target_{reason}") for reason in KEY_TARGET_REASONS],
        *columns,
    ]


def division_counts(conn, division_code: str) -> dict:
    prefix = significant_prefix(division_code)
    child = func.substr(elders.c.division_code, 1, CHILD_PREFIX_LENGTH[len(prefix)]).label("child")
    within = elders.c.division_code.startswith(prefix)
    total = conn.execute(select(*_counts([])).where(within)).one()._mapping
    children = conn.execute(select(*_counts([child])).where(within).group_by(child).order_by(child)).all()
    as_dict = lambda row: {k: int(v or 0) for k, v in row.items() if k != "child"}  # noqa: E731
    return {"division_code": division_code, **as_dict(total),
            "children": [{"division_code": r._mapping["child"].ljust(12, "0"), **as_dict(r._mapping)}
                         for r in children]}
