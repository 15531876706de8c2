"""Who is posting: `Authorization: Bearer <token>` names an active `Sender` by the SHA-256 digest of its
token (only the digest is kept; `yilian fhir token CODE` issues a new token)."""

from yilian.interop.models import Sender
from yilian.interop.senders import digest

MAX_TOKEN = 200


def sender_for(request) -> Sender | None:
    """The active sender whose token the request carries, or None."""
    scheme, _space, token = request.headers.get("Authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN:
        return None
    return (Sender.objects.select_related("institution__consortium")
            .filter(token_digest=digest(token), active=True).first())
