"""Forms for the patient pages; the rules themselves are in actions.check_register."""

from django import forms
from django.utils.translation import gettext_lazy as _

from yilian.patients.models import Sex


class RegisterForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    resident_id = forms.CharField(label=_("Resident ID"), max_length=18, required=False)
    sex = forms.ChoiceField(label=_("Sex"), choices=[("", "—")] + list(Sex.choices), required=False)
    birth_date = forms.DateField(label=_("Date of birth"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)


class CheckInForm(forms.Form):
    resident_id = forms.CharField(label=_("Resident ID"), max_length=18)


class BreakGlassForm(forms.Form):
    resident_id = forms.CharField(label=_("Resident ID"), max_length=18)
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
