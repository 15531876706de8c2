from django.urls import path

from yilian.consults import views

app_name = "consults"

urlpatterns = [
    path("", views.boxes, name="boxes"),
    path("new/<int:patient_id>/", views.new, name="new"),
    path("operations/", views.operations, name="operations"),
    path("operations/new/<int:patient_id>/", views.operation_new, name="operation_new"),
    path("<int:consultation_id>/", views.detail, name="detail"),
    path("<int:consultation_id>/assign/", views.assign, name="assign"),
    path("<int:consultation_id>/<str:step>/", views.step, name="step"),
]
