"""The languages the web app and notifications are written in. Adding one: a catalog for the
page (``cloud/api/web/static/i18n/<code>.json``), one for notifications
(``cloud/platform/texts/catalog/<code>.json``: notifications, activity,
errors, alarm titles), and its code here."""

from __future__ import annotations

from typing import Literal

Language = Literal["en", "es"]
SUPPORTED: tuple[Language, ...] = ("en", "es")
DEFAULT: Language = "en"


def language_or_default(code: str | None) -> Language:
    """A stored or sent code as a supported language (anything else: the default)."""
    for language in SUPPORTED:
        if code == language:
            return language
    return DEFAULT


def language_or_none(code: str | None) -> Language | None:
    """A stored code as a supported language, or None when none (or an unknown one) is stored."""
    return language_or_default(code) if code in SUPPORTED else None


def from_accept_language(header: str | None) -> Language | None:
    """The first supported language an ``Accept-Language`` header names ("es-ES,es;q=0.9" -> es),
    in the order of its ``q`` weights; None when it names none of ours."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, weight = part.strip().partition(";")
        quality = 1.0
        if weight.strip().startswith("q="):
            try:
                quality = float(weight.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag.strip().split("-")[0].lower()))
    for quality, _, code in sorted(ranked):
        if quality < 0 and code in SUPPORTED:
            return language_or_default(code)
    return None


def reader_language(stored: str | None, accept_language: str | None) -> Language:
    """Whose words the server writes in for one reader: their stored choice, else the first
    supported language their request names (``Accept-Language``), else the default."""
    return language_or_none(stored) or from_accept_language(accept_language) or DEFAULT
