"""Backfill what registration now writes for every new record: the resident ID as an identifier, the
consortium patient number, and a first QR token (就诊一码通). Idempotent (existing rows are kept), in
batches; the formulas are copied here so that later changes to the application code cannot change what
this migration does."""

import secrets

from django.db import migrations

BATCH = 2000


def _mod11_2(digits: str) -> str:
    p = 0
    for d in digits:
        p = ((p + int(d)) * 2) % 11
    return "0123456789X"[(12 - p) % 11]


def _number(pk: int) -> str:
    body = f"{pk:010d}"
    return body + _mod11_2(body)


def backfill(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    Identifier = apps.get_model("patients", "Identifier")
    QrToken = apps.get_model("patients", "QrToken")
    from django.utils import timezone

    now = timezone.now()
    rows = Patient.objects.order_by("pk").values_list("pk", "resident_id", "registered_at__consortium__division_code")
    with_token = set(QrToken.objects.filter(revoked_at__isnull=True).values_list("patient_id", flat=True))
    batch = list(rows[:BATCH])
    last = 0
    while batch:
        idents, tokens = [], []
        for pk, rid, division in batch:
            idents.append(Identifier(patient_id=pk, type="consortium", system=f"YL-{division}", value=_number(pk),
                                     created_at=now))
            if rid:
                idents.append(Identifier(patient_id=pk, type="resident_id", system="GB11643", value=rid,
                                         created_at=now))
            if pk not in with_token:
                tokens.append(QrToken(patient_id=pk, token=secrets.token_urlsafe(18), created_at=now))
        Identifier.objects.bulk_create(idents, ignore_conflicts=True)
        QrToken.objects.bulk_create(tokens, ignore_conflicts=True)
        last = batch[-1][0]
        batch = list(rows.filter(pk__gt=last)[:BATCH])


class Migration(migrations.Migration):

    dependencies = [
        ("patients", "0002_master_patient_index"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
