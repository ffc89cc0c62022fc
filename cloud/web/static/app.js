// KY Wash room page: loads the room's machines, then follows /api/ws and updates cards live.
// A dropped WebSocket reconnects with backoff and resyncs from the snapshot it sends first.

const STATE_LABELS = {
  idle: "Free",
  running: "Running",
  paused: "Paused",
  finished: "Finished, laundry inside",
  door_open: "Door open",
  sensor_fault: "Sensor fault",
  out_of_service: "Out of service",
  unknown: "Unknown",
};
const MAX_BACKOFF_MS = 30_000;

const params = new URLSearchParams(window.location.search);
const view = {
  site: params.get("site"),
  room: params.get("room"),
  machines: new Map(), // "site/room/id" -> MachinePublic
  rooms: new Map(), // "site/room" -> RoomPublic
};
const $ = (id) => document.getElementById(id);

function key(m) {
  return `${m.site}/${m.room}/${m.id}`;
}

function inView(item) {
  return (!view.site || item.site === view.site) && (!view.room || item.room === view.room);
}

function clock(iso) {
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

function sinceText(m) {
  if (m.unknown_since) return `Unknown since ${clock(m.unknown_since)}`;
  if (m.since) return `Since ${clock(m.since)} (${relative(m.since)})`;
  return "No report yet";
}

function renderCard(m) {
  const card = $("card-template").content.firstElementChild.cloneNode(true);
  const label = STATE_LABELS[m.state] ?? m.state;
  card.dataset.state = m.state;
  card.querySelector(".kind").textContent = m.kind;
  card.querySelector(".number").textContent = m.label || `#${m.number}`;
  card.querySelector(".state-label").textContent = label;
  card.querySelector(".since").textContent = sinceText(m);
  card.querySelector(".door").textContent = m.door ?? "–";
  card.querySelector(".current").textContent = m.current_a == null ? "–" : `${m.current_a.toFixed(1)} A`;
  card.setAttribute("aria-label", `${m.kind} ${m.number}: ${label}. ${sinceText(m)}`);
  return card;
}

function render() {
  const shown = [...view.machines.values()].filter(inView).sort((a, b) => a.number - b.number);
  for (const kind of ["washer", "dryer"]) {
    const list = $(`${kind}s`);
    const cards = shown.filter((m) => m.kind === kind).map(renderCard);
    list.replaceChildren(...cards);
    $(`${kind}s-empty`).hidden = cards.length > 0;
  }
  const rooms = [...view.rooms.values()].filter(inView);
  const offline = rooms.filter((r) => r.status === "offline");
  const banner = $("room-banner");
  banner.hidden = offline.length === 0;
  banner.textContent = offline
    .map((r) => `The sensors of ${r.site}/${r.room} have been silent since ${clock(r.status_since)}: machine states are unknown.`)
    .join(" ");
  if (view.site && view.room) $("room-name").textContent = `· ${view.site}/${view.room}`;
}

function setConnection(text, ok) {
  const el = $("connection");
  el.textContent = text;
  el.classList.toggle("offline", !ok);
}

async function showRoomPicker() {
  const response = await fetch("/api/v1/rooms");
  const rooms = response.ok ? await response.json() : [];
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

async function loadMachines() {
  const query = new URLSearchParams();
  if (view.site) query.set("site", view.site);
  if (view.room) query.set("room", view.room);
  const response = await fetch(`/api/v1/machines/?${query}`);
  if (response.status === 400) {
    await showRoomPicker();
    return false;
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    setConnection(body.detail ?? `Could not load machines (${response.status})`, false);
    return false;
  }
  const data = await response.json();
  const all = [...data.washers, ...data.dryers];
  if (all.length > 0) {
    view.site = all[0].site;
    view.room = all[0].room;
  }
  for (const m of all) view.machines.set(key(m), m);
  render();
  return true;
}

function applySnapshot(message) {
  view.rooms = new Map(message.rooms.map((r) => [`${r.site}/${r.room}`, r]));
  view.machines = new Map(message.machines.map((m) => [key(m), m]));
  if (!view.room && message.rooms.length === 1) {
    view.site = message.rooms[0].site;
    view.room = message.rooms[0].room;
  }
}

function onMessage(event) {
  const message = JSON.parse(event.data);
  if (message.type === "snapshot") applySnapshot(message);
  else if (message.type === "machine") view.machines.set(key(message.machine), message.machine);
  else if (message.type === "room") view.rooms.set(`${message.room.site}/${message.room.room}`, message.room);
  render();
}

function connect(attempt = 0) {
  const query = new URLSearchParams();
  if (view.site) query.set("site", view.site);
  if (view.room) query.set("room", view.room);
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${window.location.host}/api/ws?${query}`);
  let opened = false;
  socket.addEventListener("open", () => {
    opened = true;
    setConnection("Live", true);
  });
  socket.addEventListener("message", onMessage);
  socket.addEventListener("close", () => {
    const next = opened ? 0 : attempt + 1;
    const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** next) * (0.5 + Math.random() / 2);
    setConnection(`Reconnecting in ${Math.ceil(delay / 1000)} s…`, false);
    window.setTimeout(() => connect(next), delay);
  });
}

async function main() {
  try {
    if (!(await loadMachines())) return;
  } catch (error) {
    setConnection("Cannot reach the server; retrying…", false);
  }
  connect();
  window.setInterval(render, 30_000); // keep "x min ago" fresh
}

main();
