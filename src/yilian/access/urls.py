from django.urls import path

from yilian.access import views

app_name = "access"

urlpatterns = [
    path("audit/", views.audit, name="audit"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
    path("break-glass/", views.review, name="review"),
    path("break-glass/<int:glass_id>/review/", views.review_one, name="review_one"),
]
