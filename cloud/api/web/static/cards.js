// One card per machine: what it means to a student (`usage`), and what this user can do with it.
// Cards are updated in place, so a half-chosen cycle or a focused button survives a live update.

import { h } from "./dom.js";
import { age, ago, clock, day, dayAndClock, machineName, minutesSince, minutesUntil, timeLeft } from "./format.js";
import { language, t } from "./i18n.js";

const CATEGORIES = [
  ["normal", "cards.normal"],
  ["extra_5", "cards.extra_5"],
  ["extra_10", "cards.extra_10"],
  ["extra_15", "cards.extra_15"],
];
const CATEGORY_KEYS = Object.fromEntries(CATEGORIES);

export function usageLabel(m) {
  switch (m.usage) {
    case "free":
      return t("usage.free");
    case "reserved":
      return m.reserved_for_me ? t("usage.held_for_you") : t("usage.held_for_waitlist");
    case "claimed":
      return m.mine ? t("usage.claimed_by_you") : t("usage.claimed");
    case "in_use":
      // "ending": quiet and maybe done, but the sensors are not sure yet: never "done" or "free"
      if (m.state === "ending") return m.in_use_by === "you" ? t("usage.finishing_yours") : t("usage.finishing");
      return m.in_use_by === "you" ? t("usage.in_use_yours") : t("usage.in_use");
    case "finished":
      return m.mine ? t("usage.finished_yours") : t("usage.finished");
    case "out_of_service":
      return t("usage.out_of_service");
    case "unavailable":
      return t("usage.sensor_fault");
    default:
      return t("usage.unknown");
  }
}

/** The line under the state: since when, how long, until when; may hold a live countdown. */
function detail(m) {
  if (m.usage === "reserved" && m.reserved_for_me && m.hold_until) {
    return [t("cards.claim_within"), " ", h("span", { class: "countdown", "data-until": m.hold_until }), ` ${t("cards.until", { time: clock(m.hold_until) })}`];
  }
  if (m.usage === "claimed" && m.mine && m.claim) return [t("cards.start_by", { time: clock(m.claim.confirm_by) })];
  if (m.usage === "in_use" && m.mine && m.claim?.started_at) {
    const extra = m.claim.category === "normal" ? "" : ` · ${t(CATEGORY_KEYS[m.claim.category] ?? m.claim.category)}`;
    const started = t("cards.started_running", { time: clock(m.claim.started_at), minutes: minutesSince(m.claim.started_at) }) + extra;
    const end = m.claim.expected_end || m.expected_end;
    if (!end) return [started];
    const left = minutesUntil(end);
    const eta = left > 0 ? t("cards.left_ends", { minutes: left, time: clock(end) }) : t("cards.finish_any_minute");
    return [h("span", { class: "time-left" }, eta), h("br"), started];
  }
  if (m.usage === "in_use" && m.expected_end) {
    // anyone's view of a machine in use: when it should be free (the edge's learned profile, or an estimate)
    const eta = h("span", { class: "time-left", "data-ends": m.expected_end }, timeLeft(m.expected_end));
    const from = m.cycle_started_at
      ? t("cards.started", { time: clock(m.cycle_started_at) })
      : m.since && t("cards.since", { time: clock(m.since), ago: ago(m.since) });
    return [eta, ` ${t("cards.free_about", { time: clock(m.expected_end) })}`, ...(from ? [h("br"), from] : [])];
  }
  if (m.usage === "in_use" && m.since) return [t("cards.in_use_since", { time: clock(m.since), ago: ago(m.since) })];
  if (m.usage === "out_of_service") {
    // a scheduled repair says when it should be back; otherwise, since when it has been out
    const since = m.service_eta
      ? ` · ${t("cards.back_about", { day: day(m.service_eta) })}`
      : m.service_since ? ` · ${t("cards.out_since", { time: dayAndClock(m.service_since) })}` : "";
    const sync = m.service_sync === "pending" ? ` · ${t("cards.sync_pending")}` : "";
    return [`${m.service_reason || t("cards.no_reason")}${since}${sync}`];
  }
  if (m.usage === "unknown") {
    return [m.unknown_since ? t("cards.silent_since", { time: dayAndClock(m.unknown_since) }) : t("cards.no_report")];
  }
  if (m.usage === "finished" && m.since) return [t("cards.finished_at", { time: clock(m.since), ago: ago(m.since) })];
  if (m.usage === "reserved" && m.hold_until) return [t("cards.held_until", { time: clock(m.hold_until) })];
  if (m.since) return [t("cards.since", { time: clock(m.since), ago: ago(m.since) })];
  return [""];
}

/** What this user can do with the machine, as a key: "claim", "cancel", "end", "oos", "back", plus "report". */
function actionsOf(m, user) {
  if (!user) return [];
  if (user.staff) return [m.out_of_service ? "back" : "oos"];
  const main = [];
  if (m.mine && m.claim?.status === "pending") main.push("cancel");
  else if (m.mine && m.claim?.status === "finished") main.push("end");
  else if (m.usage === "free" || (m.usage === "reserved" && m.reserved_for_me)) main.push("claim");
  return [...main, "report"];
}

function actionButton(text, action, name, style = null) {
  const type = action === "claim" ? "submit" : "button";
  return h("button", { type, class: style, "data-action": action, "aria-label": `${text}: ${name}` }, text);
}

function claimForm(m, name) {
  const id = `cycle-${m.site}-${m.room}-${m.id}`.replace(/[^A-Za-z0-9_-]/g, "_");
  const select = h("select", { id, name: "category" });
  for (const [value, key] of CATEGORIES) select.append(new Option(t(key), value));
  return h("form", { class: "claim" }, h("label", { htmlFor: id }, t("cards.cycle")), select, actionButton(t("cards.claim"), "claim", name));
}

// The main action of a card is its one filled button; reporting a problem and taking a machine
// out of service are secondary (link-style), cancelling a claim is not the primary style either.
const ACTION_VIEWS = {
  claim: claimForm,
  cancel: (m, name) => actionButton(t("cards.cancel"), "cancel", name, "secondary"),
  end: (m, name) => actionButton(t("cards.end"), "end", name),
  report: (m, name) => actionButton(t("cards.report"), "report", name, "link-button secondary-action"),
  oos: (m, name) => actionButton(t("cards.take_out"), "oos", name, "link-button secondary-action"),
  back: (m, name) => actionButton(t("cards.put_back"), "back", name, "secondary"),
};

export function newCard(m) {
  return h(
    "li",
    { class: "card", "data-machine": m.id },
    h("h3", { class: "card-title" }, h("span", { class: "name" }), h("span", { class: "label" })),
    h(
      "p",
      { class: "state" },
      h("span", { class: "state-dot", "aria-hidden": "true" }),
      h("span", { class: "state-label" }),
      h("span", { class: "current" }),
    ),
    h("p", { class: "detail" }),
    h("p", { class: "faults" }),
    h("p", { class: "observed hint" }),
    h("div", { class: "actions" }),
  );
}

/** Once a second, without a server message: "updated 20 s ago" and "About 12 min left" move on. */
export function tickCards() {
  for (const el of document.querySelectorAll(".card [data-observed]")) el.textContent = t("cards.updated", { age: age(el.dataset.observed) });
  for (const el of document.querySelectorAll(".card [data-ends]")) el.textContent = timeLeft(el.dataset.ends);
}

/** Fill `card` (made by newCard) from machine `m`; `user` is null, {staff: false} or {staff: true}. */
export function updateCard(card, m, user) {
  const name = machineName(m.kind, m.number);
  card.dataset.usage = m.usage;
  card.dataset.state = m.state;
  card.dataset.kind = m.kind;
  card.dataset.number = String(m.number);
  card.classList.toggle("mine", Boolean(m.mine || m.reserved_for_me));
  card.querySelector(".name").textContent = name;
  card.querySelector(".label").textContent = m.label ? ` · ${m.label}` : "";
  card.querySelector(".state-label").textContent = usageLabel(m);
  // the live current (from the edge's telemetry): a running machine visibly draws power
  const drawing = typeof m.current_a === "number" && m.current_a >= 0.1;
  card.querySelector(".current").textContent = drawing ? ` · ${t("cards.drawing", { amps: m.current_a.toFixed(1) })}` : "";
  card.querySelector(".detail").replaceChildren(...detail(m));
  const faults = card.querySelector(".faults");
  faults.hidden = !m.open_faults;
  faults.textContent = t("cards.open_faults", { count: m.open_faults });
  // when the sensors were last heard (not the room's last word, nor a claim): a stale card says so
  const observed = card.querySelector(".observed");
  if (m.observed_at) observed.dataset.observed = m.observed_at;
  else delete observed.dataset.observed;
  observed.textContent = m.observed_at ? t("cards.updated", { age: age(m.observed_at) }) : "";
  const actions = actionsOf(m, user);
  const key = `${actions.join(" ")} ${language()}`;
  if (card.dataset.actions !== key) {
    card.dataset.actions = key;
    card.querySelector(".actions").replaceChildren(...actions.map((a) => ACTION_VIEWS[a](m, name)));
  }
  return card;
}
