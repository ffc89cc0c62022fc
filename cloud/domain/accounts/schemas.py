"""Request and response bodies of the accounts API (named by role: ``XCreate``, ``XUpdate``, ``XPublic``).

Shapes and lengths are checked here, with messages a student can act on; the phone number
is checked in the service, which knows the configured default country.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Final, Literal, Self

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from cloud.domain.accounts.phone import MAX_INPUT_LENGTH
from cloud.platform.languages import Language
from cloud.platform.texts import invalid

_SIX_DIGITS: Final = re.compile(r"[0-9]{6}")
_FOUR_DIGITS: Final = re.compile(r"[0-9]{4}")
# [0-9], not \d: \d also matches other scripts' digits, which no student ID contains.
MIN_STAFF_PASSWORD: Final = 12
MAX_SECRET: Final = 1024
"""Long enough for any passphrase, short enough that hashing one is cheap to refuse."""
MAX_TOKEN: Final = 4096


def _student_id(value: str) -> str:
    if not _SIX_DIGITS.fullmatch(value):
        raise invalid("error.account.student_id_digits")
    return value


def _pin(value: str) -> str:
    if not _FOUR_DIGITS.fullmatch(value):
        raise invalid("error.account.pin_digits")
    return value


StudentId = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32), AfterValidator(_student_id)]
Pin = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32), AfterValidator(_pin)]
PhoneInput = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_INPUT_LENGTH)]
Token = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TOKEN)]


class StudentCreate(BaseModel):
    """``POST /auth/register``: a student signs up; there is no role field, so nobody registers as staff."""

    student_id: StudentId = Field(examples=["123456"])
    pin: Pin = Field(examples=["1234"])
    phone_number: PhoneInput = Field(examples=["5551234567"], description="any common format; stored as E.164")


class StudentLogin(BaseModel):
    student_id: StudentId = Field(examples=["123456"])
    pin: Pin = Field(examples=["1234"])


class StaffLogin(BaseModel):
    username: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=MAX_SECRET)]


class TokenRefresh(BaseModel):
    refresh_token: Token


class ProfilePublic(BaseModel):
    id: int
    role: str = Field(description="student or staff")
    student_id: str | None
    username: str | None = Field(description="staff only")
    phone_number: str | None = Field(description="E.164, e.g. +15551234567")
    created_at: datetime
    alert_before_minutes: int = Field(
        default=0,
        description="minutes before a claimed cycle's expected end to be told it is nearly over: 0 (off), 5 or 10",
    )
    language: Language | None = Field(
        default=None, description="the web app's and notifications' language (en, es); null: not chosen yet"
    )


AlertLead = Literal[0, 5, 10]
"""The lead times a student may choose (``cloud.domain.laundry.end_alert_rule.ALERT_LEADS``)."""


class ProfileUpdate(BaseModel):
    """``PUT /profile/update``: what is sent changes, what is left out stays."""

    phone_number: PhoneInput | None = Field(default=None, examples=["+1 555 123 4567"])
    alert_before_minutes: AlertLead | None = Field(
        default=None,
        examples=[5],
        description="be told this many minutes before your cycle's expected end: 0 (off), 5 or 10; "
        "besides the message when it is done",
    )
    language: Language | None = Field(
        default=None, examples=["es"], description="the language of the web app and of your notifications: en or es"
    )

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.phone_number is None and self.alert_before_minutes is None and self.language is None:
            raise invalid("error.profile.nothing_to_update")
        return self
