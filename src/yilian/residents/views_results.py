"""The patient's own results on the residents' pages (issue 6: "patients can see their own results"): the
final and amended reports of the patient records the resident may act for (`login.patients_with`), a
list and one report. Preliminary and cancelled reports are not shown. Audited with the basis `self`."""

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from yilian.access.models import Outcome
from yilian.residents.actions import audit_self
from yilian.residents.login import patients_with
from yilian.residents.session import resident_required
from yilian.results import queries

PER_PAGE = 20


@require_http_methods(["GET"])
@resident_required
def results(request):
    """The family's results, newest first; `?patient=<id>` one of them."""
    family = patients_with(request.resident.phone)
    patients = list(family)
    chosen = next((p for p in patients if str(p.pk) == request.GET.get("patient")), None)
    reports = queries.own_reports(family.filter(pk=chosen.pk) if chosen else family)
    page = Paginator(reports, PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    for row in rows:
        row.summary = queries.summary(row)
    for p in patients:  # every record is named on the page (the choice of whose results)
        audit_self(request.resident, p.pk, "resident_results", p.pk)
    return render(request, "residents/results.html", {
        "patients": patients, "chosen": chosen, "page": page, "rows": rows, "family": len(patients) > 1,
        "query": f"patient={chosen.pk}&" if chosen else ""})


@require_http_methods(["GET"])
@resident_required
def result(request, report_id: int):
    """One report of the family's (404 for any other, preliminary and cancelled ones included)."""
    family = patients_with(request.resident.phone)
    found = queries.own_report(family, report_id)
    if found is None:
        audit_self(request.resident, None, "result_report", report_id, outcome=Outcome.DENIED)
        raise Http404
    audit_self(request.resident, found.patient_id, "result_report", found.pk)
    return render(request, "residents/result.html", {"report": found, "values": found.current,
                                                     "family": family.count() > 1})
