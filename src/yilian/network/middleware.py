"""Sets `request.membership`: the membership the logged-in user acts as (chosen, or the only one)."""

from yilian.network.acting import SESSION_KEY, active_memberships


class ActingMembershipMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = None
        if request.user.is_authenticated:
            chosen = request.session.get(SESSION_KEY)
            memberships = active_memberships(request.user)
            if chosen is not None:
                request.membership = memberships.filter(pk=chosen).first()
                if request.membership is None:  # revoked or deactivated since it was chosen
                    request.session.pop(SESSION_KEY, None)
            if request.membership is None:
                only = list(memberships[:2])
                if len(only) == 1:
                    request.membership = only[0]
                    request.session[SESSION_KEY] = only[0].pk
        return self.get_response(request)
