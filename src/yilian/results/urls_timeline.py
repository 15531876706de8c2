"""Timeline, report and trend pages (staff; the patient's own results are on the residents' pages)."""

from django.urls import path

from yilian.results import views_timeline as views

urlpatterns = [
    path("patient/<int:patient_id>/", views.timeline, name="timeline"),
    path("patient/<int:patient_id>/trend/<str:code>/", views.trend, name="trend"),
    path("report/<int:report_id>/", views.report, name="report"),
]
