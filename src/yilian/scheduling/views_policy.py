"""The outpatient policy page of an institution: registration fees per tier, the booking limit and the
registration validity, free-registration rules. A registrar (capability `schedule`) sets their own
institution's rows; the consortium manager (capability `policy`) chooses any member. Views parse, authorize
and call the actions, which check the institution (the field `institution`) and write the audit row."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from yilian.errors import ActionError
from yilian.network.acting import requires
from yilian.network.models import Institution
from yilian.network.roles import Cap
from yilian.scheduling.actions import (
    do_add_free_rule,
    do_deactivate_free_rule,
    do_set_fee,
    do_set_policy,
    policy_institution,
)
from yilian.scheduling.forms_booking import consortium_members
from yilian.scheduling.forms_policy import FeeForm, FreeRuleForm, LimitsForm
from yilian.scheduling.models import FeePolicy, FeeTier, FreeRegistrationRule
from yilian.scheduling.policy import policy_for


def _may_set_policy(request) -> None:
    if not (request.actor.can(Cap.SCHEDULE) or request.actor.can(Cap.POLICY)):
        raise PermissionDenied


def _as_id(raw) -> int | None:
    raw = str(raw or "")
    return int(raw) if raw.isdigit() and len(raw) < 18 else None


def _allowed(request, institution_id) -> int | None:
    """The institution if the actor may set its rows, else None."""
    try:
        return policy_institution(request.actor, institution_id)
    except ActionError:
        return None


def _page(request, institution_id: int, *, bound=None, status: int = 200, rule_error: str = ""):
    """The page for one institution; `bound` is the form that failed, shown with its errors."""
    institution = Institution.objects.get(pk=institution_id)
    fees = dict(FeePolicy.objects.filter(institution_id=institution_id).values_list("tier", "amount"))
    fee_rows = []
    for tier, label in FeeTier.choices:
        form = bound if isinstance(bound, FeeForm) and bound.data.get("tier") == tier else FeeForm(
            initial={"institution": institution_id, "tier": tier, "amount": fees.get(tier, "")})
        form.auto_id = f"id_{tier}_%s"
        fee_rows.append({"tier": tier, "label": label, "amount": fees.get(tier), "form": form})
    policy = policy_for(institution_id)
    limits = bound if isinstance(bound, LimitsForm) else LimitsForm(initial={
        "institution": institution_id, "max_daily_bookings": policy.max_daily_bookings,
        "registration_valid_days": policy.registration_valid_days})
    rule_form = bound if isinstance(bound, FreeRuleForm) else FreeRuleForm(
        initial={"institution": institution_id}, institution_id=institution_id)
    rules = (FreeRegistrationRule.objects.filter(institution_id=institution_id).select_related("department")
             .order_by("-active", "pk"))
    members = list(consortium_members(request.actor.institution_id)) if request.actor.can(Cap.POLICY) else []
    return render(request, "scheduling/policy.html", {
        "institution": institution, "own": institution_id == request.actor.institution_id, "members": members,
        "fee_rows": fee_rows, "policy": policy, "limits": limits, "rule_form": rule_form, "rules": rules,
        "form": bound, "rule_error": rule_error,
    }, status=status)


@require_http_methods(["GET"])
@requires()
def policy(request):
    _may_set_policy(request)
    raw = request.GET.get("institution")
    institution_id = _allowed(request, _as_id(raw)) if raw else request.actor.institution_id
    if institution_id is None:
        raise Http404
    return _page(request, institution_id)


def _done(request, institution_id: int, message: str):
    messages.success(request, message)
    if institution_id == request.actor.institution_id:
        return redirect("scheduling:policy")
    return redirect(f"{reverse('scheduling:policy')}?institution={institution_id}")


def _refused(request, form, exc: ActionError | None = None):
    """400: the page of the institution posted if the actor may set it, else of their own."""
    if exc is not None:
        form.add_action_errors(exc)
    posted = _as_id(form.data.get("institution"))
    shown = _allowed(request, posted) if posted else None
    return _page(request, shown or request.actor.institution_id, bound=form, status=400)


def _institution(form) -> int | None:
    return form.cleaned_data.get("institution")


@require_POST
@requires()
def set_fee(request):
    _may_set_policy(request)
    form = FeeForm(request.POST)
    if not form.is_valid():
        return _refused(request, form)
    try:
        fee = do_set_fee(request.actor, form.cleaned_data["tier"], form.cleaned_data["amount"],
                         institution_id=_institution(form))
    except ActionError as exc:
        return _refused(request, form, exc)
    return _done(request, fee.institution_id, _("Fee saved."))


@require_POST
@requires()
def set_limits(request):
    _may_set_policy(request)
    form = LimitsForm(request.POST)
    if not form.is_valid():
        return _refused(request, form)
    try:
        row = do_set_policy(request.actor, max_daily_bookings=form.cleaned_data["max_daily_bookings"],
                            registration_valid_days=form.cleaned_data["registration_valid_days"],
                            institution_id=_institution(form))
    except ActionError as exc:
        return _refused(request, form, exc)
    return _done(request, row.institution_id, _("Booking limit and registration validity saved."))


@require_POST
@requires()
def add_free_rule(request):
    _may_set_policy(request)
    posted = _as_id(request.POST.get("institution")) or request.actor.institution_id
    form = FreeRuleForm(request.POST, institution_id=posted)
    if not form.is_valid():
        return _refused(request, form)
    data = form.cleaned_data
    try:
        rule = do_add_free_rule(request.actor, data["kind"], min_age=data["min_age"], department_id=data["department"],
                                institution_id=_institution(form))
    except ActionError as exc:
        return _refused(request, form, exc)
    return _done(request, rule.institution_id, _("Free-registration rule added."))


@require_POST
@requires()
def deactivate_free_rule(request, rule_id: int):
    _may_set_policy(request)
    institution_id = _as_id(request.POST.get("institution"))
    try:
        rule = do_deactivate_free_rule(request.actor, rule_id, institution_id=institution_id)
    except ActionError as exc:
        shown = _allowed(request, institution_id) or request.actor.institution_id
        return _page(request, shown, status=400, rule_error=exc.message)
    return _done(request, rule.institution_id, _("Free-registration rule stopped."))
