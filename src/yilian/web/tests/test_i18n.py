"""Chinese first, English available: the catalogue is complete and compiled, and both languages show."""

from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

import yilian

CATALOGUE = Path(yilian.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_every_message_has_a_chinese_translation():
    po = polib.pofile(str(CATALOGUE))
    untranslated = [e.msgid for e in po.untranslated_entries()] + [e.msgid for e in po.fuzzy_entries()]
    assert untranslated == []


def test_compiled_catalogue_matches_the_source():
    po = polib.pofile(str(CATALOGUE))
    stale = []
    with translation.override("zh-hans"):
        for entry in po.translated_entries():
            if entry.msgid_plural:
                got = translation.ngettext(entry.msgid, entry.msgid_plural, 1)
                want = entry.msgstr_plural[0]
            elif entry.msgctxt:
                got, want = translation.pgettext(entry.msgctxt, entry.msgid), entry.msgstr
            else:
                got, want = translation.gettext(entry.msgid), entry.msgstr
            if got != want:
                stale.append(entry.msgid)
    assert stale == [], "run script/messages to recompile the catalogue"


@pytest.mark.django_db
def test_login_page_is_chinese_by_default_and_english_when_chosen(client):
    zh = client.get("/login/").content.decode()
    assert "登录" in zh and 'lang="zh-hans"' in zh
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    en = client.get("/login/").content.decode()
    assert "Log in" in en and 'lang="en"' in en


@pytest.mark.django_db
def test_language_switch_persists(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert "Log in" in client.get("/login/").content.decode()
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})
    assert "登录" in client.get("/login/").content.decode()
