"""Forms of the policy page: a fee of a tier, the booking limit and registration validity, a free-registration
rule. Each names the institution whose rows it changes; the actions decide whether the actor may."""

from django import forms
from django.utils.translation import gettext_lazy as _

from yilian.network.models import Department
from yilian.scheduling.models import FeeTier, FreeRule

# What the actions call a field, and what the forms call it.
FIELD_NAMES = {"institution_id": "institution", "department_id": "department"}


class PolicyForm(forms.Form):
    institution = forms.IntegerField(required=False, min_value=1, max_value=2**62, widget=forms.HiddenInput)

    def add_action_errors(self, exc) -> None:
        for field, message in exc.errors.items():
            name = FIELD_NAMES.get(field, field)
            self.add_error(name if name in self.fields else None, message)


class FeeForm(PolicyForm):
    tier = forms.ChoiceField(choices=FeeTier.choices, widget=forms.HiddenInput)
    amount = forms.CharField(label=_("Fee (yuan)"), max_length=20,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))


class LimitsForm(PolicyForm):
    max_daily_bookings = forms.IntegerField(label=_("Active bookings per patient, department and day"),
                                            min_value=-(2**31), max_value=2**31)
    registration_valid_days = forms.IntegerField(label=_("Registration valid (days, counting the first)"),
                                                 min_value=-(2**31), max_value=2**31)


class FreeRuleForm(PolicyForm):
    kind = forms.ChoiceField(label=_("Who registers free"), choices=FreeRule.choices)
    min_age = forms.IntegerField(label=_("Minimum age (for the age rule)"), required=False,
                                 min_value=-(2**31), max_value=2**31)
    department = forms.TypedChoiceField(label=_("Department (for the department rule)"), coerce=int,
                                        required=False, empty_value=None)

    def __init__(self, *args, institution_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        departments = Department.objects.filter(institution_id=institution_id).order_by("name", "pk")
        self.fields["department"].choices = [("", "—")] + [(d.pk, d.name) for d in departments]
