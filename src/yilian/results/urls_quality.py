"""The management centre's quality-control pages (namespace "results", mounted under /results/)."""

from django.urls import path

from yilian.results import views_quality

urlpatterns = [
    path("quality/", views_quality.passes, name="quality"),
    path("quality/rules/", views_quality.rules, name="quality_rules"),
]
