from django.urls import path

from yilian.residents import views, views_results

app_name = "residents"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_page, name="login"),
    path("logout/", views.logout_page, name="logout"),
    path("find/", views.find, name="find"),
    path("clinics/<int:schedule_id>/<str:day>/", views.book, name="book"),
    path("bookings/<int:booking_id>/", views.booking, name="booking"),
    path("bookings/<int:booking_id>/queue/", views.queue_part, name="queue"),
    path("bookings/<int:booking_id>/cancel/", views.cancel, name="cancel"),
    path("results/", views_results.results, name="results"),
    path("results/<int:report_id>/", views_results.result, name="result"),
]
