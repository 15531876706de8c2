from django.urls import path

from yilian.diagnostics import views

app_name = "diagnostics"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/<int:patient_id>/", views.new, name="new"),
    path("patients/<int:patient_id>/", views.patient, name="patient"),
    path("centres/<int:centre_id>/", views.worklist, name="worklist"),
    path("studies/<int:study_id>/", views.study, name="study"),
    path("studies/<int:study_id>/files/<int:file_id>/", views.study_file, name="file"),
    path("studies/<int:study_id>/<str:step>/", views.step, name="step"),
    path("critical/<int:critical_id>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("escalated/", views.escalated, name="escalated"),
    path("statistics/", views.statistics, name="statistics"),
]
