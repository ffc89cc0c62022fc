// Busy hours: how full the room usually is by weekday and hour, as a 7×24 heatmap table (each cell
// has its figure as text for screen readers), plus the quietest times as a plain list.

import { api } from "./api.js";
import { $, h, srOnly } from "./dom.js";
import { errorText } from "./errors.js";
import { dayAndClock } from "./format.js";

const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const LEVELS = [0.05, 0.25, 0.5, 0.75]; // level 0..4 by share of machines busy

const level = (share) => LEVELS.filter((edge) => share >= edge).length;
const hourText = (hour) => `${String(hour).padStart(2, "0")}:00`;
const percent = (share) => `${Math.round(share * 100)}%`;

function table(data, kind) {
  const byCell = new Map(data.hours.map((c) => [`${c.weekday}/${c.hour}`, c]));
  const head = h("tr", {}, h("th", { scope: "col" }, srOnly("Day")), ...Array.from({ length: 24 }, (_, hour) =>
    h("th", { scope: "col", class: hour % 3 === 0 ? "hour" : "hour minor" }, h("span", { "aria-hidden": "true" }, hour % 3 === 0 ? String(hour) : ""), srOnly(hourText(hour))),
  ));
  const rows = DAYS.map((day, weekday) =>
    h("tr", {}, h("th", { scope: "row" }, h("span", { "aria-hidden": "true" }, day.slice(0, 3)), srOnly(day)), ...Array.from({ length: 24 }, (_, hour) => {
      const share = byCell.get(`${weekday}/${hour}`)?.[kind] ?? 0;
      return h("td", { class: `heat l${level(share)}`, title: `${day} ${hourText(hour)}: ${percent(share)} busy` }, srOnly(`${percent(share)} busy`));
    })),
  );
  return h(
    "table",
    { class: "heatmap" },
    h("caption", { class: "sr-only" }, `Share of ${kind === "all" ? "machines" : kind} in use by weekday and hour, ${data.timezone} time`),
    h("thead", {}, head),
    h("tbody", {}, ...rows),
  );
}

function quietest(data) {
  return data.quietest.slice(0, 5).map((q) => {
    const when = q.starts_at ? dayAndClock(q.starts_at) : `${DAYS[q.weekday]} ${hourText(q.hour)}`;
    return h("li", {}, `${when} (usually ${percent(q.all)} busy)`);
  });
}

let last = null;

function draw() {
  if (!last) return;
  $("busy-chart").replaceChildren(table(last, $("busy-kind").value));
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
    $("busy-chart").replaceChildren(h("p", { class: "muted" }, `Busy hours are not available: ${errorText(error)}`));
    $("busy-quiet-panel").hidden = true;
    $("busy-summary").textContent = "";
    return;
  }
  $("busy-summary").textContent = last.cycles
    ? `From ${last.cycles} cycles over the last ${last.weeks} weeks (${last.timezone} time).`
    : "No cycles recorded yet: the chart fills in as the room is used.";
  $("busy-quiet-panel").hidden = !last.cycles || last.quietest.length === 0;
  $("busy-quiet").replaceChildren(...quietest(last));
  draw();
}

export function setupBusyHours() {
  $("busy-kind").addEventListener("change", draw);
}
