"""Benchmark: HL7 v2 ORU^R01 ingest over MLLP on loopback, from several connections at once.

Creates a database of its own (PostgreSQL: dropped at the end, `--keep` keeps it; SQLite: a temporary file),
migrates it and builds, through the project's factories and actions, a small consortium
(`yilian.testing.factories.make_network`), the township centre's LIS as a `Sender` (`interop.senders`) and
`--patients` patients registered at the township (`patients.actions.do_register_patients`). Then it starts
the real listener (`yilian hl7 listen`, a separate command, as an operator runs it: by default one listener
process per core on one port with SO_REUSEPORT, `--processes N` sets N) and sends `--messages` ORU^R01
messages written by `interop.compose` — one report each, 5–20 OBX drawn from the catalogue's lab items
(LOINC-coded, values around the reference interval), the patient by resident ID — from `--connections`
connections at once (`interop.client.exchange`: each sends a message and waits for its ACK before the next,
as a LIS does). Afterwards it counts, straight from the
database, what was stored for the messages that were sent.

Prints `key=value` lines (counts, seconds, rates, latencies; never a name, an ID or a phone):
messages, msg_per_s, ack_p50_ms, ack_p99_ms, lost (sent but not stored, or stored without its report or all
its values), duplicated (a message, report or value stored twice), not_aa (ACKs other than AA), the
settings and `layout` (processes × workers per process), listener_cpu_ms_per_msg (the listener processes' CPU
per message), postgres_cpu_ms_per_msg (the PostgreSQL server processes serving the listeners, when the server
is on this machine; the sampling thread's own CPU counts as client), client_cpu_ms_per_msg (this script's sending), python_loop_ms (this machine's
plain-Python speed: `sum(range(10**6))`, 10–15 ms on a recent desktop CPU) and the load average, since the
figures are only comparable between machines and runs with those. Exits 1 when lost, duplicated or not_aa is not 0.
Targets on two cores: ≥ 200 msg/s (stretch 500), ACK p99 ≤ 100 ms (stretch 50), lost = duplicated = 0.

    .venv/bin/python benchmarks/hl7_ingest.py --quick          # 1,000 messages, under a minute
    .venv/bin/python benchmarks/hl7_ingest.py                  # 10,000 messages
    .venv/bin/python benchmarks/hl7_ingest.py --connections 16 --workers 8 --processes 2
    .venv/bin/python benchmarks/hl7_ingest.py --processes 1 --workers 4   # one process: one core at most
    DATABASE_URL=postgres://postgres@db:5432/x .venv/bin/python benchmarks/hl7_ingest.py   # that server
"""

import argparse
import asyncio
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/yilian_bench_hl7"
APPLICATION, FACILITY = "TW-LIS", "T-W01"


# --- the database -------------------------------------------------------------------------------------


def database_url(given: str | None) -> str:
    """--database-url, else BENCH_DATABASE_URL, else DATABASE_URL's server with a database of our own."""
    url = given or os.environ.get("BENCH_DATABASE_URL")
    if url:
        return url
    env = os.environ.get("DATABASE_URL", "")
    if env.startswith(("postgres://", "postgresql://")):
        return urlunsplit(urlsplit(env)._replace(path="/yilian_bench_hl7"))
    if env.startswith("sqlite"):
        return "sqlite"
    return DEFAULT_DATABASE_URL


def _admin(url: str):
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    return psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True), sql, name


def recreate_database(url: str) -> None:
    conn, sql, name = _admin(url)
    with conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str) -> None:
    conn, sql, name = _admin(url)
    with conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def environment(url: str, var: Path) -> dict:
    env = dict(os.environ, YILIAN_VAR=str(var), YILIAN_SECRET_KEY=secrets.token_urlsafe(50),
               YILIAN_LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="yilian.settings",
               PYTHONPATH=str(ROOT / "src"))
    env.pop("DATABASE_URL", None)
    if url != "sqlite":
        env["DATABASE_URL"] = url
    return env


# --- the data -----------------------------------------------------------------------------------------


def build(patients: int):
    """The consortium, the township LIS as a sender, the patients; returns their resident IDs."""
    from django.test.utils import override_settings

    from yilian.interop.senders import NewSender, do_register_sender
    from yilian.network.acting import SYSTEM
    from yilian.network.roles import Role
    from yilian.patients.actions import do_register_patients
    from yilian.testing import factories as f

    net = f.make_network()
    do_register_sender(SYSTEM, NewSender("TW-LIS", "城关卫生院检验系统", net.township.pk, hl7_application=APPLICATION,
                                         hl7_facility=FACILITY))
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        desk = f.make_membership(net.township, Role.REGISTRAR, username="bench-hl7-desk")
    people = []
    for start in range(0, patients, 500):
        people += do_register_patients(f.actor(desk), [f.new_patient() for _ in range(min(500, patients - start))])
    return [p.resident_id for p in people]


def messages(resident_ids: list[str], count: int, seed: int, prefix: str) -> list[tuple[str, str, int]]:
    """(control ID, text, number of OBX) for `count` ORU^R01 messages of one report with 5–20 values."""
    from django.utils import timezone

    from yilian.interop import compose
    from yilian.results import catalogue

    rng = random.Random(seed)
    items = [i for i in catalogue.items().values() if i.loinc]
    now = timezone.now()
    out = []
    for n in range(count):
        chosen = rng.sample(items, rng.randint(5, 20))
        values = []
        for item in chosen:
            band = next((i for i in item.intervals if i.low is not None and i.high is not None), None)
            value = f"{rng.uniform(float(band.low) * 0.8, float(band.high) * 1.2):.2f}" if band else "阴性"
            values.append(compose.Value(item.code, item.name, value, item.unit, loinc=item.loinc,
                                        kind="NM" if band else "ST"))
        at = now - timedelta(minutes=rng.randint(30, 600))
        result = compose.Result(f"{prefix}F{n:07d}", chosen[0].panel, catalogue.panels()[chosen[0].panel].name, at,
                                at + timedelta(minutes=45), values=values)
        who = compose.Person([("NNCHN", rng.choice(resident_ids), "")])
        control_id = f"{prefix}{n:07d}"
        out.append((control_id, compose.oru_r01(APPLICATION, FACILITY, control_id, who, [result], now), len(values)))
    return out


# --- the listener -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_listeners(env: dict, port: int, processes: int | None, workers: int, log: Path) -> list[subprocess.Popen]:
    """`yilian hl7 listen` as an operator runs it: one command, `--processes` listener processes under it."""
    command = [sys.executable, "-m", "yilian.cli", "hl7", "listen", "--port", str(port), "--workers", str(workers)]
    if processes is not None:
        command += ["--processes", str(processes)]
    with log.open("ab") as out:
        procs = [subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise SystemExit(f"the listener exited; see {log}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            time.sleep(1.0)  # the other processes bind too
            return procs
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the listener did not start")


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def listener_pids(procs: list[subprocess.Popen]) -> list[int]:
    """The command's processes: itself and the listener processes it started."""
    return [pid for p in procs for pid in (p.pid, *_children(p.pid))]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU the listener processes used so far (Linux /proc; 0 elsewhere)."""
    return sum(pid_cpu_seconds(pids).values())


class ServerCpu:
    """CPU of the PostgreSQL server processes serving the benchmark's database (the listeners' connections,
    which are renewed every CONN_MAX_AGE): sampled twice a second from /proc, each process counted from when
    it was first seen (a process born during the run from 0). Only when the server runs on this machine."""

    def __init__(self, url: str):
        import threading

        import psycopg

        self._conn = psycopg.connect(url, autocommit=True)
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._sample(first=True)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self, first: bool = False) -> None:
        pids = [pid for (pid,) in self._conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
        for pid, cpu in pid_cpu_seconds(pids).items():
            self._first.setdefault(pid, cpu if first else 0.0)
            self._last[pid] = cpu

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self._sample()

    def stop(self) -> float | None:
        """Seconds of CPU used since the start (None when no process could be read: another machine)."""
        self._stop.set()
        self._thread.join()
        self._sample()
        self._conn.close()
        if not self._last:
            return None
        return sum(self._last[pid] - self._first[pid] for pid in self._last)


def pid_cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU of processes of this machine (those gone or elsewhere are left out)."""
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def calibration_ms() -> float:
    """This machine's speed at plain Python: the best of five `sum(range(10**6))`, in ms (a recent
    desktop CPU: 10–15 ms)."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        sum(range(10**6))
        best = min(best, time.perf_counter() - started)
    return best * 1000


def stop_listeners(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()


# --- the run ------------------------------------------------------------------------------------------


def send_all(port: int, batch: list[tuple[str, str, int]], connections: int) -> tuple[list, float]:
    """[(control ID, ACK text, seconds)] and the wall time, `connections` connections at once."""
    from yilian.interop.client import exchange

    chunks = [batch[i::connections] for i in range(connections)]

    async def run():
        replies = await asyncio.gather(*[exchange("127.0.0.1", port, [t for _c, t, _n in chunk]) for chunk in chunks])
        return [(c, ack, s) for chunk, got in zip(chunks, replies, strict=True)
                for (c, _t, _n), (ack, s) in zip(chunk, got, strict=True)]

    started = time.perf_counter()
    out = asyncio.run(run())
    return out, time.perf_counter() - started


def integrity(sent: list[tuple[str, str, int]]) -> dict:
    """lost and duplicated, counted in the database for the messages sent."""
    from django.db.models import Count, Sum

    from yilian.interop.models import Message
    from yilian.results.models import Observation, Report

    ids = {c for c, _t, _n in sent}
    stored = dict(Message.objects.filter(sending_application=APPLICATION, control_id__in=ids)
                  .values_list("control_id", "pk"))
    reports = dict(Report.objects.filter(message_id__in=stored.values()).values("message_id")
                   .annotate(n=Count("pk"), v=Sum("version")).values_list("message_id", "n"))
    versions = Report.objects.filter(message_id__in=stored.values(), version__gt=1).count()
    values = dict(Observation.objects.filter(report__message_id__in=stored.values()).values("report__message_id")
                  .annotate(n=Count("pk")).values_list("report__message_id", "n"))
    lost = duplicated = 0
    for control_id, _text, obx in sent:
        pk = stored.get(control_id)
        if pk is None or reports.get(pk, 0) == 0 or values.get(pk, 0) < obx:
            lost += 1
        elif reports[pk] > 1 or values[pk] > obx:
            duplicated += 1
    return {"lost": lost, "duplicated": duplicated + versions, "messages_stored": len(stored)}


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(p / 100 * len(values))) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 messages (default 10,000)")
    parser.add_argument("--messages", type=int, default=None)
    parser.add_argument("--connections", type=int, default=8, help="MLLP connections at once (default 8)")
    parser.add_argument("--workers", type=int, default=3, help="database threads per listener process (default 3)")
    parser.add_argument("--processes", type=int, default=None,
                        help="listener processes (default: the command's, one per core)")
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--database-url", default=None, help="default: BENCH_DATABASE_URL, DATABASE_URL's server "
                                                             "with database yilian_bench_hl7, or local PostgreSQL")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    args = parser.parse_args()
    count = args.messages or (1000 if args.quick else 10_000)
    url = database_url(args.database_url)
    postgres = url != "sqlite"
    if postgres:
        recreate_database(url)
    failed = True
    try:
        with tempfile.TemporaryDirectory(prefix="yilian-bench-hl7-") as tmp:
            var = Path(tmp)
            env = environment(url, var)
            os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
            if not postgres:
                os.environ.pop("DATABASE_URL", None)
            import django

            django.setup()
            from django.core.management import call_command
            from django.db import connection, connections

            print(f"database={connection.vendor}")
            started = time.perf_counter()
            call_command("migrate", verbosity=0, interactive=False)
            print(f"migrate_seconds={time.perf_counter() - started:.2f}", flush=True)
            started = time.perf_counter()
            resident_ids = build(args.patients)
            warmup = messages(resident_ids, 50, args.seed + 1, "W")
            batch = messages(resident_ids, count, args.seed, "B")
            print(f"setup_seconds={time.perf_counter() - started:.2f}", flush=True)
            connections.close_all()

            port = free_port()
            procs = start_listeners(env, port, args.processes, args.workers, var / "listener.log")
            try:
                send_all(port, warmup, args.connections)
                pids = listener_pids(procs)
                server = ServerCpu(url) if postgres else None
                cpu_before, client_before = cpu_seconds(pids), time.process_time()
                replies, seconds = send_all(port, batch, args.connections)
                listener_cpu, client_cpu = cpu_seconds(pids) - cpu_before, time.process_time() - client_before
                server_cpu = server.stop() if server is not None else None
            finally:
                stop_listeners(procs)
            checks = integrity(batch + warmup)
            connections.close_all()

        latencies = [s * 1000 for _c, _a, s in replies]
        not_aa = sum(1 for _c, ack, _s in replies if "\rMSA|AA|" not in ack)
        out = {
            "messages": len(replies), "connections": args.connections, "workers": args.workers,
            "processes": len(pids) - 1 or 1, "layout": f"{len(pids) - 1 or 1}x{args.workers}", "obx_per_message": f"{sum(n for _c, _t, n in batch) / len(batch):.1f}",
            "cpus": os.cpu_count(), "seconds": f"{seconds:.2f}", "msg_per_s": f"{len(replies) / seconds:.1f}",
            "ack_p50_ms": f"{percentile(latencies, 50):.1f}", "ack_p99_ms": f"{percentile(latencies, 99):.1f}",
            "ack_max_ms": f"{max(latencies):.1f}", "not_aa": not_aa, **checks,
            "listener_cpu_ms_per_msg": f"{listener_cpu / len(replies) * 1000:.1f}",
            "postgres_cpu_ms_per_msg": "n/a" if server_cpu is None else f"{server_cpu / len(replies) * 1000:.1f}",
            "client_cpu_ms_per_msg": f"{client_cpu / len(replies) * 1000:.1f}",
            "python_loop_ms": f"{calibration_ms():.1f}", "load_average": f"{os.getloadavg()[0]:.2f}",
        }
        for key, value in out.items():
            print(f"{key}={value}")
        failed = bool(checks["lost"] or checks["duplicated"] or not_aa)
    finally:
        if postgres and not args.keep:
            drop_database(url)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
