"""Phone numbers as students type them, stored in one form (E.164) so they compare and dial alike."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from cloud.platform.errors import InvalidInput

MAX_INPUT_LENGTH = 32


def normalise_phone(raw: str, region: str, *, field: str = "phone_number") -> str:
    """``raw`` in E.164 (``+15551234567``); ``InvalidInput`` naming ``field`` when it cannot be a number.

    A number without ``+`` is read as one of ``region``. We check that it *could* exist in
    its country's numbering plan (country code and length), not that it is assigned today:
    the original KY Wash API accepted 555 numbers, which libphonenumber calls invalid, and
    nothing here dials them.
    """
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException:
        raise _invalid(field, "is not a phone number") from None
    if number.extension:
        raise _invalid(field, "must not include an extension")
    if not phonenumbers.is_possible_number(number):
        hint = f"check the digits, and start a number from outside {region} with +"
        raise _invalid(field, f"is not a possible phone number: {hint}")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _invalid(field: str, message: str) -> InvalidInput:
    """The same body shape as a request that failed validation, so clients read one format."""
    return InvalidInput(f"{field}: {message}", fields=[{"field": field, "message": message}])
