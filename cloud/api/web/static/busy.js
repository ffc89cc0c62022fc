// Busy hours: how full the room usually is by weekday and hour, as a 7×24 heatmap table (each cell
// has its figure as text for screen readers), plus the quietest times as a plain list. An hour
// the history does not cover yet is "no data" (hatched), never "quiet": a new room is not empty.
// The API offers as quietest only hours under 25 % busy, so the list may be empty: then it says so.

import { api } from "./api.js";
import { $, h, srOnly } from "./dom.js";
import { errorText } from "./errors.js";
import { dayAndClock } from "./format.js";
import { language, onLanguageChange, t } from "./i18n.js";

/** The weekday names (Monday first) in the page's language: long and short. */
function dayNames(style) {
  const monday = Date.UTC(2026, 0, 5); // a Monday
  const format = new Intl.DateTimeFormat(language(), { weekday: style, timeZone: "UTC" });
  return Array.from({ length: 7 }, (_, i) => format.format(new Date(monday + i * 86_400_000)));
}
const LEVELS = [0.05, 0.25, 0.5, 0.75]; // level 0..4 by share of machines busy

const level = (share) => LEVELS.filter((edge) => share >= edge).length;
const hourText = (hour) => `${String(hour).padStart(2, "0")}:00`;
const percent = (share) => `${Math.round(share * 100)}%`;

function table(data, kind) {
  const byCell = new Map(data.hours.map((c) => [`${c.weekday}/${c.hour}`, c]));
  const [days, short] = [dayNames("long"), dayNames("short")];
  const head = h("tr", {}, h("th", { scope: "col" }, srOnly(t("busy.day"))), ...Array.from({ length: 24 }, (_, hour) =>
    h("th", { scope: "col", class: hour % 3 === 0 ? "hour" : "hour minor" }, h("span", { "aria-hidden": "true" }, hour % 3 === 0 ? String(hour) : ""), srOnly(hourText(hour))),
  ));
  const rows = days.map((day, weekday) =>
    h("tr", {}, h("th", { scope: "row" }, h("span", { "aria-hidden": "true" }, short[weekday]), srOnly(day)), ...Array.from({ length: 24 }, (_, hour) => {
      const cell = byCell.get(`${weekday}/${hour}`);
      const covered = cell?.covered ?? false;
      const share = cell?.[kind] ?? 0;
      const busy = covered ? t("busy.cell", { percent: percent(share) }) : t("busy.no_data");
      return h("td", { class: covered ? `heat l${level(share)}` : "heat none", title: `${day} ${hourText(hour)}: ${busy}` }, srOnly(busy));
    })),
  );
  return h(
    "table",
    { class: "heatmap" },
    h("caption", { class: "sr-only" }, t(`busy.caption_${kind === "all" ? "all" : kind}`, { zone: data.timezone })),
    h("thead", {}, head),
    h("tbody", {}, ...rows),
  );
}

function quietest(data) {
  return data.quietest.slice(0, 5).map((q) => {
    const when = q.starts_at ? dayAndClock(q.starts_at) : `${dayNames("long")[q.weekday]} ${hourText(q.hour)}`;
    return h("li", {}, t("busy.usually", { when, percent: percent(q.all) }));
  });
}

let last = null;

function draw() {
  if (!last) return;
  $("busy-chart").replaceChildren(table(last, $("busy-kind").value));
  $("busy-summary").textContent = last.cycles
    ? t("busy.summary", { cycles: last.cycles, weeks: last.weeks, zone: last.timezone })
    : t("busy.no_cycles");
  $("busy-quiet").replaceChildren(...quietest(last));
  const none = last.quietest.length === 0;
  $("busy-quiet").hidden = none;
  $("busy-no-quiet").hidden = !none;
}

/** Load the chart for the room (on opening the Room tab or choosing another room). */
export async function loadBusyHours(choice) {
  if (!choice) {
    $("busy-panel").hidden = true;
    return;
  }
  $("busy-panel").hidden = false;
  try {
    last = await api(`/api/v1/rooms/${encodeURIComponent(choice.room)}/busy-hours?site=${encodeURIComponent(choice.site)}&weeks=8`);
  } catch (error) {
    last = null;
    $("busy-chart").replaceChildren(h("p", { class: "muted" }, t("busy.unavailable", { error: errorText(error) })));
    $("busy-quiet-panel").hidden = true;
    $("busy-summary").textContent = "";
    return;
  }
  $("busy-quiet-panel").hidden = false;
  draw();
}

export function setupBusyHours() {
  $("busy-kind").addEventListener("change", draw);
  onLanguageChange(draw);
}
