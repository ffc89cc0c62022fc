// The room's one line at the top: "2 washers free · dryers: next in ~6 min".
// Pure: the machine views and a time in, the parts out (table-tested in tests/e2e/test_web_time_left.py).

import { now as serverNow } from "./server_clock.js";
import { t } from "./i18n.js";

/** One part per kind the room has: how many are free, else when the soonest in use should be (null: no estimate). */
export function summaryParts(machines, now = serverNow()) {
  const parts = [];
  for (const kind of ["washer", "dryer"]) {
    const ofKind = machines.filter((m) => m.kind === kind);
    if (!ofKind.length) continue;
    const free = ofKind.filter((m) => m.usage === "free" || m.reserved_for_me).length;
    const ends = ofKind.filter((m) => m.usage === "in_use" && m.expected_end).map((m) => Date.parse(m.expected_end));
    const unknown = ofKind.every((m) => m.usage === "unknown");
    const nextInMin = !free && ends.length ? Math.max(0, Math.ceil((Math.min(...ends) - now) / 60000)) : null;
    parts.push({ kind, free, nextInMin, unknown, text: partText(kind, free, nextInMin, unknown) });
  }
  return parts;
}

function partText(kind, free, nextInMin, unknown) {
  const plural = t(kind === "dryer" ? "summary.dryers" : "summary.washers");
  if (free) return t(kind === "dryer" ? "summary.dryers_free" : "summary.washers_free", { count: free });
  if (unknown) return t("summary.unknown", { kinds: plural });
  if (nextInMin === null) return t("summary.no_estimate", { kinds: plural });
  return nextInMin > 0 ? t("summary.next_in", { kinds: plural, minutes: nextInMin }) : t("summary.next_any_minute", { kinds: plural });
}

export const summaryLine = (parts) => parts.map((part) => part.text).join(" · ");
