// The chosen laundry room and its machines: the room picker (remembered in localStorage), the
// washer and dryer cards, and what a student does on a card (claim, cancel, end).

import { api } from "./api.js";
import { newCard, updateCard, usageLabel } from "./cards.js";
import { $, announce, busy, say } from "./dom.js";
import { errorText } from "./errors.js";
import { forgetLink, linkedRoom } from "./claim_link.js";
import { capitalise, clock, machineName, setTimeZone } from "./format.js";
import { t } from "./i18n.js";
import { syncClock } from "./server_clock.js";
import { summaryLine, summaryParts } from "./summary_line.js";

const CHOICE_KEY = "kywash.room";
const ACTION_PATHS = { claim: "start", cancel: "cancel", end: "end" };

export const view = {
  rooms: [], // RoomPublic from GET /api/v1/rooms
  roomStatus: new Map(), // "site/room" -> RoomPublic (live)
  machines: new Map(), // machine id -> MachinePublic, for the chosen room only
  user: null, // null (logged out), {staff: false} or {staff: true}
};
const cards = new Map(); // machine id -> its <li>
const changeListeners = [];
// Live messages are newer than a REST answer read before them: count what the socket brought,
// so an answer that was in flight meanwhile does not put an older view back (issue 15).
let liveCount = 0;
let snapshotAt = 0;
const liveAt = new Map(); // machine id -> liveCount when its last live message came
const liveSince = (id, count) => snapshotAt > count || (liveAt.get(id) ?? 0) > count;

const roomKey = (r) => `${r.site}/${r.room}`;

/** The chosen room as {site, room}, or null: a QR code's /claim/ link, then the URL's ?site=&room= win. */
export function chosenRoom() {
  const linked = linkedRoom();
  if (linked) return linked;
  const params = new URLSearchParams(window.location.search);
  if (params.get("site") && params.get("room")) return { site: params.get("site"), room: params.get("room") };
  const saved = localStorage.getItem(CHOICE_KEY);
  if (!saved || !saved.includes("/")) return null;
  const [site, room] = saved.split(/\/(.*)/s);
  return { site, room };
}

export function roomQuery() {
  const choice = chosenRoom();
  return new URLSearchParams(choice ? { site: choice.site, room: choice.room } : {});
}

/** Call `listener()` after every change of the machines (to redraw the waitlist, for instance). */
export function onMachinesChanged(listener) {
  changeListeners.push(listener);
}

export async function loadRooms() {
  view.rooms = await api("/api/v1/rooms");
  const saved = localStorage.getItem(CHOICE_KEY);
  if (saved && !view.rooms.some((r) => roomKey(r) === saved)) localStorage.removeItem(CHOICE_KEY); // room gone
  if (!chosenRoom() && view.rooms.length === 1) localStorage.setItem(CHOICE_KEY, roomKey(view.rooms[0]));
  const select = $("room-select");
  const choice = chosenRoom();
  const options = view.rooms.map((r) => new Option(`${r.site} · ${r.room}`, roomKey(r)));
  if (!choice) options.unshift(new Option(t("room.choose"), ""));
  select.replaceChildren(...options);
  select.value = choice ? roomKey(choice) : "";
  $("room-choose-hint").hidden = Boolean(choice);
  $("room-name").textContent = choice ? `${choice.room}` : "";
  const chosen = choice && view.rooms.find((r) => r.site === choice.site && r.room === choice.room);
  setTimeZone(chosen?.timezone);
}

export async function loadMachines() {
  if (!chosenRoom()) {
    view.machines = new Map();
    render();
    return;
  }
  const asked = liveCount;
  const data = await api(`/api/v1/machines/?${roomQuery()}`);
  syncClock(data); // logged out, this answer is the only word of the server's clock
  if (snapshotAt > asked) return; // a snapshot came meanwhile: it is newer
  setTimeZone(data.timezone);
  const listed = [...data.washers, ...data.dryers].map((m) => [m.id, liveSince(m.id, asked) ? view.machines.get(m.id) ?? m : m]);
  view.machines = new Map(listed);
  render();
}

function inChosenRoom(item) {
  const choice = chosenRoom();
  return choice && item.site === choice.site && item.room === choice.room;
}

function tellIfMine(before, after) {
  if (!(after.mine || after.reserved_for_me || before?.mine || before?.reserved_for_me)) return;
  if (before && usageLabel(before) === usageLabel(after) && before.mine === after.mine) return; // "Finishing" is news too
  announce(`${machineName(after.kind, after.number)}: ${usageLabel(after)}.`);
}

/** Apply a live message; returns true when it was about this room's machines. */
export function applyMessage(message) {
  if (message.type === "snapshot") {
    for (const r of message.rooms) view.roomStatus.set(roomKey(r), r);
    view.machines = new Map(message.machines.filter(inChosenRoom).map((m) => [m.id, m]));
    snapshotAt = ++liveCount;
  } else if (message.type === "machine" && inChosenRoom(message.machine)) {
    tellIfMine(view.machines.get(message.machine.id), message.machine);
    view.machines.set(message.machine.id, message.machine);
    liveAt.set(message.machine.id, ++liveCount);
  } else if (message.type === "room") {
    view.roomStatus.set(roomKey(message.room), message.room);
  } else return false;
  render();
  return true;
}

function renderBanner() {
  const choice = chosenRoom();
  const status = choice && view.roomStatus.get(roomKey(choice));
  const banner = $("room-banner");
  const offline = status && status.status === "offline";
  banner.hidden = !offline;
  banner.textContent = offline
    ? t("room.silent_banner", { room: status.room, time: clock(status.status_since ?? status.last_seen) })
    : "";
}

/** The one line at the top: what is free, or when the next one should be. */
export function renderSummary() {
  const line = chosenRoom() ? summaryLine(summaryParts([...view.machines.values()])) : "";
  const summary = $("room-summary");
  summary.hidden = !line;
  if (summary.textContent !== line) summary.textContent = line;
}

export function render() {
  const shown = [...view.machines.values()].sort((a, b) => a.number - b.number);
  for (const kind of ["washer", "dryer"]) {
    const list = $(`${kind}s`);
    const wanted = shown.filter((m) => m.kind === kind).map((m) => {
      if (!cards.has(m.id)) cards.set(m.id, newCard(m));
      return updateCard(cards.get(m.id), m, view.user);
    });
    if (wanted.length !== list.children.length || wanted.some((card, i) => list.children[i] !== card)) {
      list.replaceChildren(...wanted); // only when the set or order changes: keeps focus otherwise
    }
    $(`${kind}s-empty`).hidden = wanted.length > 0 || !chosenRoom();
  }
  for (const [id, card] of cards) if (!card.isConnected) cards.delete(id);
  renderBanner();
  renderSummary();
  for (const listener of changeListeners) listener();
}

/** Claim (with a cycle category), cancel or end; the answer's machine replaces ours at once. */
export async function act(machine, action, extra = {}, controls = []) {
  const body = { machine_type: machine.kind, machine_id: machine.number, site: machine.site, room: machine.room, ...extra };
  try {
    const asked = liveCount;
    const result = await busy(controls, () => api(`/api/v1/machines/${ACTION_PATHS[action]}`, { method: "POST", body }));
    if (!liveSince(result.machine.id, asked)) view.machines.set(result.machine.id, result.machine); // else live is as new
    say(`${capitalise(result.message)}.`);
  } catch (error) {
    say(errorText(error), true);
    loadMachines().catch(() => {}); // show what changed under us (e.g. someone else claimed it)
  }
  render();
}

/**
 * @param {object} handlers
 * @param {() => void} handlers.onRoomChange  another room was picked
 * @param {(machine: object, action: string, button: HTMLElement) => void} handlers.onCardAction  report/oos/back
 */
export function setupRoom({ onRoomChange, onCardAction }) {
  $("room-select").addEventListener("change", (event) => {
    if (!event.target.value) return;
    localStorage.setItem(CHOICE_KEY, event.target.value);
    forgetLink(); // another room was chosen: the QR code's machine is not in it
    if (window.location.search || window.location.pathname !== "/") window.history.replaceState(null, "", `/${window.location.hash}`);
    loadRooms().catch(() => {});
    onRoomChange();
  });
  for (const list of [$("washers"), $("dryers")]) {
    list.addEventListener("submit", (event) => {
      event.preventDefault();
      const machine = view.machines.get(event.target.closest(".card").dataset.machine);
      const controls = event.target.querySelectorAll("button, select");
      if (machine) act(machine, "claim", { category: event.target.elements.category.value }, controls);
    });
    list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button || button.dataset.action === "claim") return;
      const machine = view.machines.get(button.closest(".card").dataset.machine);
      if (!machine) return;
      if (button.dataset.action in ACTION_PATHS) act(machine, button.dataset.action, {}, [button]);
      else onCardAction(machine, button.dataset.action, button);
    });
  }
}

/** A tiny summary for other modules: is a machine of `kind` free (or held for me) right now? */
export function freeOf(kind) {
  return [...view.machines.values()].filter((m) => m.kind === kind && (m.usage === "free" || m.reserved_for_me));
}

export function heldForMe() {
  return [...view.machines.values()].filter((m) => m.usage === "reserved" && m.reserved_for_me);
}
