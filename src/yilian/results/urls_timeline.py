"""Timeline, report and trend pages."""

urlpatterns = []
