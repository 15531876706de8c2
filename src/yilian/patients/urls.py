from django.urls import path

from yilian.patients import views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.register, name="register"),
    path("check-in/", views.check_in, name="check_in"),
    path("check-in/qr/", views.qr_check_in, name="qr_check_in"),
    path("emergency-access/", views.break_glass, name="break_glass"),
    path("links/", views.link_queue, name="links"),
    path("links/<int:candidate_id>/", views.link_review, name="link_review"),
    path("merges/", views.merges, name="merges"),
    path("merges/<int:merge_id>/unmerge/", views.unmerge, name="unmerge"),
    path("<int:patient_id>/", views.patient_detail, name="detail"),
    path("<int:patient_id>/unmask/", views.patient_unmask, name="unmask"),
    path("<int:patient_id>/card/", views.patient_card, name="card"),
    path("<int:patient_id>/qr/rotate/", views.rotate_qr, name="rotate_qr"),
    path("<int:patient_id>/identifiers/", views.link_identifier, name="link_identifier"),
    path("<int:patient_id>/identifiers/<int:identifier_id>/unlink/", views.unlink_identifier,
         name="unlink_identifier"),
]
