from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _load_catalogue(sender, **kwargs):
    from yilian.network.models import Institution
    from yilian.results.load import load

    load(Institution.objects.using(kwargs.get("using", "default")).all())


class ResultsConfig(AppConfig):
    name = "yilian.results"
    verbose_name = _("Results and mutual recognition")

    def ready(self):
        # The shipped catalogue, rules and reference prices: created when missing after every migrate
        # (a site's own changes are left alone), so a fresh database has them.
        post_migrate.connect(_load_catalogue, sender=self)
