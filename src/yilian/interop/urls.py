"""The interface desk: unmatched result messages and rejected messages."""

from django.urls import path

from yilian.interop import views

app_name = "interop"
urlpatterns = [
    path("unmatched/", views.unmatched, name="unmatched"),
    path("unmatched/<int:unmatched_id>/resolve/", views.resolve, name="resolve"),
    path("unmatched/<int:unmatched_id>/discard/", views.discard, name="discard"),
]
