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

# Staff pages (docs/scheduling.md, "Staff pages"): the booking window, schedules and stop-clinic, policy rows.
from yilian.scheduling import views_booking, views_manage, views_policy  # noqa: E402

urlpatterns += [
    path("book/", views_booking.find, name="book"),
    path("book/<int:patient_id>/", views_booking.patient, name="book_patient"),
    path("book/<int:patient_id>/slots/", views_booking.slots_part, name="book_slots"),
    path("bookings/<int:booking_id>/cancel/", views_booking.cancel, name="booking_cancel"),
    path("bookings/<int:booking_id>/reschedule/", views_booking.reschedule, name="booking_reschedule"),
    path("bookings/<int:booking_id>/slip/", views_booking.slip, name="booking_slip"),
    path("schedules/", views_manage.schedules, name="schedules"),
    path("schedules/new/", views_manage.schedule_new, name="schedule_new"),
    path("schedules/<int:schedule_id>/", views_manage.schedule_detail, name="schedule"),
    path("schedules/<int:schedule_id>/generate/", views_manage.generate, name="schedule_generate"),
    path("schedules/<int:schedule_id>/stop/", views_manage.stop_clinic, name="schedule_stop"),
    path("holidays/", views_manage.holidays, name="holidays"),
    path("holidays/<int:holiday_id>/remove/", views_manage.holiday_remove, name="holiday_remove"),
    path("policy/", views_policy.policy, name="policy"),
    path("policy/fee/", views_policy.set_fee, name="policy_fee"),
    path("policy/limits/", views_policy.set_limits, name="policy_limits"),
    path("policy/free-rules/", views_policy.add_free_rule, name="policy_free_rule"),
    path("policy/free-rules/<int:rule_id>/deactivate/", views_policy.deactivate_free_rule,
         name="policy_free_rule_off"),
]
