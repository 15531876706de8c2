"""Order and recognition pages."""

urlpatterns = []
