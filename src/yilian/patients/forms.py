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
    insurance = forms.CharField(label=_("Insurance card number"), max_length=20, required=False)
    mrn = forms.CharField(label=_("Medical record number here"), max_length=30, required=False,
                          help_text=_("Only if this institution's own system gave the person a number."))


class CheckInForm(forms.Form):
    resident_id = forms.CharField(label=_("Resident ID"), max_length=18)


class BreakGlassForm(forms.Form):
    resident_id = forms.CharField(label=_("Resident ID"), max_length=18)
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


class QrCheckInForm(forms.Form):
    token = forms.CharField(label=_("QR code"), max_length=100,
                            widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off",
                                                          "autocapitalize": "off", "spellcheck": "false"}))


class IdentifierForm(forms.Form):
    type = forms.ChoiceField(label=_("Type"), choices=[])
    value = forms.CharField(label=_("Number"), max_length=64)
    system = forms.CharField(label=_("Issuer"), max_length=32, required=False,
                             help_text=_("Passport: the issuing country (CHN, USA, …). Insurance: the insuring "
                                         "region's division code, if not this county."))

    def __init__(self, *args, **kwargs):
        from yilian.patients.identifiers import LINKABLE
        from yilian.patients.models import IdentifierType

        super().__init__(*args, **kwargs)
        labels = dict(IdentifierType.choices)
        self.fields["type"].choices = [(t, labels[t]) for t in LINKABLE]


class DecideForm(forms.Form):
    decision = forms.ChoiceField(choices=[("same", "same"), ("different", "different")])
    survivor = forms.IntegerField(required=False)
    confirm = forms.BooleanField(required=False)
