"""Order and recognition pages (namespace "results", mounted under /results/)."""

from django.urls import path

from yilian.results import views_orders

urlpatterns = [
    path("patient/<int:patient_id>/orders/", views_orders.patient_orders, name="patient_orders"),
    path("patient/<int:patient_id>/orders/new/", views_orders.new, name="order_new"),
    path("order/<int:order_id>/", views_orders.order, name="order"),
    path("order/<int:order_id>/<str:step>/", views_orders.step, name="order_step"),
]
