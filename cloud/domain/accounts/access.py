"""Accounts: register, log in behind the throttle, rotate and revoke tokens, read and edit a profile.

Logging in takes three short transactions rather than one long one, because checking a
PIN costs a quarter of a second of argon2 and SQLite writers queue behind an open write
transaction: (1) admit the attempt (the throttle counts it as failed, or refuses it),
(2) check the PIN outside any transaction, (3) settle the throttle and start the session.
A refused or failed attempt must still be written, so those paths commit first and raise after.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import astuple, dataclass, field
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Connection, delete, or_, select, update

from cloud.domain.accounts import throttle, tokens
from cloud.domain.accounts.passwords import hash_secret, needs_rehash, verify_secret
from cloud.domain.accounts.phone import normalise_phone
from cloud.domain.accounts.schemas import MAX_SECRET, MIN_STAFF_PASSWORD, ProfilePublic, StudentCreate
from cloud.domain.accounts.sessions import TokenPair, issue_pair, revoke_session, start_session
from cloud.domain.accounts.users import UserRecord, create_user, find_by_login, get_user
from cloud.domain.activity.record import record_activity
from cloud.platform.errors import CloudError, Conflict, Forbidden, InvalidInput, Throttled, Unauthorized, Unavailable
from cloud.platform.languages import Language, language_or_none
from cloud.platform.settings import CloudSettings
from cloud.platform.storage.repository import insert_ignoring_duplicates
from cloud.platform.storage.tables import login_throttle, refresh_tokens, sessions, users
from cloud.platform.texts import text
from cloud.platform.unit_of_work import Transactions, Tx, committed_or_refused
from cloud.platform.viewer import STAFF, STUDENT, Viewer

log = logging.getLogger(__name__)

STAFF_USERNAME: Final = re.compile(r"[a-z][a-z0-9._-]{2,63}")
"""A letter first, so a username never reads as a student ID (they share the throttle's key space)."""
_CAS_TRIES: Final = 8
_WRONG: Final = {STUDENT: text("error.login.wrong_pin"), STAFF: text("error.login.wrong_password")}


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    role: str
    login: str
    secret: str = field(repr=False)
    address: str


# --- register, profile, staff --------------------------------------------------------------


def register(tx: Tx, body: StudentCreate, pin_hash: str) -> TokenPair:
    """A new student, logged in; ``Conflict`` (``already_registered``) if the ID is taken.

    ``pin_hash`` is computed by the caller before the transaction (see ``create_user``)."""
    phone = normalise_phone(body.phone_number, tx.settings.phone_region)
    if find_by_login(tx.conn, student_id=body.student_id) is not None:  # answer before spending a hash
        raise Conflict(text("error.already_registered"), code="already_registered")
    user = create_user(
        tx.conn, role=STUDENT, secret_hash=pin_hash, now=tx.now, student_id=body.student_id, phone_number=phone
    )
    record_activity(tx, "registered", text("activity.registered", student_id=body.student_id), user_id=user.id)
    return start_session(tx.conn, tx.settings, user.id, tx.now)


def profile(conn: Connection, viewer: Viewer) -> ProfilePublic:
    user = get_user(conn, viewer.id)
    if user is None:  # deleted since the token was checked
        raise Unauthorized(text("error.session.ended"), code="session_ended")
    return ProfilePublic(
        id=user.id,
        role=user.role,
        student_id=user.student_id,
        username=user.username,
        phone_number=user.phone_number,
        created_at=user.created_at,
        alert_before_minutes=user.alert_before_min,
        language=language_or_none(user.language),
    )


def update_profile(
    tx: Tx,
    viewer: Viewer,
    phone_number: str | None,
    alert_before_minutes: int | None = None,
    language: Language | None = None,
) -> ProfilePublic:
    """Change what was sent; a new lead time must then be followed by the viewer's active
    claims (``cloud.policy.preferences``, which calls this)."""
    if phone_number is not None:
        phone = normalise_phone(phone_number, tx.settings.phone_region)
        tx.conn.execute(update(users).where(users.c.id == viewer.id).values(phone_number=phone))
        record_activity(tx, "profile_updated", text("activity.phone_changed"), user_id=viewer.id)
    if alert_before_minutes is not None:
        tx.conn.execute(update(users).where(users.c.id == viewer.id).values(alert_before_min=alert_before_minutes))
        what = (
            text("activity.alert_minutes", minutes=alert_before_minutes)
            if alert_before_minutes
            else text("activity.alert_off")
        )
        record_activity(tx, "profile_updated", text("activity.alert_changed", what=what), user_id=viewer.id)
    if language is not None:
        tx.conn.execute(update(users).where(users.c.id == viewer.id).values(language=language))
    return profile(tx.conn, viewer)


def create_staff(conn: Connection, username: str, password: str, now: datetime) -> UserRecord:
    """A staff account (only the CLI calls this: the public API never creates staff)."""
    username = username.strip().lower()
    if not STAFF_USERNAME.fullmatch(username):
        raise InvalidInput(text("error.staff.username_form"))
    if not MIN_STAFF_PASSWORD <= len(password) <= MAX_SECRET:
        raise InvalidInput(text("error.staff.password_length", least=MIN_STAFF_PASSWORD, most=MAX_SECRET))
    if find_by_login(conn, username=username) is not None:
        raise Conflict(text("error.staff.username_taken", username=username), code="already_registered")
    return create_user(conn, role=STAFF, secret=password, now=now, username=username)


# --- log in ---------------------------------------------------------------------------------


def log_in(transactions: Transactions, attempt: LoginAttempt) -> TokenPair:
    """A new session for the right PIN/password; 401 ``invalid_credentials`` or 429 ``locked`` otherwise.

    An unknown login costs the same hash check and is throttled the same way as a known
    one, so neither timing nor locks tell which student IDs exist.
    """
    now = transactions.now()
    keys = _throttle_keys(transactions.settings, attempt)
    with transactions.engine.begin() as conn:
        wait = _admit(conn, keys, now)
        user = _find(conn, attempt) if wait is None else None
    if wait is not None:
        log.info("login refused while locked: %s %s from %s", attempt.role, attempt.login, attempt.address)
        seconds = max(1, math.ceil(wait.total_seconds()))
        raise Throttled(text("error.login.locked", seconds=seconds), retry_after=seconds, code="locked")
    ok = verify_secret(user.secret_hash if user else None, attempt.secret)
    new_hash = hash_secret(attempt.secret) if user and ok and needs_rehash(user.secret_hash) else None
    with committed_or_refused(), transactions.begin(now=now) as tx:
        _settle(tx.conn, keys, now, succeeded=ok)
        pair = _start(tx, user, new_hash) if user and ok else None
    if pair is None:
        log.info("login failed: %s %s from %s", attempt.role, attempt.login, attempt.address)
        raise Unauthorized(_WRONG[attempt.role], code="invalid_credentials")
    return pair


def _find(conn: Connection, attempt: LoginAttempt) -> UserRecord | None:
    if attempt.role == STUDENT:
        user = find_by_login(conn, student_id=attempt.login)
    else:
        user = find_by_login(conn, username=attempt.login)
    return user if user is not None and user.role == attempt.role else None


def _start(tx: Tx, user: UserRecord, new_hash: str | None) -> TokenPair:
    if new_hash is not None:
        tx.conn.execute(update(users).where(users.c.id == user.id).values(secret_hash=new_hash))
    record_activity(tx, "login", text("activity.logged_in", who=user.student_id or user.username), user_id=user.id)
    return start_session(tx.conn, tx.settings, user.id, tx.now)


# --- the throttle's rows: compare-and-set, so replicas sharing a database never lose a count --


ThrottleKeys = Sequence[tuple[str, throttle.Limits]]


def _throttle_keys(settings: CloudSettings, attempt: LoginAttempt) -> ThrottleKeys:
    return [
        (f"account:{attempt.login}", throttle.Limits.for_account(settings)),
        (f"address:{attempt.address}", throttle.Limits.for_address(settings)),
    ]


def _admit(conn: Connection, keys: ThrottleKeys, now: datetime) -> timedelta | None:
    """None if every key admits the attempt (now counted), else the longest wait.

    All or nothing: an attempt refused by its address is not counted against its account.
    """
    for _ in range(_CAS_TRIES):
        savepoint = conn.begin_nested()
        stored = [_load(conn, key) for key, _ in keys]
        decisions = [throttle.admit(row, now, limits) for row, (_, limits) in zip(stored, keys, strict=True)]
        waits = [d.retry_after for d in decisions if d.retry_after is not None]
        writes = [
            (key, old, decision.row)
            for (key, _), old, decision in zip(keys, stored, decisions, strict=True)
            if not waits or not decision.admitted
        ]
        if all(_store(conn, key, old, new) for key, old, new in writes):
            savepoint.commit()
            return max(waits, default=None)
        savepoint.rollback()  # another replica changed a row in between: decide again
    raise Unavailable(text("error.login.busy"))


def _settle(conn: Connection, keys: ThrottleKeys, now: datetime, *, succeeded: bool) -> None:
    for key, limits in keys:
        for _ in range(_CAS_TRIES):
            old = _load(conn, key)
            if old is None or _store(conn, key, old, throttle.settle(old, now, limits, succeeded=succeeded)):
                break
        else:
            log.warning("could not settle login throttle %s after %d tries", key, _CAS_TRIES)


def _load(conn: Connection, key: str) -> throttle.ThrottleRow | None:
    t = login_throttle.c
    row = conn.execute(select(t.failures, t.lockouts, t.locked_until, t.updated_at).where(t.key == key)).first()
    return throttle.ThrottleRow(*row) if row else None


def _store(conn: Connection, key: str, old: throttle.ThrottleRow | None, new: throttle.ThrottleRow) -> bool:
    """Write ``new`` only if the row is still ``old``; False when someone else got there first."""
    if old == new:
        return True
    values = dict(zip(("failures", "lockouts", "locked_until", "updated_at"), astuple(new), strict=True))
    if old is None:
        return insert_ignoring_duplicates(conn, login_throttle, {"key": key, **values}, ("key",))
    t = login_throttle.c
    unchanged = [
        t.key == key,
        t.failures == old.failures,
        t.lockouts == old.lockouts,
        t.locked_until.is_not_distinct_from(old.locked_until),
        t.updated_at == old.updated_at,
    ]
    return conn.execute(update(login_throttle).where(*unchanged).values(**values)).rowcount == 1


def purge_throttle(conn: Connection, now: datetime, settings: CloudSettings) -> int:
    """Delete throttle rows quiet for a longest lock (their lock level is forgiven by then anyway).

    Unknown student IDs get rows too, so without this the table only grows; meant for
    a periodic job on any one replica. Returns how many rows went.
    """
    quiet_since = now - timedelta(minutes=settings.login_lock_max_minutes)
    t = login_throttle.c
    stale = (t.updated_at <= quiet_since, or_(t.locked_until.is_(None), t.locked_until <= quiet_since))
    return conn.execute(delete(login_throttle).where(*stale)).rowcount


# --- refresh and log out --------------------------------------------------------------------


def refresh(transactions: Transactions, token: str) -> TokenPair:
    """A new pair in the same session; the presented refresh token is used up.

    A refresh token presented twice means two parties hold it (one of them a thief), so the
    whole session ends. That revocation must be committed although the request fails,
    hence the error is returned from the transaction and raised after it.
    """
    now = transactions.now()
    claims = tokens.decode(transactions.settings.secret_key.get_secret_value(), token, expected="refresh", now=now)
    with committed_or_refused(), transactions.begin(now=now) as tx:
        outcome = _rotate(tx, claims)
    if isinstance(outcome, CloudError):
        raise outcome
    return outcome


def _rotate(tx: Tx, claims: tokens.TokenClaims) -> TokenPair | CloudError:
    this_token = (refresh_tokens.c.jti == claims.jti, refresh_tokens.c.session_id == claims.session_id)
    used_now = tx.conn.execute(
        update(refresh_tokens).where(*this_token, refresh_tokens.c.used_at.is_(None)).values(used_at=tx.now)
    ).rowcount
    if not used_now:
        if tx.conn.execute(select(refresh_tokens.c.jti).where(*this_token)).first() is None:
            return Unauthorized("the token is not valid", code="invalid_token")
        tx.changes.end_session(claims.session_id)
        if revoke_session(tx.conn, claims.session_id, tx.now, "token_reused"):
            log.warning("refresh token reused: session of user %s revoked", claims.user_id)
        return Unauthorized("this refresh token was already used; the session is ended", code="token_reused")
    live = tx.conn.execute(
        select(sessions.c.id).where(
            sessions.c.id == claims.session_id, sessions.c.user_id == claims.user_id, sessions.c.revoked_at.is_(None)
        )
    ).first()
    if live is None:
        return Unauthorized("this session has ended; log in again", code="session_ended")
    return issue_pair(tx.conn, tx.settings, claims.user_id, claims.session_id, tx.now)


def log_out(tx: Tx, viewer: Viewer, refresh_token: str) -> None:
    """End the bearer's session; 403 ``wrong_session`` if the refresh token is from another one.

    403 rather than 401: the caller is authenticated, but may only end its own session.
    """
    claims = tokens.decode(tx.settings.secret_key.get_secret_value(), refresh_token, expected="refresh", now=tx.now)
    if claims.session_id != viewer.session_id or claims.user_id != viewer.id:
        raise Forbidden(text("error.session.wrong_refresh_token"), code="wrong_session")
    revoke_session(tx.conn, viewer.session_id, tx.now, "logout")
    tx.changes.end_session(viewer.session_id)
    record_activity(tx, "logout", text("activity.logged_out"), user_id=viewer.id)
