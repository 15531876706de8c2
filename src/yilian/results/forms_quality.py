"""Forms of the quality-control passes page: the filter (a member of the manager's consortium) and a new pass
(the member, a lab panel or exam or all its items, the period, who issued it). They check only the shape of
the input; `results.actions.do_record_quality_passes` checks the rest (the period's order, the issuer)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from yilian.network.models import Institution
from yilian.results.forms_orders import item_choices

ALL_ITEMS = "*"  # the item choice for a pass of all the institution's items (the action's "")


def consortium_members(institution_id: int | None):
    """The members of the consortium of `institution_id` (none without one), by code."""
    consortium = Institution.objects.filter(pk=institution_id).values("consortium_id")[:1]
    return Institution.objects.filter(consortium_id__in=consortium).order_by("code")


def _member_choices(members) -> list:
    return [("", "—")] + [(m.pk, m.name) for m in members]


class QualityFilterForm(forms.Form):
    institution = forms.TypedChoiceField(label=_("Member institution"), coerce=int, required=False,
                                         empty_value=None)

    def __init__(self, data, *, members):
        super().__init__(data)
        self.fields["institution"].choices = [("", _("All members"))] + [(m.pk, m.name) for m in members]


class QualityPassForm(forms.Form):
    institution = forms.TypedChoiceField(label=_("Member institution"), coerce=int)
    item = forms.ChoiceField(label=_("Item passed"))
    valid_from = forms.DateField(label=_("Valid from"),
                                 widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    valid_to = forms.DateField(label=_("Valid to (inclusive)"),
                               widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    # The action names a missing or too long issuer in its own words.
    issuer = forms.CharField(label=_("Issued by"), required=False,
                             widget=forms.TextInput(attrs={"maxlength": 100, "autocomplete": "off",
                                                           "list": "issuer-list"}))

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["institution"].choices = _member_choices(members)
        choices = item_choices()
        self.fields["item"].choices = [choices[0], (ALL_ITEMS, _("All items of the institution"))] + choices[1:]

    @property
    def item_code(self) -> str:
        """The action's item code: "" for all items."""
        item = self.cleaned_data["item"]
        return "" if item == ALL_ITEMS else item
