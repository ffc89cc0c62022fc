"""Phone numbers as students type them, stored in one form (E.164) so they compare and dial alike."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from cloud.platform.errors import InvalidInput
from cloud.platform.texts import Text, text

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
        raise _invalid(field, text("error.phone.not_a_number")) from None
    if number.extension:
        raise _invalid(field, text("error.phone.extension"))
    if not phonenumbers.is_possible_number(number):
        raise _invalid(field, text("error.phone.impossible", region=region))
    if _foreign_trunk_prefix(raw, number):
        raise _invalid(field, text("error.phone.foreign_local", region=region))
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _foreign_trunk_prefix(raw: str, number: phonenumbers.PhoneNumber) -> bool:
    """A number typed without ``+`` that starts with 0 and is no number of the region: most
    countries dial their own numbers with a leading 0 (07911 123456), which the region's plan
    (the US's, say) would otherwise swallow into a wrong number, and the texts would go astray."""
    digits = raw.strip()
    return (
        not digits.startswith("+") and digits.lstrip("( ").startswith("0") and not phonenumbers.is_valid_number(number)
    )


def _invalid(field: str, message: Text) -> InvalidInput:
    """The same body shape as a request that failed validation, so clients read one format."""
    return InvalidInput(
        text("error.field", field=field, message=message), fields=[{"field": field, "message": message}]
    )
