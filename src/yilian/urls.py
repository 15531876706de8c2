"""URL map: pages per app, the admin for system administrators, the JSON API under /api/v1/."""

from django.urls import include, path

from yilian.api import api
from yilian.web.admin_site import site

urlpatterns = [
    path("", include("yilian.web.urls")),
    path("patients/", include("yilian.patients.urls")),
    path("access/", include("yilian.access.urls")),
    path("scheduling/", include("yilian.scheduling.urls")),
    path("emergency/", include("yilian.emergency.urls")),
    path("m/", include("yilian.residents.urls")),
    path("referrals/", include("yilian.referrals.urls")),
    path("consults/", include("yilian.consults.urls")),
    path("diagnostics/", include("yilian.diagnostics.urls")),
    path("results/", include("yilian.results.urls")),
    path("interop/", include("yilian.interop.urls")),
    path("fhir/r4b/", include("yilian.interop.fhir_urls")),
    path("indicators/", include("yilian.analytics.urls")),
    path("admin/", site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
]
