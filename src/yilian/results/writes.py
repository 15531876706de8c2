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
from yilian.sql import adapt, columns, insert_id, insert_sql

# A value: these columns of `Observation`, in this order (its report's id is added here).
VALUE_COLUMNS = ("patient_id", "code", "loinc", "name", "value", "value_num", "unit", "reference", "flag",
                 "critical", "observed_at", "superseded")
REPORT_COLUMNS = ("patient_id", "institution_id", "channel", "identifier_system", "identifier_value", "kind", "code",
                  "name", "status", "ordered_at", "collected_at", "reported_at", "received_at", "conclusion",
                  "message_id", "version")
AUDIT_COLUMNS = ("at", "user_id", "username", "membership_id", "institution_id", "role", "patient_id", "object_type",
                 "action", "outcome", "basis", "grant_id", "reason", "source")  # and object_id: the report's id
IDENTIFIER = ("identifier_system", "identifier_value")
_ROWS_PER_INSERT = 50  # SQLite: 13 parameters a row, at most 999 a statement


def insert_new(report: Report, values: list[tuple], audit: AuditEvent) -> int | None:
    """Insert `report` (its `REPORT_COLUMNS`), its `values` (tuples in `VALUE_COLUMNS` order) and `audit`
    (its object_id becomes the report's id); the new report's id, or None when its identifier is taken."""
    report_row = [getattr(report, c) for c in REPORT_COLUMNS]
    if connection.vendor == "postgresql":
        document = json.dumps([dict(zip(VALUE_COLUMNS, row, strict=True)) for row in values], default=_json)
        with connection.cursor() as cursor:
            cursor.execute(_new_report_sql(), [*report_row, document, *(getattr(audit, c) for c in AUDIT_COLUMNS)])
            found = cursor.fetchone()
        return found[0] if found else None
    pk = insert_id(insert_sql(Report._meta.db_table, REPORT_COLUMNS, IDENTIFIER), report_row)
    if pk is not None:
        insert_values(pk, values)
        audit.object_id = str(pk)
        audit.save(force_insert=True)
    return pk


def insert_values(report_id: int, values: list[tuple]) -> None:
    """A report's values in one INSERT (in batches of 50 on SQLite, 13 parameters a value)."""
    if not values:
        return
    rows = [(report_id, *(adapt(v) for v in row)) for row in values]
    size = len(rows) if connection.vendor == "postgresql" else _ROWS_PER_INSERT
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            batch = rows[start:start + size]
            sql = insert_sql(Observation._meta.db_table, ("report_id", *VALUE_COLUMNS), rows=len(batch))
            cursor.execute(sql, [v for row in batch for v in row])


def _json(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


@lru_cache(maxsize=2)
def _new_report_sql() -> str:
    """PostgreSQL: the report, then — only when it was inserted — its values and its audit row."""
    observations, audit = (connection.ops.quote_name(m._meta.db_table) for m in (Observation, AuditEvent))
    picked = ", ".join(f"v.{connection.ops.quote_name(c)}" for c in VALUE_COLUMNS)
    report = insert_sql(Report._meta.db_table, REPORT_COLUMNS, IDENTIFIER)
    return (f"WITH r AS ({report} RETURNING id), "  # noqa: S608  names and placeholders, not values
            f"o AS (INSERT INTO {observations} ({columns(('report_id', *VALUE_COLUMNS))}) "
            f"SELECT r.id, {picked} FROM r CROSS JOIN json_populate_recordset(NULL::{observations}, %s::json) AS v), "
            f"a AS (INSERT INTO {audit} ({columns((*AUDIT_COLUMNS, 'object_id'))}) "
            f"SELECT {', '.join(['%s'] * len(AUDIT_COLUMNS))}, r.id::text FROM r) "
            "SELECT id FROM r")
