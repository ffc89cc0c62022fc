// One card per machine: what it means to a student (`usage`), and what this user can do with it.
// Cards are updated in place, so a half-chosen cycle or a focused button survives a live update.

import { h } from "./dom.js";
import { age, ago, clock, day, dayAndClock, machineName, minutesSince, minutesUntil, timeLeft } from "./format.js";

const CATEGORIES = [
  ["normal", "Normal"],
  ["extra_5", "+5 min"],
  ["extra_10", "+10 min"],
  ["extra_15", "+15 min"],
];

export function usageLabel(m) {
  switch (m.usage) {
    case "free":
      return "Free";
    case "reserved":
      return m.reserved_for_me ? "Held for you" : "Held for the waitlist";
    case "claimed":
      return m.mine ? "Claimed by you — start it" : "Claimed";
    case "in_use":
      // "ending": quiet and maybe done, but the sensors are not sure yet: never "done" or "free"
      if (m.state === "ending") return m.in_use_by === "you" ? "Finishing — almost done" : "Finishing";
      return m.in_use_by === "you" ? "In use — yours" : "In use";
    case "finished":
      return m.mine ? "Finished — collect your laundry" : "Finished — waiting to be unloaded";
    case "out_of_service":
      return "Out of service";
    case "unavailable":
      return "Sensor fault";
    default:
      return "Unknown";
  }
}

/** The line under the state: since when, how long, until when; may hold a live countdown. */
function detail(m) {
  if (m.usage === "reserved" && m.reserved_for_me && m.hold_until) {
    return ["Claim it within ", h("span", { class: "countdown", "data-until": m.hold_until }), ` (until ${clock(m.hold_until)})`];
  }
  if (m.usage === "claimed" && m.mine && m.claim) return [`Start it by ${clock(m.claim.confirm_by)}, or the claim lapses`];
  if (m.usage === "in_use" && m.mine && m.claim?.started_at) {
    const extra = m.claim.category === "normal" ? "" : ` · ${m.claim.category.replace("extra_", "+")} min`;
    const started = `Started ${clock(m.claim.started_at)} · running ${minutesSince(m.claim.started_at)} min${extra}`;
    const end = m.claim.expected_end || m.expected_end;
    if (!end) return [started];
    const left = minutesUntil(end);
    const eta = left > 0 ? `About ${left} min left (ends about ${clock(end)})` : "Should finish any minute";
    return [h("span", { class: "time-left" }, eta), h("br"), started];
  }
  if (m.usage === "in_use" && m.expected_end) {
    // anyone's view of a machine in use: when it should be free (the edge's learned profile, or an estimate)
    const eta = h("span", { class: "time-left", "data-ends": m.expected_end }, timeLeft(m.expected_end));
    const from = m.cycle_started_at ? `Started ${clock(m.cycle_started_at)}` : m.since && `Since ${clock(m.since)} (${ago(m.since)})`;
    return [eta, ` (free about ${clock(m.expected_end)})`, ...(from ? [h("br"), from] : [])];
  }
  if (m.usage === "in_use" && m.since) return [`In use since ${clock(m.since)} (${ago(m.since)}) · no estimate of its end yet`];
  if (m.usage === "out_of_service") {
    // a scheduled repair says when it should be back; otherwise, since when it has been out
    const since = m.service_eta ? ` · back about ${day(m.service_eta)}` : m.service_since ? ` · since ${dayAndClock(m.service_since)}` : "";
    const sync = m.service_sync === "pending" ? " · waiting for the room to confirm" : "";
    return [`${m.service_reason || "No reason given"}${since}${sync}`];
  }
  if (m.usage === "unknown") {
    return [m.unknown_since ? `Sensors silent since ${dayAndClock(m.unknown_since)}` : "No report from the sensors yet"];
  }
  if (m.usage === "finished" && m.since) return [`Finished ${clock(m.since)} (${ago(m.since)})`];
  if (m.usage === "reserved" && m.hold_until) return [`Held until ${clock(m.hold_until)}`];
  if (m.since) return [`Since ${clock(m.since)} (${ago(m.since)})`];
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
  for (const [value, text] of CATEGORIES) select.append(new Option(text, value));
  return h("form", { class: "claim" }, h("label", { htmlFor: id }, "Cycle"), select, actionButton("Claim", "claim", name));
}

const ACTION_VIEWS = {
  claim: claimForm,
  cancel: (m, name) => actionButton("Cancel claim", "cancel", name),
  end: (m, name) => actionButton("End — I have my laundry", "end", name),
  report: (m, name) => actionButton("Report a problem", "report", name, "secondary small"),
  oos: (m, name) => actionButton("Take out of service", "oos", name),
  back: (m, name) => actionButton("Put back in service", "back", name, "secondary"),
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
  for (const el of document.querySelectorAll(".card [data-observed]")) el.textContent = `updated ${age(el.dataset.observed)}`;
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
  card.querySelector(".current").textContent = drawing ? ` · drawing ${m.current_a.toFixed(1)} A` : "";
  card.querySelector(".detail").replaceChildren(...detail(m));
  const faults = card.querySelector(".faults");
  faults.hidden = !m.open_faults;
  faults.textContent = `${m.open_faults} open fault report${m.open_faults === 1 ? "" : "s"}`;
  // when the sensors were last heard (not the room's last word, nor a claim): a stale card says so
  const observed = card.querySelector(".observed");
  if (m.observed_at) observed.dataset.observed = m.observed_at;
  else delete observed.dataset.observed;
  observed.textContent = m.observed_at ? `updated ${age(m.observed_at)}` : "";
  const actions = actionsOf(m, user);
  const key = actions.join(" ");
  if (card.dataset.actions !== key) {
    card.dataset.actions = key;
    card.querySelector(".actions").replaceChildren(...actions.map((a) => ACTION_VIEWS[a](m, name)));
  }
  return card;
}
