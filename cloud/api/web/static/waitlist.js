// The waitlists of the chosen room: join or leave per machine type, your place in the queue
// (live), and — when a machine is held for you — a countdown and a one-tap claim.

import { api } from "./api.js";
import { $, busy, h, say } from "./dom.js";
import { errorText } from "./errors.js";
import { clock, machineName } from "./format.js";
import { t } from "./i18n.js";
import { act, chosenRoom, freeOf, heldForMe, roomQuery, view } from "./room.js";
import { summaryParts } from "./summary_line.js";

const KINDS = ["washer", "dryer"];
const lists = new Map(KINDS.map((kind) => [kind, { length: 0, position: null, status: null }]));
const refetchTimers = new Map();

function fromPublic(data) {
  const mine = data.entries.find((entry) => entry.mine);
  lists.set(data.kind, { length: data.length, position: data.my_position, status: mine?.status ?? null });
}

async function fetchList(kind) {
  if (!chosenRoom() || !view.user || view.user.staff) return;
  fromPublic(await api(`/api/v1/waitlist/${kind}?${roomQuery()}`));
  render();
}

/** Reload both lists (after login, a room change or a reconnect). */
export async function loadWaitlists() {
  for (const kind of KINDS) lists.set(kind, { length: 0, position: null, status: null });
  await Promise.all(KINDS.map((kind) => fetchList(kind).catch(() => {})));
  render();
}

/** A `waitlist` message: a personal copy carries our position; the room's copy only the length,
 * so then we ask for our position again (we may have just left the list by claiming). */
export function applyWaitlistMessage(message) {
  const choice = chosenRoom();
  if (message.type !== "waitlist" || !choice || message.site !== choice.site || message.room !== choice.room) return;
  const list = lists.get(message.kind);
  if (!list) return;
  list.length = message.length;
  if (message.position !== undefined) {
    list.position = message.position;
    list.status = message.status;
  } else {
    window.clearTimeout(refetchTimers.get(message.kind));
    refetchTimers.set(message.kind, window.setTimeout(() => fetchList(message.kind).catch(() => {}), 250));
  }
  render();
}

async function change(kind, action, button) {
  const body = { machine_type: kind, ...chosenRoom() };
  try {
    const data = await busy([button], () => api(`/api/v1/waitlist/${action}`, { method: "POST", body }));
    fromPublic(data);
    say(action === "join" ? t(`waitlist.${kind}_joined`, { position: data.my_position }) : t(`waitlist.${kind}_left`));
  } catch (error) {
    say(errorText(error), true);
    fetchList(kind).catch(() => {});
  }
  render();
}

function heldCallout(machine) {
  const name = machineName(machine.kind, machine.number);
  return h(
    "div",
    { class: "held", "data-held": machine.id },
    h("p", { class: "held-title" }, t("waitlist.held_for_you", { machine: name })),
    h("p", {}, `${t("cards.claim_within")} `, h("span", { class: "countdown", "data-until": machine.hold_until }), ` ${t("cards.until", { time: clock(machine.hold_until) })}.`),
    h("button", { type: "button", class: "claim-held", onclick: (e) => act(machine, "claim", { category: "normal" }, [e.currentTarget]) }, t("waitlist.claim_now", { machine: name.toLowerCase() })),
  );
}

function row(kind) {
  const list = lists.get(kind);
  const held = heldForMe().filter((m) => m.kind === kind);
  const parts = held.map(heldCallout);
  const plural = `${kind}s`;
  if (list.position) {
    const text = list.status === "offered" ? t(`waitlist.${kind}_head`) : t(`waitlist.${kind}_number`, { position: list.position, length: list.length });
    parts.push(
      h("p", { class: "position", "data-position": list.position }, text),
      h("button", { type: "button", class: "secondary", onclick: (e) => change(kind, "leave", e.currentTarget) }, t(`waitlist.${kind}_leave`)),
    );
  } else if (freeOf(kind).length === 0 && view.machines.size > 0) {
    parts.push(
      h("p", {}, `${t(`waitlist.${kind}_none_free`)} ${nextFree(kind)} ${list.length ? t("waitlist.waiting", { count: list.length }) : t("waitlist.nobody")}`),
      h("button", { type: "button", onclick: (e) => change(kind, "join", e.currentTarget) }, t(`waitlist.${kind}_join`)),
    );
  } else if (list.length > 0) {
    parts.push(h("p", { class: "muted" }, t(`waitlist.${kind}_waiting_for`, { count: list.length })));
  }
  if (parts.length === 0) return null; // a machine of this kind is free and nobody waits: nothing to say
  return h("div", { class: "waitlist-row", "data-kind": kind }, h("h3", {}, t(`waitlist.${kind}_queue`)), ...parts);
}

/** "Next washer free in about 6 min." (the soonest expected end of the kind), honest when none is known. */
function nextFree(kind) {
  const minutes = summaryParts([...view.machines.values()]).find((part) => part.kind === kind)?.nextInMin;
  if (minutes === null || minutes === undefined) return t("waitlist.no_estimate");
  return minutes > 0 ? t(`waitlist.${kind}_next_in`, { minutes }) : t(`waitlist.${kind}_next_any_minute`);
}

let lastKey = "";

/** Redraw the waitlist panel (cheap; skipped when nothing it shows has changed). */
export function render() {
  const panel = $("waitlist");
  if (!view.user || view.user.staff || !chosenRoom()) {
    panel.hidden = true;
    lastKey = "";
    return;
  }
  const key = JSON.stringify([
    [...lists],
    heldForMe().map((m) => [m.id, m.hold_until]),
    KINDS.map((k) => freeOf(k).length),
    KINDS.map(nextFree),
    view.machines.size,
  ]);
  if (key === lastKey) return; // keeps keyboard focus on the buttons when nothing changed
  lastKey = key;
  const rows = KINDS.map(row).filter(Boolean);
  $("waitlist-rows").replaceChildren(...rows);
  panel.hidden = rows.length === 0;
}
