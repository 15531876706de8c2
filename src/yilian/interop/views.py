"""The index desk's matching queue of HL7 result messages (a registrar of the lead institution, capability
`link_review`): waiting messages with masked identifiers, matched to a record by hand or discarded."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from yilian.errors import ActionError
from yilian.interop.actions import do_discard_unmatched, do_resolve_unmatched, pending_page
from yilian.network.acting import requires
from yilian.network.roles import Cap
from yilian.patients.stewardship import require_steward

PAGE = 50


class ResolveForm(forms.Form):
    patient = forms.CharField(label=gettext_lazy("Consortium patient number or record number"), max_length=20)


class DiscardForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=200)


@requires(Cap.LINK_REVIEW)
def unmatched(request, status: int = 200):
    require_steward(request.actor, Cap.LINK_REVIEW)
    try:
        page_no = max(1, min(int(request.GET.get("page", 1)), 100_000))
    except ValueError:
        page_no = 1
    rows, total = pending_page(request.actor, limit=PAGE, offset=(page_no - 1) * PAGE)
    return render(request, "interop/unmatched.html", {
        "rows": rows, "total": total, "page": page_no, "has_next": page_no * PAGE < total,
        "resolve": ResolveForm(), "discard": DiscardForm()}, status=status)


def _act(request, form, act, done: str):
    if not form.is_valid():
        messages.error(request, _("Fill in the field."))
        return redirect("interop:unmatched")
    try:
        act(form.cleaned_data)
    except ActionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("interop:unmatched")


@require_POST
@requires(Cap.LINK_REVIEW)
def resolve(request, unmatched_id: int):
    require_steward(request.actor, Cap.LINK_REVIEW)
    return _act(request, ResolveForm(request.POST),
                lambda data: do_resolve_unmatched(request.actor, unmatched_id, data["patient"]),
                _("The results were stored for the chosen patient."))


@require_POST
@requires(Cap.LINK_REVIEW)
def discard(request, unmatched_id: int):
    require_steward(request.actor, Cap.LINK_REVIEW)
    return _act(request, DiscardForm(request.POST),
                lambda data: do_discard_unmatched(request.actor, unmatched_id, data["reason"]),
                _("The message was discarded."))
