"""Results pages: the patient's timeline and trends (`urls_timeline`), orders and the recognition check
(`urls_orders`)."""

from yilian.results import urls_orders, urls_timeline

app_name = "results"
urlpatterns = urls_timeline.urlpatterns + urls_orders.urlpatterns
