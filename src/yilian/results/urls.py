"""Results pages: the patient's timeline and trends (`urls_timeline`), orders and the recognition check
(`urls_orders`), the management centre's quality-control passes and recognition rules (`urls_quality`)."""

from yilian.results import urls_orders, urls_quality, urls_timeline

app_name = "results"
urlpatterns = urls_timeline.urlpatterns + urls_orders.urlpatterns + urls_quality.urlpatterns
