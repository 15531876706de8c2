"""The results store's statements, written by hand because they are the HL7 listener's hot path
(docs/hl7.md, "Performance"): Django's `save()` and `bulk_create` compile every statement again and adapt
each value one by one, which cost more than the database's own work for a report of a dozen values.

`insert_new` stores a report under an identifier not seen before — the report, its values and its audit row
— or writes nothing and answers None when the identifier is stored already (`ON CONFLICT DO NOTHING`:
also when a concurrent transaction stored it and committed meanwhile; the caller then makes the report a new
version). On PostgreSQL that is ONE statement (data-modifying CTEs; the values travel as one JSON array read
by `json_populate_recordset`, so no value is adapted in Python); elsewhere (SQLite) three.

`insert_values` adds a stored report's new version's values.
"""

import json
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from django.db import connection

from yilian.access.models import AuditEvent
from yilian.results.models import Observation, Report

# A value: these columns of `Observation`, in this order (its report's id is added here).
VALUE_COLUMNS = ("patient_id", "code", "loinc", "name", "value", "value_num", "unit", "reference", "flag",
                 "critical", "observed_at", "superseded")
REPORT_COLUMNS = ("patient_id", "institution_id", "channel", "identifier_system", "identifier_value", "kind", "code",
                  "name", "status", "ordered_at", "collected_at", "reported_at", "received_at", "conclusion",
                  "message_id", "version")
AUDIT_COLUMNS = ("at", "user_id", "username", "membership_id", "institution_id", "role", "patient_id", "object_type",
                 "action", "outcome", "basis", "grant_id", "reason", "source")  # and object_id: the report's id
_ROWS_PER_INSERT = 50  # SQLite: 13 parameters a row, at most 999 a statement


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _columns(names) -> str:
    return ", ".join(_qn(n) for n in names)


def _adapt(value):
    """A parameter as its field would adapt it (SQLite keeps times as UTC text and decimals as text)."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, Decimal):
        return connection.ops.adapt_decimalfield_value(value, 18, 6)
    return value


def insert_new(report: Report, values: list[tuple], audit: AuditEvent) -> int | None:
    """Insert `report` (its `REPORT_COLUMNS`), its `values` (tuples in `VALUE_COLUMNS` order) and `audit`
    (its object_id becomes the report's id); the new report's id, or None when its identifier is taken."""
    report_row = [getattr(report, c) for c in REPORT_COLUMNS]
    audit_row = [getattr(audit, c) for c in AUDIT_COLUMNS]
    if connection.vendor == "postgresql":
        document = json.dumps([dict(zip(VALUE_COLUMNS, row, strict=True)) for row in values], default=_json)
        with connection.cursor() as cursor:
            cursor.execute(_new_report_sql(), [*report_row, document, *audit_row])
            found = cursor.fetchone()
        return found[0] if found else None
    with connection.cursor() as cursor:
        cursor.execute(_insert_report_sql(), [_adapt(v) for v in report_row])
        found = cursor.fetchone()
    if not found:
        return None
    insert_values(found[0], values)
    audit.object_id = str(found[0])
    audit.save(force_insert=True)
    return found[0]


def insert_values(report_id: int, values: list[tuple]) -> None:
    """A report's values in one INSERT (in batches of 50 on SQLite, 13 parameters a value)."""
    if not values:
        return
    rows = [(report_id, *(_adapt(v) for v in row)) for row in values]
    head = f"INSERT INTO {_qn(Observation._meta.db_table)} ({_columns(('report_id', *VALUE_COLUMNS))}) VALUES "  # noqa: S608
    one = f"({', '.join(['%s'] * (len(VALUE_COLUMNS) + 1))})"
    size = len(rows) if connection.vendor == "postgresql" else _ROWS_PER_INSERT
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            batch = rows[start:start + size]
            cursor.execute(head + ", ".join([one] * len(batch)), [v for row in batch for v in row])


def _json(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


@lru_cache(maxsize=2)
def _insert_report_sql() -> str:
    return (f"INSERT INTO {_qn(Report._meta.db_table)} ({_columns(REPORT_COLUMNS)}) "  # noqa: S608  names, not values
            f"VALUES ({_placeholders(len(REPORT_COLUMNS))}) "
            f"ON CONFLICT ({_columns(('identifier_system', 'identifier_value'))}) DO NOTHING RETURNING {_qn('id')}")


@lru_cache(maxsize=2)
def _new_report_sql() -> str:
    """PostgreSQL: the report, then — only when it was inserted — its values and its audit row."""
    observations, audit = _qn(Observation._meta.db_table), _qn(AuditEvent._meta.db_table)
    picked = ", ".join(f"v.{_qn(c)}" for c in VALUE_COLUMNS)
    return (f"WITH r AS ({_insert_report_sql()}), "  # noqa: S608  names and placeholders, not values
            f"o AS (INSERT INTO {observations} ({_columns(('report_id', *VALUE_COLUMNS))}) "
            f"SELECT r.id, {picked} FROM r CROSS JOIN json_populate_recordset(NULL::{observations}, %s::json) AS v), "
            f"a AS (INSERT INTO {audit} ({_columns((*AUDIT_COLUMNS, 'object_id'))}) "
            f"SELECT {_placeholders(len(AUDIT_COLUMNS))}, r.id::text FROM r) "
            "SELECT id FROM r")
