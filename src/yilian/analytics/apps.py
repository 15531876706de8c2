from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "yilian.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        # Every app's indicators.py registers its indicators.
        autodiscover_modules("indicators")
