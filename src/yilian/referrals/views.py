"""Referral pages: the in- and out-box, a new referral from a patient's page, one referral with its
history and the steps the acting side may take, the printable referral form (转诊单) with its QR code, and
the consortium manager's list of referrals past their deadline. Views parse, authorize and call
`actions`; patients are read through `access.gate`."""

import segno
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from yilian.access.gate import access_patient, audit_many
from yilian.access.models import Action
from yilian.care.models import Encounter
from yilian.errors import ActionError
from yilian.network.acting import requires
from yilian.network.models import Department, Institution, Staff
from yilian.network.roles import Cap
from yilian.referrals import actions, codes, queries
from yilian.referrals.forms import ReasonForm, RedirectForm, ReferralForm
from yilian.referrals.models import OPEN, Direction, Status

FIELDS = {"to_institution_id": "to_institution", "to_department_id": "to_department",
          "follow_up_staff_id": "follow_up_staff", "slot_id": "slot", "patient_id": None}
STEPS = {"accept", "reject", "redirect", "arrive", "close", "cancel"}


@require_http_methods(["GET"])
@requires(Cap.CLINICAL)
def boxes(request):
    which = "out" if request.GET.get("box") == "out" else "in"
    status = request.GET.get("status") if request.GET.get("status") in {*Status.values, "open"} else None
    rows = queries.box(request.actor, which, status)
    if rows:
        audit_many(request.actor, {r.patient_id for r in rows}, object_type="referral")
    return render(request, "referrals/boxes.html", {"rows": rows, "box": which, "status": status,
                                                    "statuses": Status.choices, "now": timezone.now()})


def _form(request, patient):
    actor = request.actor
    here = Institution.objects.get(pk=actor.institution_id)
    institutions = list(Institution.objects.filter(consortium_id=here.consortium_id).exclude(pk=here.pk)
                        .order_by("code"))
    data = request.POST or None
    chosen = data and data.get("to_institution")
    chosen_id = int(chosen) if chosen and str(chosen).isdigit() else None
    departments = Department.objects.filter(institution_id__in=[i.pk for i in institutions]).select_related(
        "institution").order_by("institution__code", "name")
    staff = Staff.objects.filter(memberships__institution_id=chosen_id, memberships__active=True,
                                 memberships__role="doctor").distinct().order_by("name") if chosen_id else []
    encounters = [(e.pk, f"{timezone.localtime(e.start):%Y-%m-%d} {e.institution.short_name} {e.department.name}")
                  for e in Encounter.objects.filter(patient=patient).select_related("institution", "department")
                  .order_by("-start")[:20]]
    slots = []
    if chosen_id:
        department = data.get("to_department")
        for s in actions.proposed_slots(chosen_id, int(department) if str(department or "").isdigit() else None,
                                        limit=10):
            slots.append((s.pk, f"{timezone.localtime(s.start):%Y-%m-%d %H:%M} {s.schedule.department.name}"
                                + (f" {s.schedule.doctor.name}" if s.schedule.doctor_id else "")))
    return ReferralForm(data, institutions=institutions, departments=departments, staff=staff,
                        encounters=encounters, slots=slots,
                        initial={"direction": Direction.UP if actions.level_of(here) < 2 else Direction.DOWN})


@require_http_methods(["GET", "POST"])
@requires(Cap.RECORD_VISIT)
def new(request, patient_id: int):
    """Refer the patient: choosing the receiving institution (and department) reloads the form with the
    earliest places a referral may reserve there."""
    patient = access_patient(request.actor, patient_id, Action.READ, object_type="referral_form")
    form = _form(request, patient)
    if request.method == "POST" and request.POST.get("send") and form.is_valid():
        d = form.cleaned_data
        data = actions.NewReferral(
            patient_id=patient.pk, direction=d["direction"], setting=d["setting"], urgency=d["urgency"],
            to_institution_id=d["to_institution"], to_department_id=d["to_department"],
            diagnosis_code=d["diagnosis_code"], reason=d["reason"], summary=d["summary"],
            shared=[{"type": "encounter", "id": pk} for pk in d["shared"]], follow_up_plan=d["follow_up_plan"],
            follow_up_staff_id=d["follow_up_staff"], slot_id=d["slot"], bed_requested=d["bed_requested"])
        try:
            referral = actions.do_refer(request.actor, data)
        except ActionError as exc:
            exc.add_to(form, FIELDS)
        else:
            messages.success(request, _("Referral %(number)s sent.") % {"number": referral.number})
            return redirect("referrals:detail", referral_id=referral.pk)
    status = 400 if request.method == "POST" and request.POST.get("send") else 200
    return render(request, "referrals/new.html", {"form": form, "patient": patient,
                                                  "diagnoses": codes.diagnoses().items()},
                  status=status)


def _context(request, referral_id) -> dict:
    referral, _decision = actions.referral_for(request.actor, referral_id, side="any", action=Action.READ,
                                               audit_success=True)
    receiving = referral.to_institution_id == request.actor.institution_id
    here = Institution.objects.get(pk=request.actor.institution_id)
    others = Institution.objects.filter(consortium_id=here.consortium_id).exclude(
        pk__in=[referral.from_institution_id, referral.to_institution_id]).order_by("code")
    context = {"referral": referral, "events": referral.events.all(), "receiving": receiving,
               "sending": referral.from_institution_id == request.actor.institution_id,
               "open": referral.status in OPEN, "reason_form": ReasonForm(),
               "redirect_form": RedirectForm(institutions=others), "now": timezone.now()}
    return context


@require_http_methods(["GET"])
@requires(Cap.CLINICAL)
def detail(request, referral_id: int):
    return render(request, "referrals/detail.html", _context(request, referral_id))


@require_http_methods(["GET"])
@requires(Cap.CLINICAL)
def printable(request, referral_id: int):
    """The referral form (转诊单) to print and hand to the patient: its QR code carries the referral number."""
    context = _context(request, referral_id)
    context["qr"] = segno.make(context["referral"].number, error="m").svg_inline(scale=4, title=_("Referral number"))
    return render(request, "referrals/print.html", context)


@require_POST
@requires(Cap.CLINICAL)
def step(request, referral_id: int, step: str):
    if step not in STEPS:
        raise Http404
    reason = request.POST.get("reason", "")
    try:
        if step == "accept":
            actions.do_accept(request.actor, referral_id)
        elif step == "reject":
            actions.do_reject(request.actor, referral_id, reason)
        elif step == "redirect":
            to = request.POST.get("to_institution", "")
            actions.do_redirect(request.actor, referral_id, int(to) if to.isdigit() else None, reason)
        elif step == "arrive":
            actions.do_arrive(request.actor, referral_id)
        elif step == "close":
            actions.do_close(request.actor, referral_id)
        else:
            actions.do_cancel(request.actor, referral_id, reason)
    except ActionError as exc:
        for message in exc.errors.values():
            messages.error(request, message)
    else:
        messages.success(request, _("Done."))
        if step in ("reject", "redirect"):  # no longer ours to see
            return redirect("referrals:boxes")
    return redirect("referrals:detail", referral_id=referral_id)


@require_http_methods(["GET"])
@requires(Cap.DASHBOARD)
def escalated(request):
    """For the consortium management centre: referrals past their deadline, no patient shown."""
    consortium_id = Institution.objects.values_list("consortium_id", flat=True).get(pk=request.actor.institution_id)
    return render(request, "referrals/escalated.html", {"rows": queries.escalated(consortium_id),
                                                        "now": timezone.now()})
