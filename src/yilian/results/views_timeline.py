"""The patient's results across the consortium (issue 6, part 6): the timeline of every report from every
member, one report with its history of corrections, and the trend of an item. Patients are reached
through `access.gate` (one audit row per page); the reads are `results.queries`."""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from yilian.access.gate import access_object
from yilian.network.acting import requires
from yilian.network.roles import Cap
from yilian.patients.queries import MergedRecord, access_current
from yilian.results import queries
from yilian.results.models import Report


class FilterForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), required=False, choices=[
        ("", gettext_lazy("Lab and exams")), ("lab", gettext_lazy("Lab tests")), ("exam", gettext_lazy("Exams"))])
    item = forms.ChoiceField(label=gettext_lazy("Item"), required=False)

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [("", _("All items")), *items]


def _patient(request, patient_id: int, object_type: str, name: str, **kwargs):
    """(patient, None), or (None, a redirect to the survivor) when the id names a merged record."""
    try:
        return access_current(request.actor, patient_id, object_type=object_type), None
    except MergedRecord as merged:
        messages.info(request, _("Record #%(old)s was merged into record #%(new)s; showing that record.")
                      % {"old": merged.requested, "new": merged.survivor_id})
        return None, redirect(name, patient_id=merged.survivor_id, **kwargs)


def chart_labels() -> dict[str, str]:
    """The words the chart script shows (it holds none of its own)."""
    return {"reference": _("Reference interval"), "source": _("Source institution"),
            "critical": _("Critical value"), "preliminary": _("Preliminary")}


def _report_url(report_id: int) -> str:
    return reverse("results:report", args=[report_id])


@require_http_methods(["GET"])
@requires(Cap.CLINICAL)
def timeline(request, patient_id: int):
    """Every report of the patient from every member, newest first, by day; filtered by kind and item;
    the items with repeated values drawn as trends."""
    patient, moved = _patient(request, patient_id, "result_timeline", "results:timeline")
    if moved:
        return moved
    form = FilterForm(request.GET or None, items=queries.item_choices(patient))
    kind = item = ""
    if form.is_bound and form.is_valid():
        kind, item = form.cleaned_data["kind"], form.cleaned_data["item"]
    page = Paginator(queries.patient_reports(patient, kind=kind, item=item), queries.PER_PAGE) \
        .get_page(request.GET.get("page"))
    rows = list(page.object_list)
    for row in rows:
        row.summary = queries.summary(row, item)
    counts = queries.trend_counts(patient.pk)
    codes = list(counts)
    if item in counts:  # the item filtered on first
        codes.remove(item)
        codes.insert(0, item)
    charts = queries.trends(patient, codes[:queries.TREND_CHARTS], report_url=_report_url)
    context = {
        "patient": patient, "form": form, "page": page,
        "days": queries.by_day(rows),
        "query": urlencode({k: v for k, v in (("kind", kind), ("item", item)) if v}),
        "filtered": bool(kind or item),
        "trend_items": [(code, counts[code]) for code in codes],
        "chart": {"items": charts, "labels": chart_labels()},
    }
    return render(request, "results/timeline/timeline.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET"])
@requires(Cap.CLINICAL)
def report(request, report_id: int):
    """One report: its current values, the values its corrections replaced, the exam's conclusion."""
    found = access_object(request.actor, Report.objects.select_related("institution", "patient"), report_id,
                          object_type="result_report")
    return render(request, "results/timeline/report.html", {"detail": queries.report_detail(found),
                                                            "patient": found.patient})


@require_http_methods(["GET"])
@requires(Cap.CLINICAL)
def trend(request, patient_id: int, code: str):
    """One item's values over time across institutions: the chart and the table of every value."""
    patient, moved = _patient(request, patient_id, "result_trend", "results:trend", code=code)
    if moved:
        return moved
    charts = queries.trends(patient, [code], report_url=_report_url)
    context = {"patient": patient, "code": code, "series": charts[0] if charts else None,
               "rows": queries.trend_table(patient, code),
               "chart": {"items": charts, "labels": chart_labels()}}
    return render(request, "results/timeline/trend.html", context)
