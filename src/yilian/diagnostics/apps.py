from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DiagnosticsConfig(AppConfig):
    name = "yilian.diagnostics"
    verbose_name = _("Diagnostic centres")
