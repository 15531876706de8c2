from django import forms
from django.utils.translation import gettext_lazy as _


class PhoneForm(forms.Form):
    phone = forms.CharField(label=_("Mobile number"), max_length=20,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))


class CodeForm(PhoneForm):
    code = forms.CharField(label=_("Code from the text message"), max_length=10,
                           widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}))


class FindForm(forms.Form):
    q = forms.CharField(label=_("Department, doctor or hospital"), max_length=30, required=False)
    institution = forms.TypedChoiceField(label=_("Institution"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, institutions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["institution"].choices = [("", _("All members"))] + [(i.pk, i.name) for i in institutions]


class BookForm(forms.Form):
    patient = forms.TypedChoiceField(label=_("Patient"), coerce=int, widget=forms.RadioSelect)
    slot = forms.TypedChoiceField(label=_("Time"), coerce=int, widget=forms.RadioSelect)

    def __init__(self, *args, patients=(), slots=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["patient"].choices = [(p.pk, p.name) for p in patients]
        self.fields["slot"].choices = slots
        if len(self.fields["patient"].choices) == 1:
            self.fields["patient"].initial = self.fields["patient"].choices[0][0]
