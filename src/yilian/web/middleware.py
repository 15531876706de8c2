"""Chinese first: pages are in zh-hans unless the user chose English with the language switch.

Django's LocaleMiddleware would follow the browser's Accept-Language, so a ward PC with an English
browser would show English pages nobody chose. Pages here follow only the language cookie (set by the
switch) and otherwise the default; the JSON API, whose clients are programs, also honours
Accept-Language.
"""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

API_PREFIX = "/api/"


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        if request.path_info.startswith(API_PREFIX):
            return super().process_request(request)
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        try:
            language = translation.get_supported_language_variant(chosen) if chosen else settings.LANGUAGE_CODE
        except LookupError:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
