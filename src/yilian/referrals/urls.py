from django.urls import path

from yilian.referrals import views

app_name = "referrals"

urlpatterns = [
    path("", views.boxes, name="boxes"),
    path("new/<int:patient_id>/", views.new, name="new"),
    path("escalated/", views.escalated, name="escalated"),
    path("<int:referral_id>/", views.detail, name="detail"),
    path("<int:referral_id>/print/", views.printable, name="print"),
    path("<int:referral_id>/<str:step>/", views.step, name="step"),
]
