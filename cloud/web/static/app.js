// KY Wash room page: the room's washers and dryers, live over /api/ws (live.js) for a logged-in student.
// Logged out, the public machine list is polled and a login panel is shown (the live stream needs a session).
// Server data only ever reaches the page through textContent and DOM APIs.

import { setupAccount, showAccount } from "./account.js";
import { ApiError, api, errorText, onSessionEnded, refreshSession, session } from "./api.js";
import { clock, updateCard } from "./cards.js";
import { startLive } from "./live.js";

const POLL_MS = 20_000;
const MAX_NOTES = 5;
const ACTION_PATHS = { claim: "start", cancel: "cancel", end: "end" };

const params = new URLSearchParams(window.location.search);
const view = {
  site: params.get("site"),
  room: params.get("room"),
  machines: new Map(), // "site/room/id" -> MachinePublic
  rooms: new Map(), // "site/room" -> RoomPublic
};
const cards = new Map(); // "site/room/id" -> its <li>
let live = null; // the WebSocket follower while logged in
let poll = null; // the polling timer while logged out
const $ = (id) => document.getElementById(id);

const key = (m) => `${m.site}/${m.room}/${m.id}`;
const inView = (item) => (!view.site || item.site === view.site) && (!view.room || item.room === view.room);
const sentence = (text) => text.charAt(0).toUpperCase() + text.slice(1);

function roomQuery() {
  const query = new URLSearchParams();
  if (view.site) query.set("site", view.site);
  if (view.room) query.set("room", view.room);
  return query;
}

function cardFor(m) {
  let card = cards.get(key(m));
  if (!card) {
    card = $("card-template").content.firstElementChild.cloneNode(true);
    card.dataset.key = key(m);
    cards.set(key(m), card);
  }
  return card;
}

function render() {
  const loggedIn = session.active;
  const shown = [...view.machines.values()].filter(inView).sort((a, b) => a.number - b.number);
  for (const kind of ["washer", "dryer"]) {
    const list = $(`${kind}s`);
    const wanted = shown.filter((m) => m.kind === kind).map((m) => updateCard(cardFor(m), m, loggedIn));
    if (wanted.length !== list.children.length || wanted.some((card, i) => list.children[i] !== card)) {
      list.replaceChildren(...wanted); // only when the set or order changes: keeps focus otherwise
    }
    $(`${kind}s-empty`).hidden = wanted.length > 0;
  }
  for (const [k, card] of cards) if (!card.isConnected) cards.delete(k);
  const offline = [...view.rooms.values()].filter(inView).filter((r) => r.status === "offline");
  const banner = $("room-banner");
  banner.hidden = offline.length === 0;
  banner.textContent = offline
    .map((r) => `The sensors of ${r.site}/${r.room} have been silent since ${clock(r.status_since)}: machine states are unknown.`)
    .join(" ");
  if (view.site && view.room) $("room-name").textContent = `· ${view.site}/${view.room}`;
}

function setConnection(text, ok) {
  $("connection").textContent = text;
  $("connection").classList.toggle("offline", !ok);
}

function say(text, isError = false) {
  $("action-status").textContent = text;
  $("action-status").classList.toggle("error", isError);
}

async function showRoomPicker() {
  const rooms = await api("/api/v1/rooms").catch(() => []);
  $("room-list").replaceChildren(
    ...rooms.map((r) => {
      const link = document.createElement("a");
      link.href = `/?site=${encodeURIComponent(r.site)}&room=${encodeURIComponent(r.room)}`;
      link.textContent = `${r.site} / ${r.room} (${r.status})`;
      const item = document.createElement("li");
      item.append(link);
      return item;
    }),
  );
  $("room-picker").hidden = false;
}

/** The room's machines over REST (personalised while logged in); false if a room must be chosen first. */
async function loadMachines() {
  let data;
  try {
    data = await api(`/api/v1/machines/?${roomQuery()}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 422 && error.message.includes("site=")) {
      await showRoomPicker();
      return false;
    }
    throw error;
  }
  const all = [...data.washers, ...data.dryers];
  if (all.length > 0) [view.site, view.room] = [all[0].site, all[0].room];
  view.machines = new Map([...view.machines].filter(([, m]) => !inView(m)));
  for (const m of all) view.machines.set(key(m), m);
  render();
  return true;
}

function addNote(note) {
  const item = document.createElement("li");
  const time = document.createElement("time");
  time.dateTime = note.created_at;
  time.textContent = clock(note.created_at);
  const title = document.createElement("strong");
  title.textContent = note.title;
  item.append(time, " ", title, " ", note.body);
  $("notes").prepend(item);
  while ($("notes").children.length > MAX_NOTES) $("notes").lastElementChild.remove();
  $("notes-panel").hidden = false;
}

function showDone(message) {
  const machine = `${sentence(message.kind)} ${message.number}`;
  $("done-banner").hidden = false; // shown first, then filled, so screen readers announce the alert
  $("done-body").textContent = `${machine} finished at ${clock(message.finished_at)}. Please collect your laundry.`;
}

function onMessage(message) {
  if (message.type === "snapshot") {
    view.rooms = new Map(message.rooms.map((r) => [`${r.site}/${r.room}`, r]));
    view.machines = new Map(message.machines.map((m) => [key(m), m]));
  } else if (message.type === "machine") view.machines.set(key(message.machine), message.machine);
  else if (message.type === "room") view.rooms.set(`${message.room.site}/${message.room.room}`, message.room);
  else if (message.type === "notification") addNote(message.notification);
  else if (message.type === "cycle_finished") showDone(message);
  else return; // waitlist, activity, fault_reported, machine_service...: the machine messages carry what we show
  render();
}

async function pollOnce() {
  if (document.hidden) return;
  try {
    if (await loadMachines()) setConnection(`Updated ${clock(new Date())} · log in for live updates`, true);
  } catch {
    setConnection("Cannot reach the server; retrying…", false);
  }
}

/** Logged out (or the session ended): stop the stream, show the login panel, poll the public list. */
async function goAnonymous(loginError = "") {
  stopLive();
  session.clear();
  showAccount(loginError);
  poll ??= window.setInterval(pollOnce, POLL_MS);
  await pollOnce();
}

async function goLive() {
  window.clearInterval(poll);
  poll = null;
  showAccount();
  try {
    if (!(await loadMachines())) return;
  } catch {
    setConnection("Cannot reach the server; retrying…", false); // the socket's snapshot will resync
  }
  if (!session.active || live) return; // the session ended while loading
  live = startLive({
    query: roomQuery(),
    token: () => session.access,
    refresh: refreshSession,
    onRefused: () => goAnonymous("Your session has ended; log in again."),
    onMessage,
    onStatus: setConnection,
  });
}

async function onAction(card, action, extra = {}) {
  const m = view.machines.get(card.dataset.key);
  if (!m) return;
  const controls = card.querySelectorAll(".actions button, .actions select");
  for (const el of controls) el.disabled = true;
  try {
    const body = { machine_type: m.kind, machine_id: m.number, site: m.site, room: m.room, ...extra };
    const result = await api(`/api/v1/machines/${ACTION_PATHS[action]}`, { method: "POST", body });
    view.machines.set(key(result.machine), result.machine);
    say(sentence(result.message));
  } catch (error) {
    say(errorText(error), true);
  } finally {
    for (const el of controls) el.disabled = false;
    render();
  }
}

function stopLive() {
  live?.stop();
  live = null;
}

function main() {
  setupAccount({
    onLoggedIn: async (message) => {
      say(message);
      await goLive();
    },
    beforeLogout: stopLive,
    onLoggedOut: async () => {
      say("You are logged out.");
      await goAnonymous();
    },
  });
  $("done-dismiss").addEventListener("click", () => ($("done-banner").hidden = true));
  for (const list of [$("washers"), $("dryers")]) {
    list.addEventListener("submit", (event) => {
      event.preventDefault();
      onAction(event.target.closest(".card"), "claim", { category: event.target.elements.category.value });
    });
    list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (button && button.dataset.action !== "claim") onAction(button.closest(".card"), button.dataset.action);
    });
  }
  onSessionEnded(() => goAnonymous("Your session has ended; log in again."));
  window.setInterval(render, 30_000); // keep "x min ago" fresh
  if (session.active) goLive();
  else goAnonymous();
}

main();
