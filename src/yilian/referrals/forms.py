from django import forms
from django.utils.translation import gettext_lazy as _

from yilian.referrals.models import Direction, Setting, Urgency


class ReferralForm(forms.Form):
    direction = forms.ChoiceField(label=_("Direction"), choices=Direction.choices)
    setting = forms.ChoiceField(label=_("Outpatient or inpatient"), choices=Setting.choices)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, initial=Urgency.ROUTINE)
    to_institution = forms.TypedChoiceField(label=_("Receiving institution"), coerce=int)
    to_department = forms.TypedChoiceField(label=_("Department"), coerce=int, required=False, empty_value=None)
    diagnosis_code = forms.CharField(label=_("Diagnosis (ICD-10 code)"), max_length=10,
                                     widget=forms.TextInput(attrs={"list": "icd10", "autocomplete": "off"}))
    reason = forms.CharField(label=_("Reason for referral"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    summary = forms.CharField(label=_("Summary (history, findings, treatment so far)"), max_length=4000,
                              required=False, widget=forms.Textarea(attrs={"rows": 4}))
    shared = forms.TypedMultipleChoiceField(label=_("Visits to share"), coerce=int, required=False,
                                            widget=forms.CheckboxSelectMultiple)
    follow_up_plan = forms.CharField(label=_("Follow-up plan (referral down)"), max_length=2000, required=False,
                                     widget=forms.Textarea(attrs={"rows": 3}))
    follow_up_staff = forms.TypedChoiceField(label=_("Family doctor for the follow-up"), coerce=int,
                                             required=False, empty_value=None)
    slot = forms.TypedChoiceField(label=_("Reserved appointment"), coerce=int, required=False, empty_value=None)
    bed_requested = forms.BooleanField(label=_("Request a bed (inpatient)"), required=False)

    def __init__(self, *args, institutions=(), departments=(), staff=(), encounters=(), slots=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_institution"].choices = [("", "—")] + [(i.pk, i.name) for i in institutions]
        self.fields["to_department"].choices = [("", _("Any department"))] + [
            (d.pk, f"{d.institution.short_name} · {d.name}") for d in departments]
        self.fields["follow_up_staff"].choices = [("", "—")] + [(s.pk, str(s)) for s in staff]
        self.fields["shared"].choices = encounters
        self.fields["slot"].choices = [("", _("No appointment"))] + list(slots)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


class RedirectForm(ReasonForm):
    to_institution = forms.TypedChoiceField(label=_("Pass on to"), coerce=int)

    def __init__(self, *args, institutions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_institution"].choices = [(i.pk, i.name) for i in institutions]
