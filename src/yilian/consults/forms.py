"""Form parsing for the consultation pages; the rules themselves are in `actions.py`. An expert is chosen
as "staff id:institution id" (a doctor acts for one institution at a time)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from yilian.consults.models import GuidingMode, Mode, Outcome, Target, Urgency


def expert_choices(memberships) -> list[tuple[str, str]]:
    return [(f"{m.staff_id}:{m.institution_id}",
             f"{m.institution.short_name}{' · ' + m.department.name if m.department_id else ''} · {m.staff}")
            for m in memberships]


def parse_expert(value) -> tuple[int | None, int | None]:
    staff, _sep, institution = str(value or "").partition(":")
    return (int(staff) if staff.isdigit() else None, int(institution) if institution.isdigit() else None)


class ConsultationForm(forms.Form):
    target = forms.ChoiceField(label=_("Ask"), choices=Target.choices, initial=Target.CENTRE)
    to_department = forms.TypedChoiceField(label=_("Department (when asking a department)"), coerce=int,
                                           required=False, empty_value=None)
    to_expert = forms.ChoiceField(label=_("Expert (when asking a named expert)"), required=False)
    mode = forms.ChoiceField(label=_("Mode"), choices=Mode.choices, initial=Mode.ASYNC)
    session_start = forms.DateTimeField(label=_("Video session starts"), required=False,
                                        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                                        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    session_minutes = forms.TypedChoiceField(label=_("Minutes"), coerce=int, required=False, empty_value=None,
                                             choices=[("", "—")] + [(m, m) for m in (15, 30, 45, 60, 90, 120)])
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, initial=Urgency.ROUTINE)
    mdt = forms.BooleanField(label=_("Multidisciplinary consultation (MDT)"), required=False)
    question = forms.CharField(label=_("Question for the expert"), max_length=1000,
                               help_text=_("Shown on the experts' worklist before the patient is shared: no name "
                                           "or identifier here."),
                               widget=forms.Textarea(attrs={"rows": 2}))
    summary = forms.CharField(label=_("Patient summary (history, findings, treatment so far)"), max_length=4000,
                              widget=forms.Textarea(attrs={"rows": 5}))
    shared = forms.TypedMultipleChoiceField(label=_("Visits to attach"), coerce=int, required=False,
                                            widget=forms.CheckboxSelectMultiple)
    consent = forms.BooleanField(label=_("The patient (or their family) agreed in writing to the remote "
                                         "consultation"), required=False)

    def __init__(self, *args, departments=(), experts=(), encounters=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_department"].choices = [("", "—")] + [
            (d.pk, f"{d.institution.short_name} · {d.name}") for d in departments]
        self.fields["to_expert"].choices = [("", "—")] + expert_choices(experts)
        self.fields["shared"].choices = encounters


class ExpertForm(forms.Form):
    expert = forms.ChoiceField(label=_("Expert"))

    def __init__(self, *args, experts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expert"].choices = expert_choices(experts)


class OpinionForm(forms.Form):
    opinion = forms.CharField(label=_("Opinion"), max_length=4000, widget=forms.Textarea(attrs={"rows": 6}))
    recommendation = forms.CharField(label=_("Recommendation"), max_length=4000, required=False,
                                     widget=forms.Textarea(attrs={"rows": 3}))


class AmendForm(OpinionForm):
    reason = forms.CharField(label=_("Reason for the amendment"), max_length=200)


class ContributionForm(forms.Form):
    text = forms.CharField(label=_("Your contribution"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4}))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


class GuidedOperationForm(forms.Form):
    procedure = forms.CharField(label=_("Procedure"), max_length=100)
    performed_on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    mode = forms.ChoiceField(label=_("Guidance"), choices=GuidingMode.choices)
    expert = forms.ChoiceField(label=_("Guiding expert"))
    operator = forms.TypedChoiceField(label=_("Local operator"), coerce=int)
    department = forms.TypedChoiceField(label=_("Department"), coerce=int, required=False, empty_value=None)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices)
    consultation = forms.TypedChoiceField(label=_("After the consultation"), coerce=int, required=False,
                                          empty_value=None)
    notes = forms.CharField(label=_("Notes"), max_length=1000, required=False,
                            widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, experts=(), operators=(), departments=(), consultations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expert"].choices = [("", "—")] + expert_choices(experts)
        self.fields["operator"].choices = [("", "—")] + [(m.staff_id, str(m.staff)) for m in operators]
        self.fields["department"].choices = [("", "—")] + [(d.pk, d.name) for d in departments]
        self.fields["consultation"].choices = [("", "—")] + [(c.pk, c.number) for c in consultations]
