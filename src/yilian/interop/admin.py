"""The sending systems in the system administrator's pages: registered through `interop.senders` (the FHIR
bearer token shown once, on the page that follows; only its digest is kept), edited afterwards as a network
row (name, HL7 names, assigning authority, active)."""

from django.contrib import admin, messages
from django.utils.translation import gettext as _

from yilian.interop import senders
from yilian.interop.models import Sender
from yilian.network.acting import actor_for
from yilian.network.admin import ActionAdmin
from yilian.web.admin_site import site


@admin.register(Sender, site=site)
class SenderAdmin(ActionAdmin):
    list_display = ["code", "name", "institution", "hl7_application", "hl7_facility", "active"]
    list_filter = ["active"]
    search_fields = ["code", "name", "hl7_application"]
    autocomplete_fields = ["institution"]
    exclude = ["token_digest"]

    @staticmethod
    def _new(data, fhir: bool = True) -> senders.NewSender:
        institution = data.get("institution")
        return senders.NewSender(
            code=data.get("code", ""), name=data.get("name", ""), institution_id=institution.pk if institution else 0,
            hl7_application=data.get("hl7_application", ""), hl7_facility=data.get("hl7_facility", ""),
            mrn_authority=data.get("mrn_authority", ""), fhir=fhir)

    def get_readonly_fields(self, request, obj=None):
        return ["code", "institution"] if obj is not None else []

    def check_action(self, request, form, obj):
        if obj is None:
            senders.check_register_sender(actor_for(request), self._new(form.cleaned_data, fhir=False))
        super().check_action(request, form, obj)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        sender, token = senders.do_register_sender(actor_for(request), self._new(form.cleaned_data))
        obj.pk = sender.pk
        messages.warning(request, _("The FHIR bearer token of %(code)s, shown this once: %(token)s")
                         % {"code": sender.code, "token": token})
