"""Forms of the booking window: find the patient, search free slots, book, cancel, reschedule. They parse;
the rules are in `actions` (`do_book`, `do_cancel`, `do_reschedule`) and `window.do_find_patient`."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yilian.network.models import Department, Institution, Membership
from yilian.network.roles import Role
from yilian.scheduling.models import Channel

DESK_CHANNELS = [(Channel.WINDOW.value, Channel.WINDOW.label), (Channel.PHONE.value, Channel.PHONE.label)]


class FindPatientForm(forms.Form):
    code = forms.CharField(
        label=_("Resident ID, QR code or booking number"), max_length=64,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off", "autocapitalize": "off",
                                      "spellcheck": "false"}))


def doctor_choices(institution_id: int) -> list[tuple]:
    doctors = (Membership.objects.filter(institution_id=institution_id, role=Role.DOCTOR, active=True)
               .select_related("staff", "department").order_by("department__name", "staff__name", "pk"))
    seen, out = set(), []
    for m in doctors:
        if m.staff_id not in seen:
            seen.add(m.staff_id)
            out.append((m.staff_id, f"{m.staff.name}（{m.department.name}）" if m.department_id else m.staff.name))
    return out


def consortium_members(institution_id: int):
    consortium = Institution.objects.filter(pk=institution_id).values("consortium_id")[:1]
    return Institution.objects.filter(consortium_id__in=consortium).order_by("code")


class SlotSearchForm(forms.Form):
    """Which free slots to show: any member of the consortium, a department and doctor of it, a day."""

    institution = forms.TypedChoiceField(label=_("Institution"), coerce=int)
    department = forms.TypedChoiceField(label=_("Department"), coerce=int, required=False, empty_value=None)
    doctor = forms.TypedChoiceField(label=_("Doctor"), coerce=int, required=False, empty_value=None)
    date = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, data, *, own_institution_id: int):
        data = {"institution": own_institution_id, "date": timezone.localdate().isoformat(),
                **{k: v for k, v in data.items() if k in ("institution", "department", "doctor", "date")}}
        super().__init__(data)
        members = list(consortium_members(own_institution_id))
        self.fields["institution"].choices = [(i.pk, i.name) for i in members]
        chosen = str(data.get("institution", ""))
        self.institution_id = next((i.pk for i in members if str(i.pk) == chosen), own_institution_id)
        departments = Department.objects.filter(institution_id=self.institution_id).order_by("name", "pk")
        self.fields["department"].choices = [("", _("All departments"))] + [(d.pk, d.name) for d in departments]
        self.fields["doctor"].choices = [("", _("Any doctor"))] + doctor_choices(self.institution_id)

    def clean_date(self):
        day = self.cleaned_data["date"]
        if day < timezone.localdate():
            raise forms.ValidationError(_("Choose today or a later date."))
        return day


class BookForm(forms.Form):
    slot_id = forms.IntegerField(label=_("Slot"), min_value=1, max_value=2**62,
                                 error_messages={"required": _("Choose a slot.")})
    channel = forms.ChoiceField(label=_("Channel"), choices=DESK_CHANNELS, initial=Channel.WINDOW,
                                widget=forms.RadioSelect)


class RescheduleForm(forms.Form):
    slot_id = forms.IntegerField(label=_("New slot"), min_value=1, max_value=2**62,
                                 error_messages={"required": _("Choose a slot.")})


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)
