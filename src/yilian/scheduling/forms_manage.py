"""Forms of the schedule pages: a new schedule, slot generation, stopping a clinic (停诊), holidays. They
parse; the rules are in `actions` (`check_schedule`, `do_generate_slots`, `do_stop_clinic`, …)."""

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yilian.network.models import Department
from yilian.scheduling.actions import NewSchedule
from yilian.scheduling.forms_booking import doctor_choices
from yilian.scheduling.models import SessionKind, Slot, SlotStatus

WEEKDAYS = [("1", _("Mon")), ("2", _("Tue")), ("3", _("Wed")), ("4", _("Thu")), ("5", _("Fri")), ("6", _("Sat")),
            ("7", _("Sun"))]
DATE = {"widget": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}
TIME = {"widget": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}
# What the actions call a field, and what the form calls it.
FIELD_NAMES = {"department_id": "department", "doctor_id": "doctor", "slot_id": "slot"}


class ScheduleForm(forms.Form):
    department = forms.TypedChoiceField(label=_("Department"), coerce=int)
    doctor = forms.TypedChoiceField(label=_("Doctor (none: a general clinic)"), coerce=int, required=False,
                                    empty_value=None)
    session = forms.ChoiceField(label=_("Session"), choices=SessionKind.choices)
    start_time = forms.TimeField(label=_("Start time"), **TIME)
    end_time = forms.TimeField(label=_("End time"), **TIME)
    slot_minutes = forms.IntegerField(label=_("Slot length (minutes)"), initial=15)
    capacity = forms.IntegerField(label=_("Capacity per slot"), initial=1)
    referral_reserved = forms.IntegerField(label=_("Places reserved for referral per slot"), initial=0)
    release_hours = forms.IntegerField(label=_("Release referral places (hours before)"), initial=24)
    weekdays = forms.MultipleChoiceField(label=_("Weekdays"), choices=WEEKDAYS,
                                         widget=forms.CheckboxSelectMultiple)
    valid_from = forms.DateField(label=_("Valid from"), **DATE)
    valid_to = forms.DateField(label=_("Valid to"), **DATE)
    special = forms.BooleanField(label=_("Special-needs clinic (特需)"), required=False)

    def __init__(self, *args, institution_id: int, **kwargs):
        today = timezone.localdate()
        kwargs.setdefault("initial", {"valid_from": today, "valid_to": today + timedelta(days=90),
                                      "weekdays": ["1", "2", "3", "4", "5"]})
        super().__init__(*args, **kwargs)
        departments = Department.objects.filter(institution_id=institution_id).order_by("name", "pk")
        self.fields["department"].choices = [(d.pk, d.name) for d in departments]
        self.fields["doctor"].choices = [("", "—")] + doctor_choices(institution_id)

    def new_schedule(self) -> NewSchedule:
        d = self.cleaned_data
        return NewSchedule(
            department_id=d["department"], doctor_id=d["doctor"], session=d["session"], start_time=d["start_time"],
            end_time=d["end_time"], slot_minutes=d["slot_minutes"], capacity=d["capacity"],
            referral_reserved=d["referral_reserved"], release_hours=d["release_hours"],
            weekdays="".join(d["weekdays"]), valid_from=d["valid_from"], valid_to=d["valid_to"], special=d["special"])


class GenerateForm(forms.Form):
    date_from = forms.DateField(label=_("From"), **DATE)
    date_to = forms.DateField(label=_("To"), **DATE)

    def __init__(self, *args, **kwargs):
        today = timezone.localdate()
        kwargs.setdefault("initial", {"date_from": today, "date_to": today + timedelta(days=27)})
        super().__init__(*args, **kwargs)


class StopForm(forms.Form):
    """Stop a clinic: the whole session of a day, or one slot of it (the slots open on the day chosen)."""

    date = forms.DateField(label=_("Day"), **DATE)
    slot = forms.TypedChoiceField(label=_("Slot (empty: the whole session)"), coerce=int, required=False,
                                  empty_value=None)
    reason = forms.CharField(label=_("Reason (told to the patients)"), max_length=200)

    def __init__(self, *args, schedule, **kwargs):
        super().__init__(*args, **kwargs)
        day = self.day()
        slots = Slot.objects.filter(schedule=schedule, date=day, status=SlotStatus.OPEN).order_by("start") \
            if day else Slot.objects.none()
        self.fields["slot"].choices = [("", _("The whole session"))] + [
            (s.pk, f"{timezone.localtime(s.start):%H:%M}–{timezone.localtime(s.end):%H:%M} ({s.booked})")
            for s in slots]

    def day(self):
        """The day chosen (or offered), if it is a date."""
        raw = self.data.get("date") if self.is_bound else self.initial.get("date")
        try:
            return self.fields["date"].clean(raw)
        except forms.ValidationError:
            return None


class HolidayForm(forms.Form):
    date = forms.DateField(label=_("Day"), **DATE)
    name = forms.CharField(label=_("Name"), max_length=50, required=False)
