"""Forms for the queue pages; the rules themselves are in `queue.check_check_in`."""

from datetime import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yilian.network.models import Department, Membership
from yilian.network.roles import Role


class DeskForm(forms.Form):
    code = forms.CharField(
        label=_("QR code, resident ID or booking number"), max_length=64,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off", "autocapitalize": "off",
                                      "spellcheck": "false"}))
    department = forms.TypedChoiceField(label=_("Department (walk-in without a booking)"), coerce=int,
                                        required=False, empty_value=None)
    doctor = forms.TypedChoiceField(label=_("Doctor (walk-in, optional)"), coerce=int, required=False,
                                    empty_value=None)
    arrived = forms.TimeField(label=_("Arrived at (if earlier than now)"), required=False,
                              widget=forms.TimeInput(attrs={"type": "time"}))
    disabled = forms.BooleanField(label=_("Disabled patient (goes first)"), required=False)

    def __init__(self, *args, institution_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        departments = Department.objects.filter(institution_id=institution_id).order_by("name", "pk")
        self.fields["department"].choices = [("", "—")] + [(d.pk, d.name) for d in departments]
        doctors = (Membership.objects.filter(institution_id=institution_id, role=Role.DOCTOR, active=True)
                   .select_related("staff", "department").order_by("department__name", "staff__name"))
        self.fields["doctor"].choices = [("", "—")] + [
            (m.staff_id, f"{m.staff.name}（{m.department.name}）" if m.department_id else m.staff.name)
            for m in doctors]

    def arrived_at(self) -> datetime | None:
        """The arrival time typed (today, local time) as an aware datetime."""
        at = self.cleaned_data.get("arrived")
        if at is None:
            return None
        return timezone.make_aware(datetime.combine(timezone.localdate(), at))
