"""Schedule pages (capability `schedule`, at the acting institution): the schedules, a new schedule, slot
generation, stopping a clinic (停诊) and holidays. Views parse, authorize and call the actions; a schedule
or holiday of another institution answers 404. No patient data is shown: a stopped clinic's messages are
listed by booking number."""

from datetime import date, timedelta

from django.contrib import messages
from django.db.models import Count, Q, Sum
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from yilian.errors import ActionError
from yilian.network.acting import requires
from yilian.network.roles import Cap
from yilian.scheduling.actions import (
    do_add_holiday,
    do_create_schedule,
    do_generate_slots,
    do_remove_holiday,
    do_stop_clinic,
)
from yilian.scheduling.forms_manage import FIELD_NAMES, GenerateForm, HolidayForm, ScheduleForm, StopForm
from yilian.scheduling.models import Holiday, Message, Schedule, Slot, SlotStatus

DAYS_SHOWN = 28
OPEN = Q(slots__status=SlotStatus.OPEN)


def _schedule(request, schedule_id: int) -> Schedule:
    schedule = (Schedule.objects.filter(pk=schedule_id, institution_id=request.actor.institution_id)
                .select_related("department", "doctor").first())
    if schedule is None:
        raise Http404
    return schedule


@require_http_methods(["GET"])
@requires(Cap.SCHEDULE)
def schedules(request):
    today = timezone.localdate()
    rows = (Schedule.objects.filter(institution_id=request.actor.institution_id)
            .select_related("department", "doctor")
            .annotate(upcoming=Count("slots", filter=OPEN & Q(slots__date__gte=today)),
                      booked=Sum("slots__booked", filter=OPEN & Q(slots__date__gte=today)))
            .order_by("department__name", "start_time", "pk"))
    return render(request, "scheduling/schedules.html", {"schedules": rows, "today": today})


@require_http_methods(["GET", "POST"])
@requires(Cap.SCHEDULE)
def schedule_new(request):
    form = ScheduleForm(request.POST or None, institution_id=request.actor.institution_id)
    if request.method == "POST" and form.is_valid():
        try:
            schedule = do_create_schedule(request.actor, form.new_schedule())
        except ActionError as exc:
            exc.add_to(form, FIELD_NAMES)
        else:
            messages.success(request, _("Schedule created. Generate its slots to open it for booking."))
            return redirect("scheduling:schedule", schedule_id=schedule.pk)
    return render(request, "scheduling/schedule_form.html", {"form": form}, status=400 if form.errors else 200)


def _detail(request, schedule: Schedule, form: GenerateForm | None = None, status: int = 200):
    today = timezone.localdate()
    days = (Slot.objects.filter(schedule=schedule, date__range=(today, today + timedelta(days=DAYS_SHOWN - 1)))
            .values("date").order_by("date")
            .annotate(slots=Count("pk"), open=Count("pk", filter=Q(status=SlotStatus.OPEN)),
                      capacity=Sum("capacity", filter=Q(status=SlotStatus.OPEN)),
                      booked=Sum("booked", filter=Q(status=SlotStatus.OPEN))))
    sent = (Message.objects.filter(booking__slot__schedule=schedule).select_related("booking__slot")
            .order_by("-created_at", "-pk")[:30])
    return render(request, "scheduling/schedule_detail.html", {
        "schedule": schedule, "days": days, "form": form or GenerateForm(), "sent": sent}, status=status)


@require_http_methods(["GET"])
@requires(Cap.SCHEDULE)
def schedule_detail(request, schedule_id: int):
    return _detail(request, _schedule(request, schedule_id))


@require_POST
@requires(Cap.SCHEDULE)
def generate(request, schedule_id: int):
    schedule = _schedule(request, schedule_id)
    form = GenerateForm(request.POST)
    if form.is_valid():
        try:
            made = do_generate_slots(request.actor, schedule.pk, form.cleaned_data["date_from"],
                                     form.cleaned_data["date_to"])
        except ActionError as exc:
            exc.add_to(form, FIELD_NAMES)
        else:
            messages.success(request, ngettext("%(n)d new slot.", "%(n)d new slots.", made) % {"n": made})
            return redirect("scheduling:schedule", schedule_id=schedule.pk)
    return _detail(request, schedule, form, status=400)


def _date_param(request) -> date | None:
    try:
        return date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        return None


def _day_slots(schedule: Schedule, day):
    return list(Slot.objects.filter(schedule=schedule, date=day).order_by("start")) if day else []


@require_http_methods(["GET", "POST"])
@requires(Cap.SCHEDULE)
def stop_clinic(request, schedule_id: int):
    """停诊: stop the whole session of a day, or one slot; the booked patients are told, with alternatives."""
    schedule = _schedule(request, schedule_id)
    result = None
    if request.method == "POST":
        form = StopForm(request.POST, schedule=schedule)
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = do_stop_clinic(request.actor, schedule.pk, data["date"], data["reason"],
                                        slot_id=data["slot"])
            except ActionError as exc:
                exc.add_to(form, FIELD_NAMES)
    else:
        form = StopForm(initial={"date": _date_param(request) or timezone.localdate()}, schedule=schedule)
    day = form.day()
    context = {"schedule": schedule, "form": form, "result": result, "day": day,
               "slots": _day_slots(schedule, day)}
    if result is not None:
        context["notified"] = len(result)
    return render(request, "scheduling/stop_clinic.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@requires(Cap.SCHEDULE)
def holidays(request):
    institution_id = request.actor.institution_id
    form = HolidayForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            holiday = do_add_holiday(request.actor, form.cleaned_data["date"], form.cleaned_data["name"])
        except ActionError as exc:
            exc.add_to(form, FIELD_NAMES)
        else:
            messages.success(request, _("Holiday added: no slots will be generated on that day."))
            open_slots = Slot.objects.filter(schedule__institution_id=institution_id, date=holiday.date,
                                             status=SlotStatus.OPEN).count()
            if open_slots:
                messages.warning(request, ngettext(
                    "%(n)d slot already generated on that day is still open: stop those clinics (停诊) so the "
                    "booked patients are told.",
                    "%(n)d slots already generated on that day are still open: stop those clinics (停诊) so the "
                    "booked patients are told.", open_slots) % {"n": open_slots})
            return redirect("scheduling:holidays")
    since = timezone.localdate() - timedelta(days=31)
    rows = Holiday.objects.filter(institution_id=institution_id, date__gte=since).order_by("date")
    return render(request, "scheduling/holidays.html", {"form": form, "holidays": rows},
                  status=400 if form.errors else 200)


@require_POST
@requires(Cap.SCHEDULE)
def holiday_remove(request, holiday_id: int):
    try:
        do_remove_holiday(request.actor, holiday_id)
    except ActionError:
        raise Http404 from None
    messages.success(request, _("Holiday removed. Generate the slots again to open that day's clinics."))
    return redirect("scheduling:holidays")
