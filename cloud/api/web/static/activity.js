// The activity feed: your claims, finished cycles, waitlist moves and reports (staff: everyone's),
// newest first, with "Show older" paging by ?before= and new entries arriving live.

import { api } from "./api.js";
import { $, busy, h, say } from "./dom.js";
import { errorText } from "./errors.js";
import { dayAndClock, dayLabel } from "./format.js";
import { onLanguageChange } from "./i18n.js";

const PAGE = 20;
const state = { items: [], next: null, loaded: false };

function entry(activity) {
  const who = activity.user ? `${activity.user}: ` : "";
  const where = [activity.room, activity.machine].filter(Boolean).join(" · ");
  return h(
    "li",
    { "data-activity-id": activity.id },
    h("time", { dateTime: activity.created_at }, dayAndClock(activity.created_at)),
    h("span", { class: "activity-text" }, `${who}${activity.message}`),
    where ? h("span", { class: "muted" }, where) : null,
  );
}

/** The entries, newest first, with a day heading wherever the day changes. */
function withDays(items) {
  const rows = [];
  let last = null;
  for (const activity of items) {
    const label = dayLabel(activity.created_at);
    if (label !== last) rows.push(h("li", { class: "activity-day" }, h("h3", {}, label)));
    rows.push(entry(activity));
    last = label;
  }
  return rows;
}

function render() {
  $("activity-list").replaceChildren(...withDays(state.items));
  $("activity-empty").hidden = state.items.length > 0 || !state.loaded;
  $("activity-more").hidden = state.next === null;
}

export async function loadActivity() {
  const page = await api(`/api/v1/activities/?limit=${PAGE}`);
  Object.assign(state, { items: page.items, next: page.next_before, loaded: true });
  render();
}

export function clearActivity() {
  Object.assign(state, { items: [], next: null, loaded: false });
  render();
}

/** A live `activity` message (ours, or anyone's for staff). */
export function applyActivityMessage(message) {
  if (message.type !== "activity" || !state.loaded) return;
  if (state.items.some((a) => a.id === message.activity.id)) return;
  state.items.unshift(message.activity);
  render();
}

export function setupActivity() {
  onLanguageChange(render);
  $("activity-more").addEventListener("click", async (event) => {
    try {
      const page = await busy([event.currentTarget], () => api(`/api/v1/activities/?limit=${PAGE}&before=${state.next}`));
      state.items.push(...page.items);
      state.next = page.next_before;
      render();
    } catch (error) {
      say(errorText(error), true);
    }
  });
}
