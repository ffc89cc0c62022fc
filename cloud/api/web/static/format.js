// Times and durations for people: "14:05", "12 min ago", "4:59" (a countdown).

import { now as serverNow } from "./server_clock.js";

export function clock(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function dayAndClock(iso) {
  const date = new Date(iso);
  const today = new Date(serverNow()).toDateString() === date.toDateString();
  if (today) return clock(iso);
  return date.toLocaleString([], { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

export function ago(iso) {
  const seconds = Math.round((serverNow() - Date.parse(iso)) / 1000);
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${minutes % 60} min ago`;
  return dayAndClock(iso);
}

/** "20 s ago", "3 min ago", "2 h ago": how old a reading is (a time ahead of this device's clock counts as now). */
export function age(iso, now = serverNow()) {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  return `${Math.floor(minutes / 60)} h ago`;
}

/** "About 12 min left", to anyone, until `iso` (a machine's expected end). */
export function timeLeft(iso) {
  const left = minutesUntil(iso);
  return left > 0 ? `About ${left} min left` : "Should be free any minute";
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
  if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes <= 90) return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  const hours = Math.round(minutes / 60);
  return `${hours} hours`;
}

export const capitalise = (text) => text.charAt(0).toUpperCase() + text.slice(1);

export const machineName = (kind, number) => `${capitalise(kind)} ${number}`;

/** "Tue 8 Dec" for a calendar date "2026-12-08" (read as a local date: no time zone shift). */
export function day(isoDate) {
  const [year, month, date] = isoDate.split("-").map(Number);
  return new Date(year, month - 1, date).toLocaleDateString([], { weekday: "short", day: "numeric", month: "short" });
}

/** What a repair's status means to a student: "Repair scheduled for Tue 8 Dec". */
export function repairStatusText(status, eta) {
  switch (status) {
    case "open":
      return "Reported, not yet seen by staff";
    case "acknowledged":
      return "Seen by staff";
    case "scheduled":
      return eta ? `Repair scheduled for ${day(eta)}` : "Repair scheduled";
    case "resolved":
      return "Resolved";
    case "wont_fix":
      return "Will not be repaired";
    default:
      return status;
  }
}
