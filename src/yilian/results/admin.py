"""Recognition rules in the system administrator's pages; every save goes through `results.rules` (the
action's checks shown beside the fields)."""

from django import forms
from django.contrib import admin

from yilian.network.acting import actor_for
from yilian.network.admin import ActionAdmin
from yilian.network.models import Grade
from yilian.results import rules
from yilian.results.models import AT_ORDER_TIME, Rule
from yilian.web.admin_site import site


class RuleForm(forms.ModelForm):
    min_grade = forms.ChoiceField(label=Rule._meta.get_field("min_grade").verbose_name, required=False,
                                  choices=[("", "—")] + Grade.choices)
    exclusions = forms.MultipleChoiceField(label=Rule._meta.get_field("exclusions").verbose_name, required=False,
                                           widget=forms.CheckboxSelectMultiple,
                                           choices=[(c.value, c.label) for c in AT_ORDER_TIME])

    class Meta:
        model = Rule
        fields = ["item", "recognisable", "validity_days", "min_grade", "requires_quality", "exclusions", "note"]


@admin.register(Rule, site=site)
class RuleAdmin(ActionAdmin):
    form = RuleForm
    list_display = ["item", "recognisable", "validity_days", "min_grade", "requires_quality", "exclusions"]
    list_filter = ["recognisable", "requires_quality", "min_grade"]
    search_fields = ["item__code", "item__name"]

    def get_readonly_fields(self, request, obj=None):
        return ["item"] if obj is not None else []

    def check_action(self, request, form, obj):
        rules.check_rule(actor_for(request), form.instance)

    def save_model(self, request, obj, form, change):
        rules.do_save_rule(actor_for(request), obj)
