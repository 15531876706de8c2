from django.urls import path

from yilian.patients import views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.register, name="register"),
    path("check-in/", views.check_in, name="check_in"),
    path("emergency-access/", views.break_glass, name="break_glass"),
    path("<int:patient_id>/", views.patient_detail, name="detail"),
    path("<int:patient_id>/unmask/", views.patient_unmask, name="unmask"),
]
