from datetime import date

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from yilian.network.models import Institution

# Beyond these the conversion of a local day to UTC leaves the range of Python's dates.
DATE_RANGE = [MinValueValidator(date(1900, 1, 1)), MaxValueValidator(date(2100, 12, 31))]


class AuditSearchForm(forms.Form):
    patient_id = forms.IntegerField(label=_("Patient number"), required=False, min_value=1)
    username = forms.CharField(label=_("Staff user name"), required=False, max_length=150)
    institution = forms.ModelChoiceField(label=_("Institution"), queryset=Institution.objects.all(), required=False)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            validators=DATE_RANGE)
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            validators=DATE_RANGE)

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("The end date must not be before the start date."))
        return data


class ReviewForm(forms.Form):
    note = forms.CharField(label=_("Review note"), max_length=500, required=False)
