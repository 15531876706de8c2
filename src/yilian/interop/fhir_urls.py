"""FHIR R4B ingest endpoints (DiagnosticReport, Observation, transaction Bundle)."""

app_name = "fhir"
urlpatterns = []
