from django.urls import path

from yilian.emergency import views, views_report

app_name = "emergency"

urlpatterns = [
    path("", views.board, name="board"),
    path("open/", views.open_case, name="open"),
    path("report/", views_report.monthly, name="report"),
    path("report/export.csv", views_report.export, name="export"),
    path("cases/<int:case_id>/", views.case_page, name="case"),
    path("cases/<int:case_id>/record/", views.record, name="record"),
    path("cases/<int:case_id>/correct/", views.correct, name="correct"),
    path("cases/<int:case_id>/bypass/", views.bypass, name="bypass"),
]
