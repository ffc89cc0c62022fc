// One clear sentence for every API failure: by the error's code where we can say it better,
// otherwise the server's own message (written for students, in the language the page asked
// for: api.js sends Accept-Language, and a logged-in reader's own choice wins on the server).

import { ApiError } from "./api.js";
import { capitalise, clock, duration } from "./format.js";
import { t } from "./i18n.js";

const BY_CODE = {
  invalid_credentials: () => t("errors.invalid_credentials"),
  locked: (e) => t("errors.locked", { wait: duration(e.retryAfter ?? 60) }),
  already_registered: () => t("errors.already_registered"),
  machine_taken: () => t("errors.machine_taken"),
  machine_reserved: (e) => (e.details.until ? t("errors.machine_reserved_until", { time: clock(e.details.until) }) : t("errors.machine_reserved")),
  hold_expired: () => t("errors.hold_expired"),
  machine_in_use: (e) => t("errors.machine_in_use", { message: e.message }),
  claim_limit: (e) => capitalise(e.message) + ".",
  photo_too_large: (e) => t("errors.photo_too_large", { mb: Math.floor((e.details.max_bytes ?? 0) / 1048576) || t("errors.a_few") }),
  unsupported_photo: () => t("errors.unsupported_photo"),
  session_ended: () => t("errors.session_ended"),
  token_reused: () => t("errors.token_reused"),
  not_authenticated: () => t("errors.not_authenticated"),
};

const FIELD_NAMES = {
  phone_number: "login.phone",
  student_id: "login.student_id",
  pin: "login.pin",
  username: "login.username",
  password: "login.password",
  description: "errors.field_description",
  photo: "errors.field_photo",
  note: "errors.field_note",
  reason: "errors.field_reason",
};

/** "phone_number: is not a possible..." → "Phone number is not a possible...": people, not field names. */
function inWords(message) {
  const named = /^([a-z][a-z0-9_]*): (.*)$/s.exec(message);
  if (!named) return capitalise(message);
  const field = FIELD_NAMES[named[1]] ? t(FIELD_NAMES[named[1]]) : capitalise(named[1].replaceAll("_", " "));
  return `${field} ${named[2]}`;
}

const BY_STATUS = {
  401: "errors.status_401",
  403: "errors.status_403",
  404: "errors.status_404",
  409: "errors.status_409",
  413: "errors.status_413",
  415: "errors.status_415",
  422: "errors.status_422",
  503: "errors.status_503",
};

/** A message for a person, for any error a call may throw. */
export function errorText(error) {
  if (!(error instanceof ApiError)) return t("errors.unreachable");
  const special = BY_CODE[error.code];
  if (special) return special(error);
  if (error.status === 429) return t("errors.too_many", { wait: duration(error.retryAfter ?? 5) });
  if (error.message && !error.message.startsWith("The server answered")) {
    const text = inWords(error.message);
    return /[.!?]$/.test(text) ? text : `${text}.`;
  }
  return BY_STATUS[error.status] ? t(BY_STATUS[error.status]) : t("errors.status_other", { status: error.status });
}
