"""Benchmark: build the demo consortium and time the foundation's hot paths on it.

Prints `key=value` lines. `--quick` builds a reduced demo (1,000 residents, 1 month) in well under a minute;
the full size is the default demo (`yilian demo` defaults). Record full-size figures in
docs/performance.md.

    .venv/bin/python benchmarks/demo.py [--quick] [--seed 2026]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(var: Path, *args: str) -> float:
    env = dict(os.environ, YILIAN_VAR=str(var), DJANGO_SETTINGS_MODULE="yilian.settings")
    env.pop("DATABASE_URL", None)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "yilian.cli", *args], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure_in_process(var: Path, reads: int) -> dict[str, str]:
    os.environ["YILIAN_VAR"] = str(var)
    os.environ.setdefault("YILIAN_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yilian.settings")
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.test import Client

    from yilian.access.models import AuditEvent
    from yilian.analytics.dashboard import default_scope, kpis, trend_chart, visits_chart
    from yilian.care.models import ChargeItem, Encounter
    from yilian.network.acting import SESSION_KEY, actor_for_membership
    from yilian.network.models import Institution, Membership, Staff
    from yilian.patients.models import Patient
    from yilian.patients.queries import access_patient

    out = {
        "institutions": str(Institution.objects.count()),
        "staff": str(Staff.objects.count()),
        "patients": str(Patient.objects.count()),
        "encounters": str(Encounter.objects.count()),
        "charge_items": str(ChargeItem.objects.count()),
        "audit_rows": str(AuditEvent.objects.count()),
    }
    scope = default_scope()
    started = time.perf_counter()
    kpis(scope), visits_chart(scope), trend_chart(scope)
    out["dashboard_compute_seconds"] = f"{time.perf_counter() - started:.3f}"

    doctor = Membership.objects.filter(role="doctor", institution__kind="general_2").select_related(
        "staff__user", "institution").first()
    actor = actor_for_membership(doctor)
    ids = list(Encounter.objects.filter(institution=doctor.institution).values_list("patient_id", flat=True)
               .distinct()[:reads])
    timings = []
    for pid in ids:
        t = time.perf_counter()
        access_patient(actor, pid)
        timings.append((time.perf_counter() - t) * 1000)
    out["access_patient_reads"] = str(len(timings))
    out["access_patient_ms_median"] = f"{statistics.median(timings):.2f}" if timings else "nan"
    out["access_patient_ms_p95"] = (f"{statistics.quantiles(timings, n=20)[-1]:.2f}" if len(timings) >= 20
                                    else "nan")

    client = Client()
    client.force_login(doctor.staff.user)
    session = client.session
    session[SESSION_KEY] = doctor.pk
    session.save()
    started = time.perf_counter()
    response = client.get("/indicators/")
    out["dashboard_page_seconds"] = f"{time.perf_counter() - started:.3f}"
    out["dashboard_page_status"] = str(response.status_code)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced size: 1,000 residents, 1 month")
    parser.add_argument("--seed", default="2026")
    args = parser.parse_args()
    size = ["--residents", "1000", "--months", "1"] if args.quick else []
    with tempfile.TemporaryDirectory(prefix="yilian-bench-") as tmp:
        var = Path(tmp)
        print(f"size={'quick' if args.quick else 'full'}")
        print(f"migrate_seconds={run(var, 'migrate', '--noinput', '-v0'):.2f}")
        print(f"demo_build_seconds={run(var, 'demo', '--reset', '--seed', args.seed, *size):.2f}", flush=True)
        for key, value in measure_in_process(var, reads=50 if args.quick else 200).items():
            print(f"{key}={value}")
        size_bytes = sum(p.stat().st_size for p in var.glob("yilian.sqlite3*"))
        print(f"sqlite_megabytes={size_bytes / 1e6:.1f}")


if __name__ == "__main__":
    main()
