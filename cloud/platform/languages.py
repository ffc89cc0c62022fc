"""The languages the web app and notifications are written in. Adding one: a catalog for the
page (``cloud/api/web/static/i18n/<code>.json``), one for notifications
(``cloud/domain/notifications/catalog/<code>.json``), and its code here."""

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
