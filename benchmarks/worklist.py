"""Benchmark: a diagnostic centre's worklist with 100,000 open and 5,000,000 closed studies on PostgreSQL, and
study submissions through the action.

Creates a PostgreSQL database of its own (dropped at the end; `--keep` keeps it), migrates it and builds,
through the project's factories and actions, a small consortium (`yilian.testing.factories.make_network`),
the county hospital's four centres (imaging, ECG, pathology, laboratory: `diagnostics.actions.
do_set_up_centre`), a radiologist and a township doctor. Then it bulk-loads with COPY (never the ORM row by
row) the history: patients, one visit each, and the studies (open ones spread over the last week, closed
ones — signed, a few rejected or cancelled — over two years; 60 % imaging, 25 % laboratory, 8 % ECG, 7 %
pathology), each with the grant its submission gives the county hospital (still running for an open study,
ended 30 days after the report for a closed one), as `do_submit` would have written them; ANALYZE.

Measured:
- `worklist_p*_ms`: the reading page's query, `diagnostics.queries.worklist` (open studies of the imaging
  centre, emergency first then the longest waiting, the first 100 whose patient the radiologist may see,
  with patient, requesting institution and reader), run `--reads` times;
- `counts_p95_ms`: the open counts by priority shown above it;
- `page_p95_ms`: the whole worklist page through Django's test client (session, rendering, one audit row per
  patient shown);
- `submit_per_s`: `diagnostics.actions.do_submit` with one small DICOM file each (made with pydicom), for
  patients the township registered and saw through the actions, from `--threads` threads at once, each on its
  own connection (access check, checks, file staged, checked with pydicom and moved into place, study, grant,
  event and audit rows).

Prints `key=value` lines (counts, seconds, rates, latencies; never a name, an ID or a phone).
Targets: worklist p95 ≤ 100 ms, submissions ≥ 100/s on two cores.

    .venv/bin/python benchmarks/worklist.py --quick     # 10,000 open + 500,000 closed, under a minute
    .venv/bin/python benchmarks/worklist.py             # 100,000 open + 5,000,000 closed
    .venv/bin/python benchmarks/worklist.py --open 50000 --closed 2000000
"""

import argparse
import io
import os
import random
import secrets
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/yilian_bench_worklist"
KINDS = (("imaging", 0.60), ("lab", 0.25), ("ecg", 0.08), ("pathology", 0.07))
EXAMS = {"imaging": [("DR-CHEST", "胸部正位片", "DX"), ("CT-HEAD", "头颅CT平扫", "CT"), ("CT-CHEST", "胸部CT平扫", "CT"),
                     ("US-ABD", "腹部超声", "US")],
         "lab": [("LAB-CBC", "血常规", ""), ("LAB-BIOCHEM", "生化全项（肝肾功能、电解质、血糖）", "")],
         "ecg": [("ECG-12", "常规十二导联心电图", "")], "pathology": [("PATH-BIOPSY", "活检组织病理诊断", "")]}
PREFIX = {"imaging": "YX", "ecg": "XD", "pathology": "BL", "lab": "JY"}
CHUNK = 50_000
NULL = "\\N"  # COPY's text format


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
                      YILIAN_STUDIES_DIR=str(var / "studies"), DJANGO_SETTINGS_MODULE="yilian.settings")
    os.environ.setdefault("YILIAN_LOG_LEVEL", "WARNING")
    import django

    django.setup()


# --- the data -----------------------------------------------------------------------------------------


def build():
    """The consortium, the four centres, a radiologist and a township doctor, through factories and actions."""
    from django.test.utils import override_settings

    from yilian.diagnostics.actions import do_set_up_centre
    from yilian.network.acting import SYSTEM
    from yilian.network.roles import Role
    from yilian.testing import factories as f

    net = f.make_network()
    centres = {kind: do_set_up_centre(SYSTEM, institution_id=net.county.pk, kind=kind, name=f"县医院{kind}中心")
               for kind, _share in KINDS}
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        radiologist = f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county),
                                        username="bench-radiologist")
        doctor = f.make_membership(net.township, Role.DOCTOR, department=net.department(net.township),
                                   username="bench-township-doctor")
        desk = f.make_membership(net.township, Role.REGISTRAR, username="bench-township-desk")
        staff = f.make_membership(net.county, Role.DOCTOR, username="bench-reader").staff_id
    return net, centres, radiologist, doctor, desk, staff


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S+00")


def _copy(cursor, table: str, columns: list[str], lines) -> int:
    """COPY text lines into the table, CHUNK lines per write."""
    count = 0
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns))
    with cursor.copy(statement) as copy:
        buffer = io.StringIO()
        for line in lines:
            buffer.write(line)
            count += 1
            if count % CHUNK == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())
    return count


def _drop_indexes(cursor, table: str) -> list[str]:
    """Drop the table's indexes that back no constraint; returns their definitions to create them again
    (one CREATE INDEX after the load is far cheaper than millions of index insertions)."""
    cursor.execute("SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s AND NOT EXISTS ("
                   "SELECT 1 FROM pg_constraint c WHERE c.conindid = "
                   "(quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)", [table])
    rows = cursor.fetchall()
    for name, _definition in rows:
        cursor.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    return [definition for _name, definition in rows]


def bulk_load(net, centres, reader_id: int, requester_id: int, n_open: int, n_closed: int, n_patients: int,
              seed: int) -> dict:
    """Patients, a visit each, the studies and their grants, with COPY; returns counts and seconds."""
    from django.db import connection

    from yilian.access.models import Grant
    from yilian.care.models import Encounter
    from yilian.diagnostics.models import Study
    from yilian.patients.models import Patient

    now = datetime.now(UTC)
    township, village = net.township.pk, net.village.pk
    departments = {township: net.department(net.township).pk, village: net.department(net.village).pk}
    county = net.county.pk
    out = {}
    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # the psycopg cursor under Django's wrapper, for COPY
        # A bulk load of rows generated consistent: skip the per-row foreign-key triggers (PostgreSQL queues
        # one deferred check per row per key, which is most of the load time). Needs a superuser; the
        # measured operations below run with every trigger in place.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("SELECT coalesce(max(id), 0) FROM " + Patient._meta.db_table)  # noqa: S608
        first_patient = cursor.fetchone()[0] + 1
        started = time.perf_counter()
        patients = range(first_patient, first_patient + n_patients)
        home = {p: (township if p % 3 else village) for p in patients}
        _copy(cursor, Patient._meta.db_table,
              ["id", "name", "sex", "birth_date", "resident_id", "phone", "address", "registered_at_id", "created_at"],
              (f"{p}\t患者{p}\t{1 + p % 2}\t{1940 + p % 70}-{1 + p % 12:02d}-{1 + p % 28:02d}\t\\N\t\t\t{home[p]}\t"
               f"{_ts(now)}\n" for p in patients))
        _copy(cursor, Encounter._meta.db_table,
              ["id", "patient_id", "institution_id", "department_id", "klass", "start", "created_at"],
              (f"{p}\t{p}\t{home[p]}\t{departments[home[p]]}\toutpatient\t{_ts(now - timedelta(days=800))}\t{_ts(now)}\n"
               for p in patients))
        out["patients_seconds"] = time.perf_counter() - started

        kinds = [k for k, _ in KINDS]
        weights = [w for _, w in KINDS]
        total = n_open + n_closed

        def studies():
            """The same rows each time it is called (its own generator from the seed): once for the grants,
            once for the studies, without holding millions of rows in memory."""
            rng = random.Random(seed)
            for i in range(1, total + 1):
                kind = rng.choices(kinds, weights)[0]
                code, name, modality = rng.choice(EXAMS[kind])
                patient = first_patient + rng.randrange(n_patients)
                requester = home[patient]
                if i <= n_open:
                    submitted = now - timedelta(seconds=rng.randrange(7 * 86400))
                    status = "reading" if rng.random() < 0.15 else "submitted"
                    priority = rng.choices((1, 2, 3), (0.05, 0.20, 0.75))[0]
                    signed, closed = None, None
                    valid_to = now + timedelta(days=3650)
                else:
                    submitted = now - timedelta(days=7) - timedelta(seconds=rng.randrange(730 * 86400))
                    roll = rng.random()
                    status = "signed" if roll < 0.97 else "rejected" if roll < 0.99 else "cancelled"
                    priority = rng.choices((1, 2, 3), (0.05, 0.20, 0.75))[0]
                    if status == "signed":
                        signed, closed = submitted + timedelta(minutes=rng.randrange(10, 600)), None
                        valid_to = signed + timedelta(days=30)
                    else:
                        signed, closed = None, submitted + timedelta(minutes=rng.randrange(5, 300))
                        valid_to = closed
                reader = str(reader_id) if status in ("reading", "signed") else NULL
                uid = f"1.2.826.0.1.3680043.10.543.{i}" if kind == "imaging" else ""
                specimen = kind in ("lab", "pathology")
                yield (i, kind, code, name, modality, priority, patient, requester, status, submitted, signed, closed,
                       reader, uid, specimen, valid_to)

        dropped = _drop_indexes(cursor, Grant._meta.db_table) + _drop_indexes(cursor, Study._meta.db_table)
        started = time.perf_counter()
        grant_columns = ["id", "patient_id", "kind", "scope", "to_institution_id", "valid_from", "valid_to", "reason",
                         "source_type", "source_id", "created_at"]
        study_columns = ["id", "kind", "centre_id", "exam_type", "exam_name", "priority", "patient_id",
                         "requesting_institution_id", "requesting_department_id", "requesting_staff_id", "encounter_id",
                         "clinical_info", "status", "submitted_at", "reader_id", "claimed_at", "signed_at", "closed_at",
                         "close_reason", "study_uid", "modality", "body_part", "study_date", "image_count",
                         "specimen_barcode", "specimen_type", "specimen_site", "specimen_count", "collected_at",
                         "received_at", "metadata"]
        _copy(cursor, Grant._meta.db_table, grant_columns, (
            f"{r[0]}\t{r[6]}\tdiagnostic\tall\t{county}\t{_ts(r[9])}\t{_ts(r[15])}\t{PREFIX[r[1]]}{r[0]:08d}\t"
            f"study\t{r[0]}\t{_ts(r[9])}\n" for r in studies()))
        out["grants_seconds"] = time.perf_counter() - started
        started = time.perf_counter()

        def study_line(r) -> str:
            (i, kind, code, name, modality, priority, patient, requester, status, submitted, signed, closed, reader,
             uid, specimen, _valid_to) = r
            claimed = _ts(submitted + timedelta(minutes=3)) if reader != NULL else NULL
            return (f"{i}\t{kind}\t{centres[kind].pk}\t{code}\t{name}\t{priority}\t"
                    f"{patient}\t{requester}\t{departments[requester]}\t{requester_id}\t{patient}\t\t{status}\t"
                    f"{_ts(submitted)}\t{reader}\t{claimed}\t{_ts(signed) if signed else NULL}\t"
                    f"{_ts(closed) if closed else NULL}\t{'标本溶血' if status == 'rejected' else ''}\t"
                    f"{uid}\t{modality}\t{'HEAD' if code == 'CT-HEAD' else ''}\t{submitted:%Y-%m-%d}\t"
                    f"{1 if kind == 'imaging' else 0}\t{'B' + str(i) if specimen else ''}\t{'血清' if specimen else ''}"
                    f"\t\t{1 if specimen else 0}\t{_ts(submitted) if specimen else NULL}\t"
                    f"{_ts(submitted + timedelta(minutes=40)) if specimen and status != 'submitted' else NULL}"
                    "\t{}\n")

        _copy(cursor, Study._meta.db_table, study_columns, (study_line(r) for r in studies()))
        out["studies_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        cursor.execute("SET maintenance_work_mem = '1GB'")
        for definition in dropped:
            cursor.execute(definition)
        out["index_seconds"] = time.perf_counter() - started
        for model in (Patient, Encounter, Grant, Study):
            table = model._meta.db_table
            cursor.execute(sql.SQL("SELECT setval(pg_get_serial_sequence({}, 'id'), (SELECT max(id) FROM {}))").format(
                sql.Literal(table), sql.Identifier(table)))
        cursor.execute("SET session_replication_role = DEFAULT")
        started = time.perf_counter()
        for model in (Patient, Encounter, Grant, Study):
            cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(model._meta.db_table)))
        out["analyze_seconds"] = time.perf_counter() - started
    return out


# --- the measurements ---------------------------------------------------------------------------------


def quantile(values: list[float], q: float) -> str:
    if not values:
        return "nan"
    values = sorted(values)
    return f"{values[max(int(round(len(values) * q)) - 1, 0)]:.1f}"


def measure_worklist(radiologist, centre, reads: int) -> dict:
    from django.db import connection
    from django.test import Client

    from yilian.diagnostics.queries import worklist, worklist_counts
    from yilian.network.acting import SESSION_KEY, actor_for_membership

    actor = actor_for_membership(radiologist)
    worklist(actor, centre)  # warm the cache as a page that is open all day is
    query_ms, counts_ms = [], []
    for _ in range(reads):
        started = time.perf_counter()
        rows = worklist(actor, centre)
        query_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        worklist_counts(centre)
        counts_ms.append((time.perf_counter() - started) * 1000)
    client = Client()
    client.force_login(radiologist.staff.user)
    session = client.session
    session[SESSION_KEY] = radiologist.pk
    session.save()
    page_ms = []
    for _ in range(max(reads // 4, 5)):
        started = time.perf_counter()
        response = client.get(f"/diagnostics/centres/{centre.pk}/")
        page_ms.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FILTER (WHERE status IN ('submitted', 'reading')), count(*) "
                       "FROM diagnostics_study")
        open_rows, all_rows = cursor.fetchone()
    return {"worklist_rows": len(rows), "studies_open": open_rows, "studies_closed": all_rows - open_rows,
            "worklist_p50_ms": quantile(query_ms, 0.5), "worklist_p95_ms": quantile(query_ms, 0.95),
            "counts_p95_ms": quantile(counts_ms, 0.95), "page_p50_ms": quantile(page_ms, 0.5),
            "page_p95_ms": quantile(page_ms, 0.95)}


def dicom_file(study_uid: str) -> bytes:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    sop = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = "1.2.840.10008.5.1.4.1.1.1.1", sop
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID, ds.StudyInstanceUID = meta.MediaStorageSOPClassUID, sop, study_uid
    ds.SeriesInstanceUID, ds.Modality, ds.BodyPartExamined, ds.StudyDate = generate_uid(), "DX", "CHEST", "20261120"
    ds.Rows = ds.Columns = 8
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PixelData = 1, "MONOCHROME2", bytes(128)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def measure_submit(net, centre, doctor, desk, submissions: int, threads: int, patients: int) -> dict:
    """Patients registered and seen at the township through the actions, then `do_submit` from `threads`
    threads at once."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connections
    from pydicom.uid import generate_uid

    from yilian.diagnostics.actions import NewStudy, do_submit
    from yilian.diagnostics.models import Study
    from yilian.testing import factories as f

    visits = []
    for _ in range(patients):
        patient = f.register_patient(desk)
        visits.append((patient.pk, f.open_encounter(doctor, patient).pk))
    actor = f.actor(doctor)
    files = [dicom_file(generate_uid()) for _ in range(submissions)]
    errors: list[str] = []
    barrier = threading.Barrier(threads + 1)

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(n, submissions, threads):
                patient_id, encounter_id = visits[i % len(visits)]
                data = NewStudy(patient_id=patient_id, centre_id=centre.pk, exam_type="DR-CHEST",
                                encounter_id=encounter_id, priority=3, clinical_info="咳嗽一周")
                do_submit(actor, data, [SimpleUploadedFile(f"IM{i}.dcm", files[i], "application/dicom")])
        except Exception as exc:  # counted and reported: the run goes on
            errors.append(type(exc).__name__)
        finally:
            connections.close_all()

    before = Study.objects.count()
    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in pool:
        t.join()
    seconds = time.perf_counter() - started
    made = Study.objects.count() - before
    return {"submissions": made, "submit_threads": threads, "submit_seconds": f"{seconds:.2f}",
            "submit_per_s": f"{made / seconds:.1f}", "submit_errors": len(errors)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the studies or less: under a minute")
    parser.add_argument("--open", type=int, default=None, help="open studies (default 100,000; quick 10,000)")
    parser.add_argument("--closed", type=int, default=None, help="closed studies (default 5,000,000; quick 500,000)")
    parser.add_argument("--patients", type=int, default=None, help="patients (default 200,000; quick 20,000)")
    parser.add_argument("--reads", type=int, default=None, help="worklist queries timed (default 200; quick 50)")
    parser.add_argument("--submissions", type=int, default=None, help="studies submitted (default 2,000; quick 300)")
    parser.add_argument("--threads", type=int, default=4, help="submitting threads (default 4)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep the database (it is recreated at the next run)")
    args = parser.parse_args()
    n_open = args.open if args.open is not None else 10_000 if args.quick else 100_000
    n_closed = args.closed if args.closed is not None else 500_000 if args.quick else 5_000_000
    n_patients = args.patients or (20_000 if args.quick else 200_000)
    reads = args.reads or (50 if args.quick else 200)
    submissions = args.submissions or (300 if args.quick else 2_000)
    url = args.database_url

    recreate_database(url)
    try:
        with tempfile.TemporaryDirectory(prefix="yilian-bench-worklist-") as tmp:
            setup_django(url, Path(tmp))
            from django.core.management import call_command
            from django.db import connections

            custom = args.open is not None or args.closed is not None
            print(f"size={'custom' if custom else 'quick' if args.quick else 'full'}")
            started = time.perf_counter()
            call_command("migrate", verbosity=0, interactive=False)
            print(f"migrate_seconds={time.perf_counter() - started:.2f}", flush=True)
            net, centres, radiologist, doctor, desk, reader = build()
            started = time.perf_counter()
            loaded = bulk_load(net, centres, reader, doctor.staff_id, n_open, n_closed, n_patients, args.seed)
            print(f"load_seconds={time.perf_counter() - started:.2f}", flush=True)
            for key, value in loaded.items():
                print(f"{key}={value:.2f}", flush=True)
            for key, value in measure_worklist(radiologist, centres["imaging"], reads).items():
                print(f"{key}={value}", flush=True)
            for key, value in measure_submit(net, centres["imaging"], doctor, desk, submissions, args.threads,
                                             patients=min(200, submissions)).items():
                print(f"{key}={value}", flush=True)
            connections.close_all()
    finally:
        if not args.keep:
            drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
