"""Benchmark: the mutual-recognition check at order time with 10,000,000 stored results on PostgreSQL.

Creates a PostgreSQL database of its own (dropped at the end; `--keep` keeps it), migrates it (which loads
the catalogue, the rules of `results/data/rules.csv` and the reference prices) and builds, through the
project's factories, a consortium of 16 members — the county hospital (2A), a TCM hospital (2B), a
maternal-child hospital (2A), twelve township centres (grade 1) and a village clinic — with quality-control
passes for all but two townships, and a doctor at the county hospital. Then it bulk-loads with
`INSERT … SELECT … FROM generate_series` (server-side, never the ORM row by row) the patients and the
results: `Report` rows spread at random over the patients, the 20 orderable panels and exams, the members
and the last two years (95 % final, 2 % amended, 2 % preliminary, 1 % cancelled); the indexes that back no
constraint are dropped before and built after; ANALYZE. Observations are not loaded: the check reads
reports only (the page's values are one more query by report id, `recognition.values_of`).

Measured, for `--checks` random patients each ordering a random panel or exam now:
- `p50_ms`, `p95_ms`, `p99_ms`: `results.recognition.check` — the function `results.orders.do_order` calls
  (with the item's rule fetched alongside the item, as `do_order` does): the candidate query (patient, item,
  window, status), a range of the index (patient, code, -collected_at), then — only when it found
  reports — their sources (consortium, grade) and the sources' quality-control passes on the report dates. Half the checks are for random patients and items (most find
  nothing, as most orders do), half for (patient, item) pairs with a report of the last week
  (`recent_p95_ms`, `random_p95_ms` apart);
- `order_p50_ms`, `order_p95_ms`: the whole action `results.orders.do_order` for `--orders` patients the
  county cares for (access decision, checks, the check, the order row and its audit row);
- `plan_index`: whether PostgreSQL's plan for the candidate query uses that index.

Prints `key=value` lines (counts, seconds, latencies; never a name, an ID or a phone). Target: p95 ≤ 20 ms.

    .venv/bin/python benchmarks/recognition.py --quick      # 300,000 results, under a minute
    .venv/bin/python benchmarks/recognition.py              # 10,000,000 results over 500,000 patients
    .venv/bin/python benchmarks/recognition.py --results 2000000 --patients 100000
    .venv/bin/python benchmarks/recognition.py --keep        # then, at a quieter moment:
    .venv/bin/python benchmarks/recognition.py --again       # measure again on the kept database
"""

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/yilian_bench_recognition"
CHUNK = 1_000_000
DAYS = 730


# --- the database -------------------------------------------------------------------------------------


def _admin_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        raise SystemExit("--database-url must name a database")
    return urlunsplit(parts._replace(path="/postgres")), name


def recreate_database(url: str) -> None:
    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str) -> None:
    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def setup_django(url: str, var: Path) -> None:
    os.environ.update(DATABASE_URL=url, YILIAN_VAR=str(var), YILIAN_SECRET_KEY=secrets.token_urlsafe(50),
                      DJANGO_SETTINGS_MODULE="yilian.settings")
    os.environ.setdefault("YILIAN_LOG_LEVEL", "WARNING")
    import django

    django.setup()


# --- the data -----------------------------------------------------------------------------------------


def build():
    """The consortium, its quality-control passes and prices, and a doctor at the county hospital."""
    from django.test.utils import override_settings
    from django.utils import timezone

    from yilian.network.acting import SYSTEM
    from yilian.network.models import Grade, Institution, InstitutionKind
    from yilian.network.roles import Role
    from yilian.results.actions import NewQualityPass, do_record_quality_passes
    from yilian.results.load import load
    from yilian.testing import factories as f

    net = f.make_network()
    extra = [("T-TCM", "县中医院", InstitutionKind.TCM, Grade.G2B), ("T-MCH", "县妇幼保健院", InstitutionKind.MATERNAL_CHILD,
                                                                   Grade.G2A)]
    extra += [(f"T-W{n:02d}", f"第{n}镇卫生院", InstitutionKind.TOWNSHIP, Grade.G1) for n in range(2, 13)]
    for code, name, kind, grade in extra:
        Institution.objects.create(consortium=net.consortium, code=code, name=name, short_name=name[:10], kind=kind,
                                   grade=grade, division_code=f.COUNTY_DIVISION, parent=net.county)
    members = list(Institution.objects.filter(consortium=net.consortium).order_by("pk"))
    today = timezone.localdate()
    do_record_quality_passes(SYSTEM, [
        NewQualityPass(m.pk, "", today - timedelta(days=DAYS + 30), today + timedelta(days=365), "县临床检验中心")
        for m in members if m.code not in ("T-W11", "T-W12")])
    load(members)
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        doctor = f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county),
                                   username="bench-county-doctor")
    return net, members, doctor


def _drop_indexes(cursor, table: str) -> list[str]:
    """Drop the table's indexes and unique constraints other than the primary key; returns the statements
    that create them again (one index build after the load is far cheaper than millions of insertions)."""
    cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                   "AND contype = 'u'", [table])
    constraints = cursor.fetchall()
    again = []
    for name, definition in constraints:
        cursor.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.Identifier(table), sql.Identifier(name)))
        again.append(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(sql.Identifier(table), sql.Identifier(name))
                     + sql.SQL(definition))
    cursor.execute("SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s AND NOT EXISTS ("
                   "SELECT 1 FROM pg_constraint c WHERE c.conindid = "
                   "(quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)", [table])
    for name, definition in cursor.fetchall():
        cursor.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        again.append(sql.SQL(definition))
    return again


def bulk_load(members, n_results: int, n_patients: int, seed: int) -> dict:
    """Patients and reports, server-side; returns the first patient id and the seconds of each step."""
    from django.db import connection

    from yilian.patients.models import Patient
    from yilian.results.models import Item, Report, Rule

    rules = list(Rule.objects.select_related("item").order_by("item__code"))
    codes = [r.item.code for r in rules]
    kinds = [r.item.kind for r in rules]
    names = [r.item.name for r in rules]
    institution_ids = [m.pk for m in members]
    patients, reports = Patient._meta.db_table, Report._meta.db_table
    out: dict = {}
    assert Item.objects.filter(code__in=codes).count() == len(codes)
    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # psycopg's cursor under Django's wrapper
        # Rows generated consistent: skip the per-row foreign-key triggers for the load (needs a superuser);
        # the measured operations below run with every trigger in place.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql.SQL("SELECT coalesce(max(id), 0) + 1 FROM {}").format(sql.Identifier(patients)))
        first = cursor.fetchone()[0]
        out["first_patient"] = first
        started = time.perf_counter()
        cursor.execute(sql.SQL(
            "INSERT INTO {} (id, name, sex, birth_date, resident_id, phone, address, registered_at_id, created_at) "
            "SELECT g, '患者' || g, (1 + mod(g, 2))::text, date '1940-01-01' + mod(g, 25000)::int, NULL, '', '', "
            "(%s::bigint[])[1 + mod(g, %s)], now() FROM generate_series(%s::bigint, %s::bigint) g"
        ).format(sql.Identifier(patients)), [institution_ids, len(institution_ids), first, first + n_patients - 1])
        out["patients_seconds"] = time.perf_counter() - started
        again = _drop_indexes(cursor, reports)
        cursor.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
        started = time.perf_counter()
        insert = sql.SQL(
            "INSERT INTO {} (id, patient_id, institution_id, channel, identifier_system, identifier_value, kind, code, "
            "name, status, ordered_at, collected_at, reported_at, received_at, conclusion, message_id, version) "
            "SELECT g, p, i, 'hl7', 'BENCH-LIS', 'B' || g, (%(kinds)s::text[])[c], (%(codes)s::text[])[c], "
            "(%(names)s::text[])[c], CASE WHEN s < 0.95 THEN 'final' WHEN s < 0.97 THEN 'amended' "
            "WHEN s < 0.99 THEN 'preliminary' ELSE 'cancelled' END, t - make_interval(mins => (5 + o * 120)::int), "
            "t, t + interval '2 hours', t + interval '2 hours', '', NULL, 1 "
            "FROM (SELECT g, %(first)s + floor(random() * %(patients)s)::bigint AS p, "
            "(%(institutions)s::bigint[])[1 + floor(random() * %(n_institutions)s)::int] AS i, "
            "1 + floor(random() * %(n_codes)s)::int AS c, random() AS s, random() AS o, "
            "now() - make_interval(secs => random() * %(seconds)s) AS t "
            "FROM generate_series(%(start)s::bigint, %(stop)s::bigint) g) r"
        ).format(sql.Identifier(reports))
        for start in range(1, n_results + 1, CHUNK):
            stop = min(start + CHUNK - 1, n_results)
            cursor.execute(insert, {"kinds": kinds, "codes": codes, "names": names, "first": first,
                                    "patients": n_patients, "institutions": institution_ids,
                                    "n_institutions": len(institution_ids), "n_codes": len(codes),
                                    "seconds": DAYS * 86400, "start": start, "stop": stop})
            print(f"loaded={stop}", file=sys.stderr, flush=True)
        out["results_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for statement in again:
            cursor.execute(statement)
        out["index_seconds"] = time.perf_counter() - started
        for table in (patients, reports):
            cursor.execute(sql.SQL("SELECT setval(pg_get_serial_sequence({}, 'id'), (SELECT max(id) FROM {}))").format(
                sql.Literal(table), sql.Identifier(table)))
        cursor.execute("SET session_replication_role = DEFAULT")
        started = time.perf_counter()
        for table in (patients, reports):
            cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
        out["analyze_seconds"] = time.perf_counter() - started
    return out


# --- the measurements ---------------------------------------------------------------------------------


def quantile(values: list[float], q: float) -> str:
    if not values:
        return "nan"
    values = sorted(values)
    return f"{values[max(int(round(len(values) * q)) - 1, 0)]:.2f}"


def _recent_pairs(n: int) -> list[tuple[int, str]]:
    """(patient, item) pairs with a usable report of the last week: orders that find something."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT patient_id, code FROM results_report WHERE collected_at > now() - interval '7 days' "
                       "AND status IN ('final', 'amended') ORDER BY random() LIMIT %s", [n])
        return cursor.fetchall()


def measure_checks(consortium: int, first: int, n_patients: int, checks: int, seed: int) -> dict:
    """Half the checks for random patients and items (most find nothing, as most orders), half for pairs
    with a report of the last week (they find it unless its source lacks a pass or the grade)."""
    from django.utils import timezone

    from yilian.results import recognition
    from yilian.results.models import Item, Rule

    rng = random.Random(seed)
    items = {r.item.code: r.item for r in Rule.objects.select_related("item")}  # each item with its rule
    plan = recognition.candidates(first, Item.objects.get(code="CBC"), Rule.objects.get(item__code="CBC"),
                                  timezone.now()).explain()
    for _ in range(20):  # warm the connection as a server that runs all day has
        recognition.check(first + rng.randrange(n_patients), rng.choice(list(items.values())), timezone.now(), (),
                          consortium_id=consortium)
    recent = _recent_pairs(checks // 2)
    work = [(p, items[code], "hit") for p, code in recent]
    work += [(first + rng.randrange(n_patients), rng.choice(list(items.values())), "random")
             for _ in range(checks - len(work))]
    rng.shuffle(work)
    timings: dict[str, list[float]] = {"hit": [], "random": []}
    offered = []
    for patient_id, item, kind in work:
        started = time.perf_counter()
        found = recognition.check(patient_id, item, timezone.now(), (), consortium_id=consortium)
        timings[kind].append((time.perf_counter() - started) * 1000)
        offered.append(found.offered)
    every = timings["hit"] + timings["random"]
    return {"checks": len(work), "checks_recent": len(timings["hit"]),
            "offered_mean": f"{statistics.mean(offered):.2f}",
            "offered_any": f"{sum(1 for n in offered if n) / len(offered):.3f}", "p50_ms": quantile(every, 0.5),
            "p95_ms": quantile(every, 0.95), "p99_ms": quantile(every, 0.99), "max_ms": f"{max(every):.2f}",
            "recent_p95_ms": quantile(timings["hit"], 0.95), "random_p95_ms": quantile(timings["random"], 0.95),
            "plan_index": "results_report_patient_code" in plan}


def measure_orders(county: int, doctor, first: int, n_patients: int, n_orders: int, seed: int) -> dict:
    """`do_order` for patients the county cares for (a care relation each, through the access action)."""
    from django.utils import timezone

    from yilian.access.actions import do_record_care
    from yilian.results.models import Rule
    from yilian.results.orders import NewOrder, do_order
    from yilian.testing import factories as f

    rng = random.Random(seed + 1)
    codes = [r.item.code for r in Rule.objects.select_related("item")]
    patients = rng.sample(range(first, first + n_patients), n_orders)
    for patient_id in patients:
        do_record_care(patient_id, county, "bench", patient_id, timezone.now())
    actor = f.actor(doctor)
    timings = []
    for patient_id in patients:
        started = time.perf_counter()
        do_order(actor, NewOrder(patient_id, rng.choice(codes)))
        timings.append((time.perf_counter() - started) * 1000)
    return {"orders": n_orders, "order_p50_ms": quantile(timings, 0.5), "order_p95_ms": quantile(timings, 0.95)}


def existing():
    """The consortium, the county hospital, the doctor and the patients of a database kept by `--keep`."""
    from django.db.models import Max, Min

    from yilian.network.models import Consortium, Institution, Membership
    from yilian.patients.models import Patient

    span = Patient.objects.aggregate(first=Min("pk"), last=Max("pk"))
    doctor = Membership.objects.select_related("staff__user").get(staff__user__username="bench-county-doctor")
    return (Consortium.objects.get().pk, Institution.objects.get(code="T-H01").pk, doctor, span["first"],
            span["last"] - span["first"] + 1)


def load(args, n_results: int, n_patients: int):
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"migrate_seconds={time.perf_counter() - started:.2f}", flush=True)
    net, members, doctor = build()
    print(f"members={len(members)}", flush=True)
    started = time.perf_counter()
    loaded = bulk_load(members, n_results, n_patients, args.seed)
    print(f"load_seconds={time.perf_counter() - started:.2f}", flush=True)
    first = loaded.pop("first_patient")
    for key, value in loaded.items():
        print(f"{key}={value:.2f}", flush=True)
    return net.consortium.pk, net.county.pk, doctor, first, n_patients


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300,000 results over 30,000 patients: under a minute")
    parser.add_argument("--results", type=int, default=None, help="stored results (default 10,000,000)")
    parser.add_argument("--patients", type=int, default=None, help="patients (default 500,000; quick 30,000)")
    parser.add_argument("--checks", type=int, default=None, help="checks timed (default 2,000; quick 300)")
    parser.add_argument("--orders", type=int, default=None, help="do_order actions timed (default 300; quick 50)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep the database (it is recreated at the next run)")
    parser.add_argument("--again", action="store_true", help="measure again on the database an earlier --keep left")
    args = parser.parse_args()
    n_results = args.results or (300_000 if args.quick else 10_000_000)
    n_patients = args.patients or (30_000 if args.quick else 500_000)
    checks = args.checks or (300 if args.quick else 2_000)
    n_orders = args.orders or (50 if args.quick else 300)
    url = args.database_url

    if not args.again:
        recreate_database(url)
    try:
        with tempfile.TemporaryDirectory(prefix="yilian-bench-recognition-") as tmp:
            setup_django(url, Path(tmp))
            from django.db import connection, connections
            from django.utils import timezone

            custom = args.results is not None or args.patients is not None
            print(f"size={'again' if args.again else 'custom' if custom else 'quick' if args.quick else 'full'}")
            print(f"date={timezone.localdate().isoformat()}\ncpus={os.cpu_count()}\nload_average={os.getloadavg()[0]:.2f}",
                  flush=True)
            consortium, county, doctor, first, n_patients = existing() if args.again else load(args, n_results,
                                                                                                n_patients)
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM results_report")
                print(f"results={cursor.fetchone()[0]}", flush=True)
                cursor.execute("SHOW server_version")
                print(f"server_version={cursor.fetchone()[0]}", flush=True)
            print(f"patients={n_patients}", flush=True)
            for key, value in measure_checks(consortium, first, n_patients, checks, args.seed).items():
                print(f"{key}={value}", flush=True)
            for key, value in measure_orders(county, doctor, first, n_patients, min(n_orders, n_patients),
                                             args.seed).items():
                print(f"{key}={value}", flush=True)
            print(f"load_average_end={os.getloadavg()[0]:.2f}", flush=True)
            connections.close_all()
    finally:
        if not (args.keep or args.again):
            drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
