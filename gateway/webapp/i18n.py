"""Languages: Chinese first (``zh``, the default), English on request. The catalogues are
the committed ``locale/<lang>/LC_MESSAGES/messages.po``; each is compiled in memory when the
gateway starts (Babel), so a clean clone needs no build step and no ``.mo`` in git.

To add or change text: write it in English in a template or with ``N_``/``_`` in code, then
``pybabel extract -F gateway/webapp/babel.cfg -k N_ -o /tmp/messages.pot . &&
pybabel update -i /tmp/messages.pot -d gateway/webapp/locale --no-fuzzy-matching`` and translate
the new ``msgstr`` in ``zh``."""
from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
HTML_LANG = {"zh": "zh-CN", "en": "en"}


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


@lru_cache(maxsize=None)
def translations(language: str) -> Translations:
    with catalogue_path(language).open("rb") as handle:
        catalogue = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)           # fuzzy entries are left out, as msgfmt does
    compiled.seek(0)
    return Translations(compiled, domain="messages")


def language_of(request) -> str:
    """``?lang=`` first (a link the person followed), then their cookie, else Chinese."""
    for candidate in (request.args.get("lang"), request.cookies.get("lang")):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE
