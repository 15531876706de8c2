from django import forms
from django.utils.translation import gettext_lazy as _

from yilian.diagnostics.models import Priority


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name; the checks of what they are stay in `uploads` (called by the action)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []


class SubmitForm(forms.Form):
    centre = forms.TypedChoiceField(label=_("Diagnostic centre"), coerce=int)
    exam_type = forms.ChoiceField(label=_("Exam"))
    priority = forms.TypedChoiceField(label=_("Priority"), coerce=int, choices=Priority.choices,
                                      initial=Priority.ROUTINE)
    encounter = forms.TypedChoiceField(label=_("Requesting visit"), coerce=int)
    clinical_info = forms.CharField(label=_("Clinical information (history, question to answer)"), max_length=2000,
                                    required=False, widget=forms.Textarea(attrs={"rows": 3}))
    files = MultipleFileField(label=_("Files (imaging: the DICOM files; ECG: PDF, image or waveform; pathology: "
                                      "slide images, optional)"), required=False)
    specimen_barcode = forms.CharField(label=_("Specimen barcode"), max_length=40, required=False)
    specimen_type = forms.CharField(label=_("Specimen type"), max_length=40, required=False,
                                    widget=forms.TextInput(attrs={"list": "specimen-types"}))
    specimen_site = forms.CharField(label=_("Site (pathology)"), max_length=100, required=False)
    specimen_count = forms.IntegerField(label=_("Containers, blocks or slides"), min_value=0, max_value=99,
                                        required=False)
    collected_at = forms.DateTimeField(label=_("Collected at"), required=False,
                                       widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                                  format="%Y-%m-%dT%H:%M"),
                                       input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])

    def __init__(self, *args, centres=(), exam_types=(), encounters=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["centre"].choices = [("", "—")] + [(c.pk, f"{c.name}（{c.get_kind_display()}）") for c in centres]
        self.fields["exam_type"].choices = [("", "—")] + [(t.code, f"{t.name} · {t.code}") for t in exam_types]
        self.fields["encounter"].choices = list(encounters)


class DraftForm(forms.Form):
    findings = forms.CharField(label=_("Findings"), max_length=8000, required=False,
                               widget=forms.Textarea(attrs={"rows": 10}))
    impression = forms.CharField(label=_("Impression"), max_length=2000, required=False,
                                 widget=forms.Textarea(attrs={"rows": 3}))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)


class CriticalForm(forms.Form):
    description = forms.CharField(label=_("Critical value"), max_length=200,
                                  widget=forms.TextInput(attrs={"list": "critical-list"}))


class AcknowledgeForm(forms.Form):
    note = forms.CharField(label=_("Read back and action taken (who was told, what was ordered)"), max_length=500)
