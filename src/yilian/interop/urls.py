"""The interface desk: unmatched result messages and rejected messages."""

app_name = "interop"
urlpatterns = []
