// One card per machine: what it means to a student (`usage`), and what this student can do with it.
// Cards are updated in place, so a half-chosen cycle or a focused button survives a live update.

const CATEGORIES = [
  ["normal", "Normal"],
  ["extra_5", "+5 min"],
  ["extra_10", "+10 min"],
  ["extra_15", "+15 min"],
];

export function clock(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function relative(iso) {
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${minutes % 60} min ago`;
  return new Date(iso).toLocaleString();
}

export function usageLabel(m) {
  switch (m.usage) {
    case "free":
      return "Free";
    case "reserved":
      return m.reserved_for_me && m.hold_until ? `Reserved for you until ${clock(m.hold_until)}` : "Reserved";
    case "claimed":
      return m.mine ? "Claimed — start it now" : "Claimed";
    case "in_use":
      return m.in_use_by === "you" ? "In use by you" : "In use";
    case "finished":
      return "Finished — laundry inside";
    case "out_of_service":
      return m.service_reason ? `Out of service (${m.service_reason})` : "Out of service";
    case "unavailable":
      return "Sensor fault";
    default:
      return m.unknown_since ? `Unknown since ${clock(m.unknown_since)}` : "Unknown";
  }
}

function sinceText(m) {
  if (m.mine && m.claim?.status === "pending") return `Start it by ${clock(m.claim.confirm_by)}`;
  if (m.usage === "out_of_service" && m.service_since) return `Since ${clock(m.service_since)}`;
  if (m.unknown_since) return "The room's sensors are silent";
  if (m.since) return `Since ${clock(m.since)} (${relative(m.since)})`;
  return "No report yet";
}

/** What the logged-in student can do: "claim", "cancel", "end" or "" (nothing). */
function actionOf(m, loggedIn) {
  if (!loggedIn) return "";
  if (m.mine && m.claim?.status === "pending") return "cancel";
  if (m.mine && m.claim?.status === "finished") return "end";
  if (m.usage === "free" || (m.usage === "reserved" && m.reserved_for_me)) return "claim";
  return "";
}

function button(text, action, name) {
  const el = document.createElement("button");
  el.type = action === "claim" ? "submit" : "button";
  el.dataset.action = action;
  el.textContent = text;
  el.setAttribute("aria-label", `${text} ${name}`);
  return el;
}

function claimForm(m, name) {
  const form = document.createElement("form");
  form.className = "claim";
  const id = `cycle-${m.site}-${m.room}-${m.id}`.replace(/[^A-Za-z0-9_-]/g, "_");
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = "Cycle";
  const select = document.createElement("select");
  select.id = id;
  select.name = "category";
  for (const [value, text] of CATEGORIES) select.append(new Option(text, value));
  form.append(label, select, button("Claim", "claim", name));
  return form;
}

function renderActions(card, m, action, name) {
  const box = card.querySelector(".actions");
  if (card.dataset.action === action) return;
  card.dataset.action = action;
  if (action === "claim") box.replaceChildren(claimForm(m, name));
  else if (action === "cancel") box.replaceChildren(button("Cancel claim", "cancel", name));
  else if (action === "end") box.replaceChildren(button("End", "end", name));
  else box.replaceChildren();
}

/** Fill `card` (a fresh clone of #card-template, or the machine's existing card) from machine `m`. */
export function updateCard(card, m, loggedIn) {
  const label = usageLabel(m);
  const name = `${m.kind} ${m.number}`;
  card.dataset.usage = m.usage;
  card.dataset.kind = m.kind;
  card.dataset.number = String(m.number);
  card.classList.toggle("mine", Boolean(m.mine || m.reserved_for_me));
  card.querySelector(".kind").textContent = m.kind;
  card.querySelector(".number").textContent = m.label || `#${m.number}`;
  card.querySelector(".state-label").textContent = label;
  card.querySelector(".since").textContent = sinceText(m);
  const faults = card.querySelector(".faults");
  faults.hidden = !m.open_faults || m.usage === "out_of_service";
  faults.textContent = `${m.open_faults} fault report${m.open_faults === 1 ? "" : "s"}`;
  card.querySelector(".door").textContent = m.door ?? "–";
  card.querySelector(".current").textContent = m.current_a == null ? "–" : `${m.current_a.toFixed(1)} A`;
  renderActions(card, m, actionOf(m, loggedIn), name);
  return card;
}
