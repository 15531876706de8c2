"""The results JSON API: orders and the recognition check (owned by the recognition work)."""

from ninja import Router

router = Router(tags=["results"])
