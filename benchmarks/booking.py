"""Benchmark: outpatient booking and check-in by 50 concurrent desks against a running server on PostgreSQL.

Creates a PostgreSQL database of its own (dropped at the end; `--keep` keeps it), migrates it and builds,
through the project's factories and actions, a small consortium (the county hospital, a township centre, a
village clinic: `yilian.testing.factories.make_network`), one registrar user per client holding memberships
at two institutions, each client's own patients (registered at the institution it acts for), the fee
policies check-in needs, and clinics (one department's day in 30-minute slots of 3 places, no referral
reservation) for today and the next 13 days. Then starts the real server (`yilian serve`: gunicorn, the
default 2 workers × 4 threads unless told otherwise) on a free local port and runs the clients, each a
thread with its own HTTP session: it logs in through the login form (CSRF), chooses its acting
membership on the chooser page as the web flow requires, and then, for a fixed number of operations, lists
the free slots of a day (`GET /api/v1/scheduling/slots`), books one of the first few for one of its
patients (`POST /api/v1/scheduling/bookings`; the desks of one institution race for the same early
slots on purpose, and the loser gets 422 `slot_id`) and checks in the booking when its slot is today
(`POST /api/v1/scheduling/registrations`). Afterwards it counts double bookings straight from the
database: slots whose active bookings exceed their capacity, a patient holding two active bookings in one
slot, and slots whose `booked` counter disagrees with their active bookings.

Prints `key=value` lines (counts, seconds, rates, latencies; never a name, an ID or a phone): clients,
requests, bookings, slot_taken, check_ins, errors (unexpected statuses), seconds, bookings_per_s,
p50_ms, p95_ms (booking requests), checkin_p50_ms, checkin_p95_ms, slots_p50_ms, slots_p95_ms,
double_bookings. Exits 1 when double_bookings > 0, a slot counter is wrong, or unexpected errors occurred.

    .venv/bin/python benchmarks/booking.py --quick        # 50 clients × 5 operations, under a minute
    .venv/bin/python benchmarks/booking.py                # 50 clients × 100 operations
    .venv/bin/python benchmarks/booking.py --operations 12 --think-ms 10000   # desks pausing ~10 s
    .venv/bin/python benchmarks/booking.py --quick --conn-max-age 60   # persistent database connections
    .venv/bin/python benchmarks/booking.py --database-url postgres://postgres@db:5432/yilian_bench_booking
"""

import argparse
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from datetime import time as clock
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/yilian_bench_booking"
DAYS = 14  # today and the next 13 days
SLOT_MINUTES, CAPACITY = 30, 3
PATIENTS_PER_CLIENT = 12
TODAY_SHARE = 0.4  # share of operations that try today's slots first (those bookings are checked in)
FIRST_FEW = 3  # a desk books one of the first few free slots: the desks of one institution collide


# --- the database -------------------------------------------------------------------------------------


def _admin_url(url: str) -> tuple[str, str]:
    """The same server's `postgres` database, and the benchmark database's name."""
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


# --- the data -----------------------------------------------------------------------------------------


@dataclass
class Desk:
    """What one client knows: its log-in, the membership to act as, where it books, its own patients."""

    username: str
    membership_id: int
    institution_id: int
    department_ids: list[int]
    patient_ids: list[int]


def setup_django(url: str, var: Path, secret: str) -> None:
    os.environ.update(DATABASE_URL=url, YILIAN_VAR=str(var), YILIAN_SECRET_KEY=secret,
                      DJANGO_SETTINGS_MODULE="yilian.settings")
    os.environ.setdefault("YILIAN_LOG_LEVEL", "WARNING")
    import django

    django.setup()


def build(clients: int, today: date) -> list[Desk]:
    """The consortium, desks, patients, fees, policies and clinics, through the factories and actions."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.test.utils import override_settings

    from yilian.network.models import Department
    from yilian.network.roles import Role
    from yilian.scheduling.actions import (
        NewSchedule,
        do_create_schedule,
        do_generate_slots,
        do_set_fee,
        do_set_policy,
    )
    from yilian.testing import factories as f

    net = f.make_network()
    institutions = [net.county, net.township, net.village]
    departments = {i.pk: list(Department.objects.filter(institution=i).order_by("pk").values_list("pk", flat=True))
                   for i in institutions}
    # Creating fifty users with the production hasher costs ~0.3 s each and measures nothing: create them
    # with a fast one, then give them all the one production hash of the shared password (the server
    # checks it with the production hasher at every log-in).
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        head = {i.pk: f.make_membership(i, Role.REGISTRAR, username=f"bench-head-{n}")
                for n, i in enumerate(institutions)}
        desks = []
        for n in range(clients):
            home, other = institutions[n % 3], institutions[(n + 1) % 3]
            acting = f.make_membership(home, Role.REGISTRAR, username=f"bench-desk-{n:02d}")
            f.make_membership(other, Role.REGISTRAR, staff=acting.staff)  # so the desk must choose
            patients = [f.register_patient(acting).pk for _ in range(PATIENTS_PER_CLIENT)]
            desks.append(Desk(acting.staff.user.username, acting.pk, home.pk, departments[home.pk], patients))
    get_user_model().objects.filter(username__startswith="bench-").update(password=make_password(f.PASSWORD))

    sessions = (("morning", clock(0), clock(12)), ("afternoon", clock(12), clock(18)),
                ("evening", clock(18), clock(23, 45)))
    last = today + timedelta(days=DAYS - 1)
    for institution in institutions:
        actor = f.actor(head[institution.pk])
        do_set_fee(actor, "ordinary", "10")
        do_set_policy(actor, max_daily_bookings=20, registration_valid_days=3)
        for department_id in departments[institution.pk]:
            for session, start, end in sessions:
                schedule = do_create_schedule(actor, NewSchedule(
                    department_id=department_id, session=session, start_time=start, end_time=end,
                    slot_minutes=SLOT_MINUTES, capacity=CAPACITY, referral_reserved=0, weekdays="1234567",
                    valid_from=today, valid_to=last))
                do_generate_slots(actor, schedule.pk, today, last)
    return desks


def integrity() -> dict[str, int]:
    """Counted in the database: over-full slots, a patient twice in one slot, wrong `booked` counters."""
    from django.db import connection

    from yilian.scheduling.models import Booking, Slot

    slot, booking = Slot._meta.db_table, Booking._meta.db_table
    active = "('booked', 'checked_in')"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM (SELECT s.id FROM {slot} s JOIN {booking} b ON b.slot_id = s.id "  # noqa: S608
                       f"AND b.status IN {active} GROUP BY s.id, s.capacity HAVING count(*) > s.capacity) x")
        overfull = cursor.fetchone()[0]
        cursor.execute(f"SELECT count(*) FROM (SELECT slot_id, patient_id FROM {booking} "  # noqa: S608
                       f"WHERE status IN {active} GROUP BY slot_id, patient_id HAVING count(*) > 1) x")
        twice = cursor.fetchone()[0]
        cursor.execute(f"SELECT count(*) FROM {slot} s LEFT JOIN (SELECT slot_id, count(*) n FROM {booking} "  # noqa: S608
                       f"WHERE status IN {active} GROUP BY slot_id) b ON b.slot_id = s.id "
                       "WHERE s.booked <> coalesce(b.n, 0)")
        wrong_counter = cursor.fetchone()[0]
        cursor.execute(f"SELECT count(*), count(*) FILTER (WHERE status = 'checked_in') FROM {booking}")  # noqa: S608
        rows, checked_in = cursor.fetchone()
    return {"overfull_slots": overfull, "patient_twice_in_slot": twice, "double_bookings": overfull + twice,
            "slot_counter_mismatches": wrong_counter, "bookings_in_db": rows, "checked_in_in_db": checked_in}


# --- the server ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict, port: int, workers: int, threads: int, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "yilian.cli", "serve", "--bind", f"127.0.0.1:{port}", "--workers",
             str(workers), "--threads", str(threads)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)


def wait_ready(base: str, server: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited at start:\n" + log.read_text(errors="replace")[-2000:])
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not answer /healthz in time")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)  # gunicorn's master (exec'd by `yilian serve`) stops its workers
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)  # its own process group (start_new_session)
        server.wait()


# --- the clients --------------------------------------------------------------------------------------


@dataclass
class Tally:
    book_ms: list[float] = field(default_factory=list)
    checkin_ms: list[float] = field(default_factory=list)
    slots_ms: list[float] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)


CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def log_in(session: requests.Session, base: str, desk: Desk, password: str) -> None:
    """The web flow: the login form (CSRF), then the acting-membership chooser."""
    page = session.get(f"{base}/login/", timeout=30)
    token = CSRF_FIELD.search(page.text).group(1)
    answer = session.post(f"{base}/login/", data={"username": desk.username, "password": password,
                                                  "csrfmiddlewaretoken": token, "next": ""},
                          headers={"Referer": f"{base}/login/"}, timeout=30)
    if not answer.url.rstrip("/").endswith("/acting"):
        raise RuntimeError(f"log-in did not lead to the chooser (status {answer.status_code})")
    if f'value="{desk.membership_id}"' not in answer.text:
        raise RuntimeError("the chooser does not offer the desk's membership")
    token = CSRF_FIELD.search(answer.text).group(1)
    chosen = session.post(f"{base}/acting/", data={"membership": str(desk.membership_id), "next": "/",
                                                   "csrfmiddlewaretoken": token},
                          headers={"Referer": f"{base}/acting/"}, timeout=30)
    if chosen.status_code != 200 or chosen.url.rstrip("/") != base:
        raise RuntimeError(f"choosing the membership failed (status {chosen.status_code})")
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]


def timed(tally_list: list[float], call, *args, **kwargs) -> requests.Response:
    started = time.perf_counter()
    response = call(*args, **kwargs)
    tally_list.append((time.perf_counter() - started) * 1000)
    return response


def run_desk(base: str, desk: Desk, password: str, operations: int, think: float, today: date, seed: int,
             start: threading.Barrier, tally: Tally, close: bool = False) -> None:
    rng = random.Random(seed)
    session = requests.Session()
    if close:  # a connection per request, as behind a proxy without upstream keep-alive
        session.headers["Connection"] = "close"
    api = f"{base}/api/v1/scheduling"
    held: Counter = Counter()  # (patient, department, day) → active bookings: stay under the policy's 20
    in_slot: set = set()  # (patient, slot): a desk does not book a patient twice into one slot
    counts = tally.counts
    try:
        log_in(session, base, desk, password)
    except Exception as exc:  # noqa: BLE001 - reported as a count, the run goes on with the other desks
        counts[f"login_failed:{type(exc).__name__}"] += 1
        start.wait()
        return
    start.wait()
    if think:  # desks with a pause start spread over one pause, not all in the same instant
        time.sleep(rng.uniform(0, think))
    for _ in range(operations):
        department = rng.choice(desk.department_ids)
        days = [0] if rng.random() < TODAY_SHARE else []
        days += rng.sample(range(1, DAYS), 3)
        chosen = None
        for ahead in days:  # today may be full: then a later day
            day = today + timedelta(days=ahead)
            r = timed(tally.slots_ms, session.get, f"{api}/slots", timeout=60, params={
                "institution_id": desk.institution_id, "date": day.isoformat(), "department_id": department})
            counts["requests"] += 1
            if r.status_code != 200:
                counts[f"error:slots:{r.status_code}"] += 1
                continue
            free = r.json()
            if free:
                chosen = (rng.choice(free[:FIRST_FEW]), day, ahead)
                break
            counts["no_free_slot"] += 1
        if chosen is None:
            continue
        slot, day, ahead = chosen
        patients = [p for p in desk.patient_ids if held[(p, department, day)] < 20 and (p, slot["id"]) not in in_slot]
        patient = rng.choice(patients)
        r = timed(tally.book_ms, session.post, f"{api}/bookings", timeout=60,
                  json={"patient_id": patient, "slot_id": slot["id"], "channel": "window"})
        counts["requests"] += 1
        if r.status_code == 201:
            counts["bookings"] += 1
            held[(patient, department, day)] += 1
            in_slot.add((patient, slot["id"]))
            if ahead == 0:
                booking = r.json()["id"]
                c = timed(tally.checkin_ms, session.post, f"{api}/registrations", json={"booking_id": booking},
                          timeout=60)
                counts["requests"] += 1
                if c.status_code == 201:
                    counts["check_ins"] += 1
                else:
                    counts[f"error:checkin:{c.status_code}"] += 1
        elif r.status_code == 422 and [e.get("field") for e in r.json().get("errors", [])] == ["slot_id"]:
            counts["slot_taken"] += 1
        else:
            counts[f"error:book:{r.status_code}"] += 1
        if think:
            time.sleep(rng.expovariate(1 / think))


def run_clients(base: str, desks: list[Desk], password: str, operations: int, think: float, today: date,
                seed: int, close: bool = False) -> tuple[Tally, float]:
    tallies = [Tally() for _ in desks]
    barrier = threading.Barrier(len(desks) + 1)
    threads = [threading.Thread(target=run_desk, args=(base, d, password, operations, think, today, seed + n,
                                                       barrier, tallies[n], close), daemon=True)
               for n, d in enumerate(desks)]
    for t in threads:
        t.start()
    started = time.perf_counter()
    barrier.wait()  # every desk logged in: the clock starts
    login_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    total = Tally()
    for t in tallies:
        total.book_ms += t.book_ms
        total.checkin_ms += t.checkin_ms
        total.slots_ms += t.slots_ms
        total.counts.update(t.counts)
    total.counts["login_ms"] = round(login_seconds * 1000)
    return total, seconds


def quantiles(values: list[float]) -> tuple[str, str]:
    if not values:
        return "nan", "nan"
    values = sorted(values)
    return f"{statistics.median(values):.1f}", f"{values[max(int(len(values) * 0.95) - 1, 0)]:.1f}"


# --- main ---------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 operations per client (default 100)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--operations", type=int, default=None, help="operations per client")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (`yilian serve` default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (`yilian serve` default 4)")
    parser.add_argument("--conn-max-age", type=int, default=None,
                        help="YILIAN_CONN_MAX_AGE for the server (default: unset, the settings default: 60 s on PostgreSQL)")
    parser.add_argument("--think-ms", type=float, default=0.0,
                        help="mean pause of a desk between operations (default 0: back to back)")
    parser.add_argument("--close", action="store_true",
                        help="a new connection per request (default: keep-alive, one connection per desk)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep the database (it is recreated at the next run)")
    args = parser.parse_args()
    operations = args.operations or (5 if args.quick else 100)
    url = args.database_url

    recreate_database(url)
    failed = False
    try:
        with tempfile.TemporaryDirectory(prefix="yilian-bench-booking-") as tmp:
            var, secret = Path(tmp), secrets.token_urlsafe(50)
            setup_django(url, var, secret)
            from django.core.management import call_command
            from django.db import connections
            from django.utils import timezone

            from yilian.testing.factories import PASSWORD

            print(f"size={'custom' if args.operations else 'quick' if args.quick else 'full'}")
            started = time.perf_counter()
            call_command("migrate", verbosity=0, interactive=False)
            print(f"migrate_seconds={time.perf_counter() - started:.2f}", flush=True)
            started = time.perf_counter()
            today = timezone.localdate()
            desks = build(args.clients, today)
            print(f"setup_seconds={time.perf_counter() - started:.2f}", flush=True)
            connections.close_all()

            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = dict(os.environ, DATABASE_URL=url, YILIAN_VAR=str(var), YILIAN_SECRET_KEY=secret,
                       YILIAN_HTTPS="0", YILIAN_DEBUG="0", YILIAN_ALLOWED_HOSTS="127.0.0.1,localhost",
                       YILIAN_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT / "src"))
            env.pop("YILIAN_CONN_MAX_AGE", None)
            if args.conn_max_age is not None:
                env["YILIAN_CONN_MAX_AGE"] = str(args.conn_max_age)
            log = var / "server.log"
            server = start_server(env, port, args.workers, args.threads, log)
            try:
                wait_ready(base, server, log)
                tally, seconds = run_clients(base, desks, PASSWORD, operations, args.think_ms / 1000, today,
                                             args.seed, args.close)
            finally:
                stop_server(server)
            checks = integrity()
            connections.close_all()

        counts = tally.counts
        errors = sum(v for k, v in counts.items() if k.startswith(("error:", "login_failed:")))
        p50, p95 = quantiles(tally.book_ms)
        c50, c95 = quantiles(tally.checkin_ms)
        s50, s95 = quantiles(tally.slots_ms)
        out = {
            "clients": len(desks), "operations_per_client": operations, "server": f"{args.workers}x{args.threads}",
            "conn_max_age": args.conn_max_age if args.conn_max_age is not None else "default",
            "think_ms": f"{args.think_ms:g}", "keepalive": int(not args.close), "login_seconds": f"{counts['login_ms'] / 1000:.2f}",
            "requests": counts["requests"], "bookings": counts["bookings"], "slot_taken": counts["slot_taken"],
            "no_free_slot": counts["no_free_slot"], "check_ins": counts["check_ins"], "errors": errors,
            "seconds": f"{seconds:.2f}", "bookings_per_s": f"{counts['bookings'] / seconds:.1f}",
            "requests_per_s": f"{counts['requests'] / seconds:.1f}",
            "p50_ms": p50, "p95_ms": p95, "checkin_p50_ms": c50, "checkin_p95_ms": c95,
            "slots_p50_ms": s50, "slots_p95_ms": s95,
            **{k: v for k, v in checks.items() if k != "double_bookings"},
            "double_bookings": checks["double_bookings"],
        }
        for key, value in out.items():
            print(f"{key}={value}")
        for key, value in sorted(counts.items()):
            if key.startswith(("error:", "login_failed:")):
                print(f"# {key} {value}")
        failed = bool(checks["double_bookings"] or checks["slot_counter_mismatches"] or errors
                      or checks["bookings_in_db"] != counts["bookings"])
    finally:
        if not args.keep:
            drop_database(url)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
