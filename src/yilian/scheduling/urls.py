from django.urls import path

from yilian.scheduling import views

app_name = "scheduling"

urlpatterns = [
    path("queue/desk/", views.desk, name="desk"),
    path("queue/doctor/", views.doctor, name="doctor"),
    path("queue/doctor/call-next/", views.call_next, name="call_next"),
    path("queue/entries/<int:entry_id>/<str:move>/", views.move, name="move"),
    path("queue/display/<int:department_id>/", views.display, name="display"),
    path("queue/display/<int:department_id>/board/", views.display_board_part, name="display_board"),
]
