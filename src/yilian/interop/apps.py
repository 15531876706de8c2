from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InteropConfig(AppConfig):
    name = "yilian.interop"
    verbose_name = _("Interfaces (HL7 v2, FHIR)")
