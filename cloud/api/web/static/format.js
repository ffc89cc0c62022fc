// Times and durations for people: "14:05", "12 min ago", "4:59" (a countdown). Clock times and
// dates are the room's (its IANA zone from the API, `setTimeZone`), not this device's, and in the
// page's language.

import { language, t } from "./i18n.js";
import { now as serverNow } from "./server_clock.js";

let zone = "UTC";

/** The room's time zone, from GET /api/v1/rooms or the machines' answer (an unknown one is ignored). */
export function setTimeZone(timezone) {
  if (!timezone) return;
  try {
    new Intl.DateTimeFormat("en", { timeZone: timezone });
    zone = timezone;
  } catch {
    // not a zone this browser knows: keep the last one
  }
}

export const timeZone = () => zone;

const formatted = (date, options) => new Intl.DateTimeFormat(language(), { timeZone: zone, ...options }).format(date);

/** The room's calendar day of a moment, as "2026-12-04". */
const roomDay = (date) => new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(date);

export function clock(iso) {
  return formatted(new Date(iso), { hour: "2-digit", minute: "2-digit" });
}

/** "Today", "Yesterday" or "Tue 1 Dec", in the room's calendar. */
export function dayLabel(iso, now = serverNow()) {
  const date = new Date(iso);
  if (roomDay(date) === roomDay(new Date(now))) return t("format.today");
  if (roomDay(date) === roomDay(new Date(now - 86_400_000))) return t("format.yesterday");
  return formatted(date, { weekday: "short", day: "numeric", month: "short" });
}

export function dayAndClock(iso) {
  const date = new Date(iso);
  if (roomDay(date) === roomDay(new Date(serverNow()))) return clock(iso);
  return formatted(date, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

export function ago(iso) {
  const seconds = Math.round((serverNow() - Date.parse(iso)) / 1000);
  if (seconds < 45) return t("format.just_now");
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return t("format.min_ago", { minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return t("format.h_min_ago", { hours, minutes: minutes % 60 });
  return dayAndClock(iso);
}

/** "20 s ago", "3 min ago", "2 h ago": how old a reading is (a time ahead of this device's clock counts as now). */
export function age(iso, now = serverNow()) {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return t("format.s_ago", { seconds });
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return t("format.min_ago", { minutes });
  return t("format.h_ago", { hours: Math.floor(minutes / 60) });
}

/** "About 12 min left", to anyone, until `iso` (a machine's expected end). */
export function timeLeft(iso) {
  const left = minutesUntil(iso);
  return left > 0 ? t("format.time_left", { minutes: left }) : t("format.free_any_minute");
}

export function minutesSince(iso) {
  return Math.max(0, Math.round((serverNow() - Date.parse(iso)) / 60000));
}

/** Whole minutes from now until `iso` (0 once it has passed). */
export function minutesUntil(iso) {
  return Math.max(0, Math.ceil((Date.parse(iso) - serverNow()) / 60000));
}

/** "4:05" left until `iso`, or "" once it has passed. */
export function countdown(iso) {
  const seconds = Math.floor((Date.parse(iso) - serverNow()) / 1000);
  if (seconds <= 0) return "";
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

/** "about 3 minutes" / "45 seconds": how long a lockout lasts. */
export function duration(seconds) {
  if (seconds < 60) return t("format.seconds", { count: seconds });
  const minutes = Math.ceil(seconds / 60);
  if (minutes <= 90) return t("format.minutes", { count: minutes });
  return t("format.hours", { count: Math.round(minutes / 60) });
}

export const capitalise = (text) => text.charAt(0).toUpperCase() + text.slice(1);

/** "Washer 2" / "Lavadora 2". */
export const machineName = (kind, number) => t(kind === "dryer" ? "format.dryer_n" : "format.washer_n", { number });

/** "Tue 8 Dec" for a calendar date "2026-12-08" (a date, not a moment: no time zone shift). */
export function day(isoDate) {
  const [year, month, date] = isoDate.split("-").map(Number);
  return new Intl.DateTimeFormat(language(), { timeZone: "UTC", weekday: "short", day: "numeric", month: "short" }).format(
    new Date(Date.UTC(year, month - 1, date)),
  );
}

/** What a repair's status means to a student: "Repair scheduled for Tue 8 Dec". */
export function repairStatusText(status, eta) {
  switch (status) {
    case "open":
      return t("repair.open");
    case "acknowledged":
      return t("repair.acknowledged");
    case "scheduled":
      return eta ? t("repair.scheduled_for", { day: day(eta) }) : t("repair.scheduled");
    case "resolved":
      return t("repair.resolved");
    case "wont_fix":
      return t("repair.wont_fix");
    default:
      return status;
  }
}
