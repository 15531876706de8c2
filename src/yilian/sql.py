"""Hand-written INSERTs for the few hot paths where Django's `save()` costs more than the database's own work
(the HL7 listener: docs/hl7.md, "Performance"). The statements name columns, never values: values are
always parameters, adapted as their fields adapt them.
"""

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from django.db import connection


def columns(names) -> str:
    return ", ".join(connection.ops.quote_name(n) for n in names)


def adapt(value):
    """A parameter as its field would adapt it (SQLite keeps times as UTC text and decimals as text)."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return connection.ops.adapt_datefield_value(value)
    if isinstance(value, Decimal):
        return connection.ops.adapt_decimalfield_value(value)
    return value


@lru_cache(maxsize=256)
def insert_sql(table: str, names: tuple[str, ...], conflict: tuple[str, ...] = (), rows: int = 1) -> str:
    """INSERT INTO table (names) VALUES (%s, …)[, (%s, …) for `rows` rows] [ON CONFLICT (conflict) DO NOTHING],
    without RETURNING."""
    qn = connection.ops.quote_name
    one = f"({', '.join(['%s'] * len(names))})"
    sql = f"INSERT INTO {qn(table)} ({columns(names)}) VALUES {', '.join([one] * rows)}"  # noqa: S608
    return sql + (f" ON CONFLICT ({columns(conflict)}) DO NOTHING" if conflict else "")


def insert_id(sql: str, params: list) -> int | None:
    """Run an `insert_sql` statement; the new row's id, or None when ON CONFLICT inserted nothing. PostgreSQL
    returns it (RETURNING); SQLite's cursor knows it (which also works before SQLite 3.35's RETURNING)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(sql + " RETURNING id", params)
            found = cursor.fetchone()
            return found[0] if found else None
        cursor.execute(sql, [adapt(v) for v in params])
        return cursor.lastrowid if cursor.rowcount else None
