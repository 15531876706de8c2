"""The auditor's search and CSV export, and the security admin's break-glass review."""

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from yilian.access.models import AuditEvent, BreakGlass
from yilian.access.views import EXPORT_COLUMNS
from yilian.network.roles import Role
from yilian.testing import factories as f
from yilian.testing.checks import LANGUAGES, contains, form_errors, is_english, marked_invalid

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def row(at, *, username="u", institution_id=None, patient_id=None, reason=""):
    return AuditEvent.objects.create(at=at, username=username, institution_id=institution_id, patient_id=patient_id,
                                     object_type="patient", object_id=str(patient_id or ""), action="read",
                                     outcome="success", reason=reason)


@pytest.fixture
def trail(net):
    """Rows around a local-day boundary: 1 March 23:30 and 2 March 00:10 Asia/Shanghai are both 1 March in
    UTC."""
    return {
        "a": row(local(2026, 2, 28, 9, 0), username="li", institution_id=net.county.pk, patient_id=1),
        "b": row(local(2026, 3, 1, 23, 30), username="li", institution_id=net.township.pk, patient_id=2),
        "c": row(local(2026, 3, 1, 23, 59, 59, 999999), username="wang", institution_id=net.county.pk,
                 patient_id=2),
        "d": row(local(2026, 3, 2, 0, 10), username="wang", institution_id=net.county.pk, patient_id=1),
    }


def found(resp) -> set[int]:
    return {e.pk for e in resp.context["page"]}


@pytest.mark.parametrize(("query", "expected"), [
    ({}, "abcd"),
    ({"patient_id": "1"}, "ad"),
    ({"username": "wang"}, "cd"),
    ({"institution": "TOWNSHIP"}, "b"),
    ({"since": "2026-03-02"}, "d"),
    ({"until": "2026-03-01"}, "abc"),
    ({"since": "2026-03-01", "until": "2026-03-01"}, "bc"),
    ({"patient_id": "2", "username": "wang", "institution": "COUNTY", "since": "2026-03-01"}, "c"),
    ({"username": "nobody"}, ""),
])
def test_audit_search_filters(client_as, auditor, trail, net, query, expected):
    query = {k: {"TOWNSHIP": net.township.pk, "COUNTY": net.county.pk}.get(v, v) for k, v in query.items()}
    resp = client_as(auditor).get(reverse("access:audit"), query)
    assert resp.status_code == 200
    assert found(resp) == {trail[k].pk for k in expected}


def test_audit_page_shows_patient_numbers_never_names(client_as, auditor, owner, patient, encounter):
    client_as(owner).get(reverse("patients:detail", args=[patient.pk]))
    resp = client_as(auditor).get(reverse("access:audit"), {"patient_id": patient.pk})
    assert len(found(resp)) >= 3  # registration, encounter, the read
    assert f.leaked(resp.content, patient) == []


AUDIT_BAD = [
    ({"patient_id": "abc"}, "patient_id", "whole number"),
    ({"patient_id": "0"}, "patient_id", "greater than or equal"),
    ({"institution": "999999"}, "institution", "valid choice"),
    ({"since": "2026-02-30"}, "since", "valid date"),
    ({"since": "2026-03-02", "until": "2026-03-01"}, "until", "end date"),
    ({"since": "0001-01-01"}, "since", "greater than or equal"),
    ({"until": "9999-12-31"}, "until", "less than or equal"),
    ({"username": "u" * 151}, "username", "at most 150"),
]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("query", "field", "english"), AUDIT_BAD)
def test_audit_search_bad_input(client_as, auditor, lang, query, field, english):
    client = client_as(auditor, **LANGUAGES[lang])
    before = AuditEvent.objects.count()
    resp = client.get(reverse("access:audit"), query)
    assert resp.status_code == 400
    errors = form_errors(resp)
    assert field in errors
    assert contains(resp, "errorlist")
    assert marked_invalid(resp, field)
    if lang == "en":
        assert english in " ".join(errors[field])
        assert is_english(" ".join(errors[field]))
    export = client.get(reverse("access:audit_export"), query)
    assert export.status_code == 400
    assert AuditEvent.objects.count() == before


def read_csv(resp) -> list[list[str]]:
    body = b"".join(resp.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")  # so that Excel opens it as UTF-8
    return list(csv.reader(io.StringIO(body[1:])))


def test_csv_export(client_as, auditor, trail, net):
    resp = client_as(auditor).get(reverse("access:audit_export"), {"username": "li"})
    assert resp.status_code == 200
    assert resp["Content-Type"] == "text/csv; charset=utf-8"
    assert resp["Content-Disposition"].startswith('attachment; filename="yilian-audit-')
    rows = read_csv(resp)
    assert rows[0] == EXPORT_COLUMNS
    assert [r[EXPORT_COLUMNS.index("username")] for r in rows[1:]] == ["li", "li"]
    b = dict(zip(EXPORT_COLUMNS, rows[1], strict=True))
    assert b["at_utc"] == trail["b"].at.astimezone(UTC).isoformat() == "2026-03-01T15:30:00+00:00"
    assert (b["institution_id"], b["patient_id"], b["action"], b["outcome"]) == (
        str(net.township.pk), "2", "read", "success")


def test_csv_export_of_real_accesses_has_no_patient_data(client_as, auditor, owner, outsider, patient, encounter):
    client_as(owner).get(reverse("patients:detail", args=[patient.pk]))
    client_as(outsider).get(reverse("patients:detail", args=[patient.pk]))
    resp = client_as(auditor).get(reverse("access:audit_export"), {"patient_id": patient.pk})
    rows = [dict(zip(EXPORT_COLUMNS, r, strict=True)) for r in read_csv(resp)[1:]]
    assert {(r["username"], r["outcome"]) for r in rows} >= {("owner", "success"), ("outsider", "denied")}
    body = "\n".join(",".join(r.values()) for r in rows)
    assert f.leaked(body, patient) == []


def test_csv_cells_are_not_formulas(client_as, auditor):
    row(local(2026, 3, 1, 8, 0), reason="=HYPERLINK(\"http://x\",\"click\")")
    row(local(2026, 3, 1, 8, 1), reason="+1")
    row(local(2026, 3, 1, 8, 2), username="@evil")
    rows = read_csv(client_as(auditor).get(reverse("access:audit_export")))
    cells = [c for r in rows[1:] for c in r]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    assert "'=HYPERLINK(\"http://x\",\"click\")" in cells


def test_export_without_filters_is_everything(client_as, auditor, trail):
    assert len(read_csv(client_as(auditor).get(reverse("access:audit_export")))) == 1 + len(trail)


def test_an_export_is_audited_and_holds_the_trail_as_it_was_when_asked(client_as, auditor, trail):
    first = read_csv(client_as(auditor).get(reverse("access:audit_export")))
    second = read_csv(client_as(auditor).get(reverse("access:audit_export")))
    exports = AuditEvent.objects.filter(object_type="audit_trail", action="export")
    assert exports.count() == 2 and {e.username for e in exports} == {"auditor"}
    assert len(second) == len(first) + 1  # the first export's own row, not the second's
    assert [r[EXPORT_COLUMNS.index("object_type")] for r in second].count("audit_trail") == 1


def test_audit_pages(client_as, auditor):
    for i in range(105):
        row(local(2026, 3, 1, 8, 0, i % 60), username=f"u{i}")
    client = client_as(auditor)
    first = client.get(reverse("access:audit"), {"since": "2026-03-01"})
    second = client.get(reverse("access:audit"), {"since": "2026-03-01", "page": 2})
    assert len(first.context["page"]) == 100 and len(second.context["page"]) == 5
    assert contains(first, "?since=2026-03-01&page=2")


# --- break-glass review ----------------------------------------------------------------------------


def test_security_admin_reviews_break_glass(client_as, secadmin, outsider, patient):
    glass = f.break_glass(outsider, patient, reason="急诊抢救")
    client = client_as(secadmin)
    page = client.get(reverse("access:review"))
    assert list(page.context["pending"]) == [glass]
    assert f.leaked(page.content, patient) == []
    resp = client.post(reverse("access:review_one", args=[glass.pk]), {"note": "核实属实"})
    assert resp.status_code == 302
    glass.refresh_from_db()
    assert glass.reviewed_at is not None
    assert (glass.reviewed_by_id, glass.review_note) == (secadmin.staff_id, "核实属实")
    page = client.get(reverse("access:review"))
    assert list(page.context["pending"]) == []
    assert list(page.context["reviewed"]) == [glass]


def test_second_review_is_refused(client_as, secadmin, outsider, patient):
    glass = f.break_glass(outsider, patient)
    client = client_as(secadmin, language="en")
    client.post(reverse("access:review_one", args=[glass.pk]), {"note": "ok"})
    first = BreakGlass.objects.get(pk=glass.pk).reviewed_at
    resp = client.post(reverse("access:review_one", args=[glass.pk]), {"note": "again"}, follow=True)
    assert contains(resp, "already been reviewed")
    glass.refresh_from_db()
    assert (glass.reviewed_at, glass.review_note) == (first, "ok")


def test_review_of_a_missing_record(client_as, secadmin):
    resp = client_as(secadmin, language="en").post(reverse("access:review_one", args=[999]), follow=True)
    assert contains(resp, "No such break-glass record")


@pytest.mark.parametrize("role", [r for r in Role.values if r != Role.SECADMIN])
def test_only_security_admins_review(client_as, net, outsider, patient, role):
    glass = f.break_glass(outsider, patient)
    client = client_as(f.make_membership(net.county, role))
    assert client.get(reverse("access:review")).status_code == 403
    assert client.post(reverse("access:review_one", args=[glass.pk]), {"note": "x"}).status_code == 403
    assert BreakGlass.objects.get(pk=glass.pk).reviewed_at is None


def test_review_needs_post(client_as, secadmin, outsider, patient):
    glass = f.break_glass(outsider, patient)
    assert client_as(secadmin).get(reverse("access:review_one", args=[glass.pk])).status_code == 405



@pytest.mark.parametrize("number", [str(2**63), "9" * 30])
def test_audit_search_for_a_patient_number_beyond_any_row(client_as, auditor, trail, number):
    resp = client_as(auditor).get(reverse("access:audit"), {"patient_id": number})
    assert resp.status_code in (200, 400)
    assert resp.status_code == 400 or found(resp) == set()
