"""The auditor's search and export of the audit trail, and the security admin's break-glass review.

Auditors see who accessed what and when — patient numbers, never clinical data or names."""

import csv
from datetime import UTC

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yilian.access import gate
from yilian.access.actions import do_review_break_glass
from yilian.access.forms import AuditSearchForm, ReviewForm
from yilian.access.models import Action
from yilian.access.queries import break_glass_reviewed, break_glass_to_review, search_audit
from yilian.errors import ActionError
from yilian.network.acting import requires
from yilian.network.roles import Cap

EXPORT_COLUMNS = ["at_utc", "username", "membership_id", "institution_id", "role", "patient_id", "object_type",
                  "object_id", "action", "outcome", "basis", "grant_id", "reason", "source"]


def _filters(form: AuditSearchForm) -> dict:
    data = form.cleaned_data
    return {
        "patient_id": data.get("patient_id"), "username": data.get("username") or "",
        "institution_id": data["institution"].pk if data.get("institution") else None,
        "since": data.get("since"), "until": data.get("until"),
    }


@requires(Cap.AUDIT)
def audit(request):
    form = AuditSearchForm(request.GET or None)
    page = None
    if form.is_bound and form.is_valid():
        page = Paginator(search_audit(**_filters(form)), 100).get_page(request.GET.get("page"))
    elif not form.is_bound:
        page = Paginator(search_audit(), 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "access/audit.html", {"form": form, "page": page, "query": query.urlencode()},
                  status=400 if form.errors else 200)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    """A cell a spreadsheet will not run as a formula (CSV injection): free text such as a break-glass
    reason that starts with = + - @ gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class _Echo:
    def write(self, value):
        return value


@requires(Cap.AUDIT)
def audit_export(request):
    form = AuditSearchForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "access/audit.html", {"form": form, "page": None}, status=400)
    own = gate.audit(request.actor, patient_id=None, object_type="audit_trail", action=Action.EXPORT,
                reason="audit trail export")
    rows = (search_audit(**_filters(form)) if form.is_bound else search_audit()).filter(pk__lt=own.pk)
    writer = csv.writer(_Echo())

    def stream():
        yield "\ufeff" + writer.writerow(EXPORT_COLUMNS)
        for e in rows.iterator(chunk_size=2000):
            yield writer.writerow([_cell(v) for v in (
                e.at.astimezone(UTC).isoformat(), e.username, e.membership_id, e.institution_id, e.role,
                e.patient_id, e.object_type, e.object_id, e.action, e.outcome, e.basis, e.grant_id, e.reason,
                e.source)])

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="yilian-audit-{stamp}.csv"'
    return response


@requires(Cap.REVIEW_ACCESS)
def review(request):
    return render(request, "access/review.html",
                  {"pending": break_glass_to_review(), "reviewed": break_glass_reviewed(), "form": ReviewForm()})


@require_POST
@requires(Cap.REVIEW_ACCESS)
def review_one(request, glass_id: int):
    form = ReviewForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        do_review_break_glass(request.actor, glass_id, note)
    except ActionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Review recorded."))
    return redirect("access:review")
