"""Benchmark: green channels — 200 active cases updated by 50 tablets while 20 screens watch the live board,
against a running server on PostgreSQL.

Creates a PostgreSQL database of its own (dropped at the end; `--keep` keeps it), migrates it and builds,
through the project's factories and actions, the small consortium of `yilian.testing.factories.
make_network`, doctors of the county hospital (one log-in per client), and the active cases: patients
registered at the county hospital and a green channel open for each (chest pain, stroke, trauma, critical
maternal, critical neonatal in turn), so every case on the board is identified and every board refresh
audits the patients it shows. Then starts the real server (`yilian serve`, 2 workers × 4 threads unless
told otherwise) and runs the clients, each a thread with its own HTTP session logged in through the login
form:

- **tablets** (`--tablets`, 50): each owns its share of the cases (4 each) and, operation after operation,
  taps the next node of one of them as the tablet page does — `POST /emergency/cases/<id>/record/` with
  `HX-Request`, answered by the case panel — pausing `--tablet-think-ms` on average between taps;
- **board screens** (`--screens`, 20): each refreshes the board part (`GET /emergency/` with `HX-Request`)
  every `--board-every-ms` on average (the page itself polls every 15 s).

Afterwards it checks in the database that every tap answered 200 left exactly one node value, and that no
case holds two current values of one node. Prints `key=value` lines (counts, seconds, rates, latencies;
never a name or an identifier): tablets, screens, cases, events, event_errors, boards, board_errors,
seconds, events_per_s, event_p50_ms, event_p95_ms, board_p50_ms, board_p95_ms, double_values,
lost_events. Exits 1 on a double value, a lost event or unexpected errors.

    .venv/bin/python benchmarks/green_channel.py --quick      # 50 tablets × 5 taps, under a minute
    .venv/bin/python benchmarks/green_channel.py              # 50 tablets × 40 taps
    .venv/bin/python benchmarks/green_channel.py --tablet-think-ms 0 --board-every-ms 0   # back to back
"""

import argparse
import os
import random
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from booking import (  # noqa: E402 - the booking benchmark's server and database helpers
    ROOT,
    drop_database,
    free_port,
    log_in,
    quantiles,
    recreate_database,
    setup_django,
    start_server,
    stop_server,
    wait_ready,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/yilian_bench_green"
CENTRES = ("chest_pain", "stroke", "trauma", "maternal", "neonatal")
DOCTORS = 10  # log-ins shared by the clients (each client has its own session)


@dataclass
class Login:
    username: str
    membership_id: int


@dataclass
class Tally:
    event_ms: list[float] = field(default_factory=list)
    board_ms: list[float] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    recorded: list[tuple[int, str]] = field(default_factory=list)


def build(cases: int) -> tuple[list[Login], list[tuple[int, str]]]:
    """Doctors of the county hospital and the open cases (id, centre), through the factories and actions."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.test.utils import override_settings

    from yilian.emergency.actions import NewCase, do_open_case
    from yilian.network.roles import Role
    from yilian.testing import factories as f

    net = f.make_network()
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        doctors = [f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county),
                                     username=f"bench-gc-{n:02d}") for n in range(DOCTORS)]
        for d in doctors:  # a second membership, so the log-in goes through the chooser as the web flow does
            f.make_membership(net.township, Role.DOCTOR, staff=d.staff)
        desk = f.make_membership(net.county, Role.REGISTRAR, username="bench-gc-desk")
        opened = []
        for n in range(cases):
            patient = f.register_patient(desk)
            centre = CENTRES[n % len(CENTRES)]
            case = do_open_case(f.actor(doctors[n % DOCTORS]), NewCase(centre=centre, arrival_mode="ems",
                                                                       patient_id=patient.pk))
            opened.append((case.pk, centre))
    get_user_model().objects.filter(username__startswith="bench-gc-").update(password=make_password(f.PASSWORD))
    return [Login(d.staff.user.username, d.pk) for d in doctors], opened


def run_tablet(base: str, login: Login, password: str, cases: list[tuple[int, str]], taps: int, think: float,
               seed: int, start: threading.Barrier, stop: threading.Event, tally: Tally) -> None:
    from yilian.emergency.nodes import nodes_of

    rng = random.Random(seed)
    session = requests.Session()
    try:
        log_in(session, base, login, password)
    except Exception as exc:  # noqa: BLE001 - counted, the run goes on
        tally.counts[f"login_failed:{type(exc).__name__}"] += 1
        start.wait()
        return
    session.headers["HX-Request"] = "true"
    todo = {case_id: [n.code for n in nodes_of(centre)] for case_id, centre in cases}
    start.wait()
    if think:
        time.sleep(rng.uniform(0, think))
    for _ in range(taps):
        open_cases = [c for c, nodes in todo.items() if nodes]
        if not open_cases or stop.is_set():
            break
        case_id = rng.choice(open_cases)
        node = todo[case_id].pop(0)
        started = time.perf_counter()
        r = session.post(f"{base}/emergency/cases/{case_id}/record/", data={"node": node}, timeout=60)
        tally.event_ms.append((time.perf_counter() - started) * 1000)
        if r.status_code == 200 and 'role="alert"' not in r.text:
            tally.counts["events"] += 1
            tally.recorded.append((case_id, node))
        else:
            tally.counts[f"event_error:{r.status_code}"] += 1
        if think:
            time.sleep(rng.expovariate(1 / think))


def run_screen(base: str, login: Login, password: str, every: float, seed: int, start: threading.Barrier,
               stop: threading.Event, tally: Tally) -> None:
    rng = random.Random(seed)
    session = requests.Session()
    try:
        log_in(session, base, login, password)
    except Exception as exc:  # noqa: BLE001
        tally.counts[f"login_failed:{type(exc).__name__}"] += 1
        start.wait()
        return
    session.headers["HX-Request"] = "true"
    start.wait()
    if every:
        time.sleep(rng.uniform(0, every))
    while not stop.is_set():
        started = time.perf_counter()
        r = session.get(f"{base}/emergency/", timeout=60)
        tally.board_ms.append((time.perf_counter() - started) * 1000)
        if r.status_code == 200 and 'data-testid="board"' in r.text:
            tally.counts["boards"] += 1
        else:
            tally.counts[f"board_error:{r.status_code}"] += 1
        if every:
            time.sleep(rng.expovariate(1 / every))


def check(recorded: list[tuple[int, str]]) -> dict[str, int]:
    """Every tap answered 200 left its node; no case holds two current values of one node."""
    from django.db.models import Count

    from yilian.emergency.models import NodeTime

    current = NodeTime.objects.filter(corrected_by__isnull=True)
    doubles = current.values("case_id", "node").annotate(n=Count("id")).filter(n__gt=1).count()
    stored = set(current.values_list("case_id", "node"))
    lost = sum(1 for pair in recorded if pair not in stored)
    return {"double_values": doubles, "lost_events": lost, "values_in_db": current.count()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 taps per tablet (default 40)")
    parser.add_argument("--tablets", type=int, default=50)
    parser.add_argument("--screens", type=int, default=20)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--taps", type=int, default=None, help="taps per tablet")
    parser.add_argument("--tablet-think-ms", type=float, default=2000.0,
                        help="mean pause of a tablet between taps (default 2 s; 0: back to back)")
    parser.add_argument("--board-every-ms", type=float, default=5000.0,
                        help="mean time between a screen's refreshes (default 5 s; the page polls every 15 s)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    taps = args.taps or (5 if args.quick else 40)
    url = args.database_url
    recreate_database(url)
    failed = False
    try:
        with tempfile.TemporaryDirectory(prefix="yilian-bench-green-") as tmp:
            var, secret = Path(tmp), secrets.token_urlsafe(50)
            setup_django(url, var, secret)
            from django.core.management import call_command
            from django.db import connections

            from yilian.testing.factories import PASSWORD

            print(f"size={'custom' if args.taps else 'quick' if args.quick else 'full'}", flush=True)
            started = time.perf_counter()
            call_command("migrate", verbosity=0, interactive=False)
            print(f"migrate_seconds={time.perf_counter() - started:.2f}", flush=True)
            started = time.perf_counter()
            logins, cases = build(args.cases)
            print(f"setup_seconds={time.perf_counter() - started:.2f}", flush=True)
            connections.close_all()

            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = dict(os.environ, DATABASE_URL=url, YILIAN_VAR=str(var), YILIAN_SECRET_KEY=secret, YILIAN_HTTPS="0",
                       YILIAN_DEBUG="0", YILIAN_ALLOWED_HOSTS="127.0.0.1,localhost", YILIAN_LOG_LEVEL="WARNING",
                       PYTHONPATH=str(ROOT / "src"))
            log = var / "server.log"
            server = start_server(env, port, args.workers, args.threads, log)
            try:
                wait_ready(base, server, log)
                tallies = [Tally() for _ in range(args.tablets + args.screens)]
                barrier = threading.Barrier(args.tablets + args.screens + 1)
                stop = threading.Event()
                share = [cases[n::args.tablets] for n in range(args.tablets)]
                tablets = [threading.Thread(target=run_tablet, daemon=True, args=(
                    base, logins[n % len(logins)], PASSWORD, share[n], taps, args.tablet_think_ms / 1000, 7 + n,
                    barrier, stop, tallies[n])) for n in range(args.tablets)]
                screens = [threading.Thread(target=run_screen, daemon=True, args=(
                    base, logins[n % len(logins)], PASSWORD, args.board_every_ms / 1000, 1000 + n, barrier, stop,
                    tallies[args.tablets + n])) for n in range(args.screens)]
                for t in tablets + screens:
                    t.start()
                started = time.perf_counter()
                barrier.wait()
                login_seconds = time.perf_counter() - started
                started = time.perf_counter()
                for t in tablets:
                    t.join()
                seconds = time.perf_counter() - started
                stop.set()
                for t in screens:
                    t.join()
            finally:
                stop_server(server)
            total = Tally()
            for t in tallies:
                total.event_ms += t.event_ms
                total.board_ms += t.board_ms
                total.counts.update(t.counts)
                total.recorded += t.recorded
            checks = check(total.recorded)
            connections.close_all()
        counts = total.counts
        errors = sum(v for k, v in counts.items() if k.startswith(("event_error", "board_error", "login_failed")))
        e50, e95 = quantiles(total.event_ms)
        b50, b95 = quantiles(total.board_ms)
        figures = {
            "tablets": args.tablets, "screens": args.screens, "cases": len(cases), "taps_per_tablet": taps,
            "tablet_think_ms": args.tablet_think_ms, "board_every_ms": args.board_every_ms,
            "server": f"{args.workers}x{args.threads}", "login_seconds": f"{login_seconds:.2f}",
            "events": counts["events"],
            "event_errors": sum(v for k, v in counts.items() if k.startswith("event_error")),
            "boards": counts["boards"],
            "board_errors": sum(v for k, v in counts.items() if k.startswith("board_error")),
            "seconds": f"{seconds:.2f}", "events_per_s": f"{counts['events'] / seconds:.1f}" if seconds else "nan",
            "event_p50_ms": e50, "event_p95_ms": e95, "board_p50_ms": b50, "board_p95_ms": b95, **checks,
        }
        for key, value in figures.items():
            print(f"{key}={value}")
        for key, value in sorted(counts.items()):
            if ":" in key:
                print(f"count_{key.replace(':', '_')}={value}")
        failed = checks["double_values"] > 0 or checks["lost_events"] > 0 or errors > 0
    finally:
        if not args.keep:
            drop_database(url)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
