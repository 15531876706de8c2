"""The order form (item grouped as panels and exams, circumstances) and the override form."""

from django import forms
from django.utils.translation import gettext_lazy as _

from yilian.results.models import AT_ORDER_TIME, Exclusion, Item, ItemKind
from yilian.results.orders import NOTE_MAX


def item_choices() -> list:
    """The orderable items grouped: lab panels, then exams (by modality)."""
    items = list(Item.objects.filter(kind__in=(ItemKind.PANEL, ItemKind.EXAM), active=True)
                 .order_by("kind", "modality", "code"))
    panels = [(i.code, f"{i.name} · {i.code}") for i in items if i.kind == ItemKind.PANEL]
    exams = [(i.code, f"{i.name} · {i.code}") for i in items if i.kind == ItemKind.EXAM]
    return [("", "—"), (_("Lab panels"), panels), (_("Exams"), exams)]


class OrderForm(forms.Form):
    item = forms.ChoiceField(label=_("Test or exam"))
    circumstances = forms.MultipleChoiceField(
        label=_("Circumstances"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(c.value, c.label) for c in AT_ORDER_TIME])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = item_choices()


class OverrideForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason for a new test"), choices=[("", "—")] + Exclusion.choices)
    note = forms.CharField(label=_("Note (required for \"other\")"), max_length=NOTE_MAX, required=False)
