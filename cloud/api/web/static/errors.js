// One clear sentence for every API failure: by the error's code where we can say it better,
// otherwise the server's own message (they are written for students).

import { ApiError } from "./api.js";
import { capitalise, clock, duration } from "./format.js";

const BY_CODE = {
  invalid_credentials: () => "Wrong student ID or PIN. Check both and try again.",
  locked: (e) => `Too many wrong attempts: login is locked. Try again in ${duration(e.retryAfter ?? 60)}.`,
  already_registered: () => "This student ID already has an account: log in instead.",
  machine_taken: () => "Someone else just claimed that machine. Pick another one, or join the waitlist.",
  machine_reserved: (e) =>
    `That machine is held for the next student on the waitlist${e.details.until ? ` until ${clock(e.details.until)}` : ""}.`,
  hold_expired: () =>
    "Your hold on that machine ran out, so it went to the next student on the waitlist. " +
    "Join the waitlist again or pick a free machine.",
  machine_in_use: (e) => `${e.message}: it cannot be claimed now.`,
  claim_limit: (e) => capitalise(e.message) + ".",
  photo_too_large: (e) =>
    `The photo is too large (the limit is ${Math.floor((e.details.max_bytes ?? 0) / 1048576) || "a few"} MB). ` +
    "Take a smaller one or send the report without it.",
  unsupported_photo: () => "That file is not a JPEG, PNG or WebP photo. Choose a photo, or send the report without it.",
  session_ended: () => "Your session has ended: log in again.",
  token_reused: () => "Your session was ended for safety: log in again.",
  not_authenticated: () => "Log in first.",
};

const FIELD_NAMES = {
  phone_number: "Phone number",
  student_id: "Student ID",
  pin: "PIN",
  username: "Username",
  password: "Password",
  description: "Description",
  photo: "Photo",
  note: "Note",
  reason: "Reason",
};

/** "phone_number: is not a possible..." → "Phone number is not a possible...": people, not field names. */
function inWords(message) {
  const named = /^([a-z][a-z0-9_]*): (.*)$/s.exec(message);
  if (!named) return capitalise(message);
  const field = FIELD_NAMES[named[1]] ?? capitalise(named[1].replaceAll("_", " "));
  return `${field} ${named[2]}`;
}

const BY_STATUS = {
  401: "Log in again: your session has ended.",
  403: "Only staff can do that.",
  404: "Not found: it may have just been removed.",
  409: "That clashes with what just happened: the page is up to date now, try again.",
  413: "That upload is too large.",
  415: "That file type is not accepted.",
  422: "Some of what you entered is not valid.",
  503: "The service is busy or down; try again in a moment.",
};

/** A message for a person, for any error a call may throw. */
export function errorText(error) {
  if (!(error instanceof ApiError)) return "Cannot reach the server. Check your connection and try again.";
  const special = BY_CODE[error.code];
  if (special) return special(error);
  if (error.status === 429) return `Too many requests: wait ${duration(error.retryAfter ?? 5)} and try again.`;
  if (error.message && !error.message.startsWith("The server answered")) {
    const text = inWords(error.message);
    return /[.!?]$/.test(text) ? text : `${text}.`;
  }
  return BY_STATUS[error.status] ?? `Something went wrong (${error.status}); try again.`;
}
