"""The cloud service's settings, read from ``KYWASH_*`` environment variables and checked at start.

Built by ``load_settings()`` (or ``CloudSettings()``) when the app is created, never at
import time, so tests and the CLI can pass their own values. Production refuses the
development secret, so a forgotten variable stops the service instead of weakening it.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, Final, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY: Final = "kywash-development-secret-change-me"
DEFAULT_VAPID_SUBJECT: Final = "mailto:admin@kywash.invalid"
MIN_SECRET_LENGTH: Final = 32
_ID_OR_WILDCARD = re.compile(r"^(\+|[a-z0-9][a-z0-9_-]{0,62})$")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_CONTACT = re.compile(r"^(mailto:[^@\s]+@[^@\s]+\.[^@\s]+|https://[^\s/]+\.[^\s]+)$")


def _random_client_id() -> str:
    return f"kywash-cloud-{secrets.token_hex(4)}"


class CloudSettings(BaseSettings):
    """Everything the cloud needs to start; every field is ``KYWASH_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="KYWASH_", extra="ignore", validate_default=True)

    environment: Literal["development", "production"] = "development"
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    database_url: str = "sqlite:///./data/kywash.db"
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_client_id: str = Field(default_factory=_random_client_id, min_length=1, max_length=128)
    mqtt_clean_session: bool = True
    """False (with a fixed ``mqtt_client_id``) lets the broker keep QoS 1 events while we restart."""
    mqtt_shared_group: str | None = None
    """Replicas on Mosquitto share machine state/event topics via ``$share/{group}/...``."""
    replica_fanout: bool = False
    """Share live changes with the other replicas over the broker (see cloud/processes/fanout.py).
    Turn it on when running several replicas; one replica has nobody to share with, and each
    change would cost a publish and, on the embedded broker, its routing."""
    ingest_enabled: bool = True
    auto_register_rooms: bool = True
    ingest_site: str = "+"
    """Which site's topics to subscribe; ``+`` for all."""
    ingest_room: str = "+"
    ingest_batch_max: int = Field(default=200, ge=1, le=5000)
    """At most this many queued messages are applied in one transaction (1: one at a time)."""
    summary_every_s: float = Field(default=1.0, ge=0, le=60)
    """A room's retained summary is rebuilt at most this often under load; the first change in a
    quiet room goes out at once, and the last one always does (0: after every change)."""
    default_site: str | None = None
    """The room the API and web page show when a request names none (and there are several)."""
    default_room: str | None = None
    timezone: str = "UTC"
    """The campus's IANA time zone (e.g. ``Europe/London``): busy hours are in its local time."""
    site_timezones: dict[str, str] = Field(default_factory=dict)
    """Per-site IANA time zones as JSON (``{"north": "Europe/Madrid"}``): a site not named
    here uses ``timezone``. Pages and notifications show times in the room's zone."""
    public_url: str | None = None
    """The address students reach the web app at (``https://wash.example.edu``): QR codes on the
    wall display link there. Unset: the address the display's own request came in on."""
    websocket_queue_size: int = Field(default=256, ge=8, le=100_000)
    """Messages buffered per WebSocket client before a slow one is dropped (it resyncs)."""

    # --- accounts ---
    access_token_minutes: float = Field(default=15, gt=0, le=24 * 60)
    refresh_token_days: float = Field(default=30, gt=0, le=365)
    phone_region: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    """Country assumed for phone numbers written without a ``+`` country code."""
    login_max_failures: int = Field(default=5, ge=1, le=100)
    """Wrong PINs in a row before an account is locked."""
    login_lock_minutes: float = Field(default=1, gt=0)
    """The first lock; each further lock of the same account doubles it."""
    login_lock_max_minutes: float = Field(default=60, gt=0)
    address_max_failures: int = Field(default=20, ge=1, le=10_000)
    """Wrong PINs from one client address (any accounts) before that address is locked."""
    trust_forwarded_for: bool = False
    """Take the client address from ``X-Forwarded-For`` (only behind a trusted reverse proxy)."""

    # --- claims, waitlists, reminders ---
    claim_confirm_minutes: float = Field(default=5, gt=0)
    """How long the sensors have to see a claimed machine start before the claim expires."""
    hold_minutes: float = Field(default=5, gt=0)
    """How long a free machine is held for the head of the waitlist."""
    reminder_minutes: float = Field(default=10, gt=0)
    """Remind a claimant whose finished machine's door stays shut, this often..."""
    reminder_max: int = Field(default=3, ge=0, le=20)
    """...at most this many times."""
    claims_per_student: int = Field(default=1, ge=1, le=12)
    """Live claims a student may hold per machine type at once."""
    timer_interval_s: float = Field(default=1.0, gt=0, le=60)
    """How often each replica looks for deadlines that have passed."""
    timer_loop: bool = True
    """Fire deadlines in this process (tests turn it off and fire them on their own clock)."""

    # --- event sequence (cloud/domain/ingest/gaps.py) ---
    replay_after_s: float = Field(default=5, gt=0, le=3600)
    """How long a gap in a room's event sequence may stay open (events may simply be out of
    order) before the cloud asks the edge to replay the missing events."""
    replay_retry_s: float = Field(default=60, gt=0, le=86_400)
    """While a gap stays open, ask again after this long; each further retry waits twice as
    long as the one before, up to ``replay_retry_max_s`` (a gap the edge can no longer fill,
    its archive trimmed, must not cost a full replay every minute forever)."""
    replay_retry_max_s: float = Field(default=3600, gt=0, le=7 * 86_400)
    """The longest wait between two requests for the same open gaps."""

    # --- staff alarms (cloud/domain/alarms/) ---
    staff_alarm_silent_minutes: float = Field(default=5, gt=0, le=24 * 60)
    """A room's edge unheard for longer than this opens a "sensors silent" alarm for staff."""

    # --- faults ---
    fault_threshold: int = Field(default=3, ge=1, le=100)
    """Open reports from distinct students that take a machine out of service."""
    photo_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    photo_dir: str = "./data/photos"
    """Where fault photos are kept: outside the web root, served only through the API."""

    # --- web push (cloud/domain/push/, cloud/processes/push_sender.py) ---
    web_push: bool = True
    """Send notifications to students' browsers through their push service (Web Push), so
    they arrive with the page closed. Off: the push endpoints answer 404 and nothing is sent."""
    vapid_key_path: str = "./data/vapid_private.pem"
    """The VAPID private key (PEM, mode 0600), made on first start and reused after: browsers
    subscribe against its public key, so a new key orphans every subscription. Replicas must
    share one file (or copies of it)."""
    vapid_subject: str = DEFAULT_VAPID_SUBJECT
    """Who push services contact about our traffic (the JWT's ``sub``): ``mailto:`` or ``https:``."""

    # --- staff MQTT dashboards (cloud/domain/dashboards/, cloud/policy/dashboard_commands.py) ---
    ha_discovery: bool = True
    """Publish Home Assistant MQTT discovery for every machine (retained), again whenever Home
    Assistant announces itself on ``<prefix>/status``."""
    ha_discovery_prefix: str = Field(default="homeassistant", pattern=r"^[A-Za-z0-9_-]+$")
    ha_command_user: str = Field(default="homeassistant", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
    """Home Assistant's broker username: its out-of-service switches publish on ``cmd/<this>``."""

    # --- outgoing webhooks (cloud/domain/webhooks/, cloud/processes/webhook_sender.py) ---
    webhook_sender: bool = True
    """Send queued webhook deliveries from this process (tests turn it off and send them on their
    own clock). Every replica may run it: each attempt is leased by one of them."""
    webhook_allow_private: bool | None = None
    """Allow webhook targets on loopback, private, link-local or other non-global addresses. Unset:
    allowed in development (the demo, tests), refused in production (a staff account must not
    be able to make the server call into its own network)."""
    webhook_timeout_s: float = Field(default=10, gt=0, le=60)
    """How long one delivery attempt may take before it counts as failed."""
    webhook_retry_base_s: float = Field(default=10, gt=0, le=3600)
    """The wait before the first retry; each further retry waits twice as long (with jitter)..."""
    webhook_retry_max_s: float = Field(default=3600, gt=0, le=86_400)
    """...but never longer than this."""
    webhook_retry_for_s: float = Field(default=86_400, gt=0, le=30 * 86_400)
    """A delivery still failing this long after its event is marked failed and not tried again."""
    webhook_poll_s: float = Field(default=2, gt=0, le=60)
    """How often an idle sender looks for retries that fell due and rows other replicas queued
    (rows this replica queues wake it at once)."""
    webhook_workers: int = Field(default=2, ge=1, le=32)
    """Deliveries sent at the same time by one replica (one slow receiver does not hold up the rest)."""

    @field_validator("secret_key")
    @classmethod
    def _strong_secret_in_production(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        if info.data.get("environment") != "production":
            return value
        secret = value.get_secret_value()
        if secret == DEFAULT_SECRET_KEY:
            raise ValueError("the development default is refused in production; set KYWASH_SECRET_KEY")
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"must be at least {MIN_SECRET_LENGTH} characters in production "
                "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value.startswith(("postgres://", "postgresql://")):
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        if not value.startswith(("sqlite://", "postgresql+psycopg://")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError("must start with mqtt:// or mqtts:// (TLS)")
        if not parts.hostname:
            raise ValueError("needs a host, as in mqtt://127.0.0.1:1883")
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise ValueError("has an invalid port") from None
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("must be an http:// or https:// address such as https://wash.example.edu")
        return value.rstrip("/")

    @field_validator("vapid_subject")
    @classmethod
    def _contact_uri(cls, value: str) -> str:
        if not _CONTACT.match(value):
            raise ValueError("must be a mailto: or https:// contact, as in mailto:laundry@example.edu")
        return value

    @field_validator("mqtt_shared_group", "default_site", "default_room")
    @classmethod
    def _plain_id(cls, value: str | None) -> str | None:
        if value is not None and not _ID.match(value):
            raise ValueError("must be 1-63 characters of a-z, 0-9, '-' or '_'")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}: use an IANA name such as Europe/London") from None
        return value

    @field_validator("site_timezones")
    @classmethod
    def _known_site_timezones(cls, value: dict[str, str]) -> dict[str, str]:
        for site, zone in value.items():
            if not _ID.match(site):
                raise ValueError(f"site {site!r}: must be 1-63 characters of a-z, 0-9, '-' or '_'")
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"site {site!r}: unknown time zone {zone!r}: use an IANA name such as Europe/Madrid"
                ) from None
        return value

    def timezone_of(self, site: str) -> str:
        """The IANA zone a site's rooms keep time in: its own if set, else the campus's."""
        return self.site_timezones.get(site, self.timezone)

    @field_validator("ingest_site", "ingest_room")
    @classmethod
    def _id_or_wildcard(cls, value: str) -> str:
        if not _ID_OR_WILDCARD.match(value):
            raise ValueError("must be '+' (all) or an id of a-z, 0-9, '-' or '_'")
        return value

    @model_validator(mode="after")
    def _persistent_session_needs_fixed_id(self) -> CloudSettings:
        if not self.mqtt_clean_session and "mqtt_client_id" not in self.model_fields_set:
            raise ValueError("mqtt_clean_session=false needs a fixed KYWASH_MQTT_CLIENT_ID")
        return self

    @property
    def webhook_private_targets(self) -> bool:
        """Whether webhooks may target non-global addresses (``webhook_allow_private``, else not in production)."""
        if self.webhook_allow_private is not None:
            return self.webhook_allow_private
        return self.environment != "production"

    @property
    def mqtt_host(self) -> str:
        return urlsplit(self.mqtt_url).hostname or "127.0.0.1"

    @property
    def mqtt_port(self) -> int:
        parts = urlsplit(self.mqtt_url)
        return parts.port or (8883 if parts.scheme == "mqtts" else 1883)

    @property
    def mqtt_tls(self) -> bool:
        return urlsplit(self.mqtt_url).scheme == "mqtts"


def load_settings(**overrides: Any) -> CloudSettings:
    """Settings from the environment, with ``overrides`` (not None) taking precedence."""
    return CloudSettings(**{key: value for key, value in overrides.items() if value is not None})


def describe_errors(exc: ValidationError) -> list[str]:
    """One ``<field>: <message>`` line per problem, for the CLI (no traceback)."""
    lines = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{field}: {message}")
    return lines
