"""FHIR R4B ingest endpoints (DiagnosticReport, Observation, transaction Bundle), mounted at /fhir/r4b/."""

from django.urls import path, re_path

from yilian.interop import fhir_views as views

app_name = "fhir"
ID = r"(?P<pk>[A-Za-z0-9\-.]{1,64})"

urlpatterns = [
    path("", views.transaction_bundle, name="transaction"),
    path("metadata", views.metadata, name="metadata"),
    path("DiagnosticReport", views.create_diagnostic_report, name="diagnostic_report"),
    re_path(rf"^DiagnosticReport/{ID}$", views.read_diagnostic_report, name="diagnostic_report_read"),
    path("Observation", views.create_observation, name="observation"),
    re_path(rf"^Observation/{ID}$", views.read_observation, name="observation_read"),
    re_path(r"^.*$", views.unknown),
]
