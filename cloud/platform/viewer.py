"""The authenticated user of a request or WebSocket, and the two roles."""

from __future__ import annotations

from dataclasses import dataclass

STUDENT = "student"
STAFF = "staff"


@dataclass(frozen=True, slots=True)
class Viewer:
    """The authenticated user of a request or WebSocket."""

    id: int
    role: str
    student_id: str | None
    username: str | None
    session_id: str
    language: str | None = None
    """``users.language`` (None: not chosen): server-written texts are rendered in it."""

    @property
    def is_staff(self) -> bool:
        return self.role == STAFF

    @property
    def login(self) -> str:
        return self.student_id or self.username or str(self.id)
