// The wall display: one room, no login, read from across the room. It follows the anonymous
// /api/ws/display/{site}/{room} stream (a snapshot, then each change of the room), reconnects by
// itself with backoff, and says so. Times left are counted on the server's clock (the snapshot's
// `now`), since a wall screen's own clock is rarely set. Server data reaches the page only through
// DOM APIs (textContent), never as HTML.

import { h } from "./dom.js";
import { clock, machineName, setTimeZone } from "./format.js";
import { applyTranslations, t } from "./i18n.js";
import { now as serverNow, syncClock } from "./server_clock.js";

const BASE_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
const NO_SUCH_ROOM = 4404;
const USAGE_TEXT = {
  free: "usage.free",
  reserved: "display.held",
  claimed: "usage.claimed",
  in_use: "usage.in_use",
  finished: "display.finished",
  out_of_service: "usage.out_of_service",
  unavailable: "usage.sensor_fault",
  unknown: "usage.unknown",
};

const [site, room] = window.location.pathname.split("/").slice(2, 4).map(decodeURIComponent);
const state = { room: null, machines: new Map(), waitlists: { washer: 0, dryer: 0 } };
const tiles = new Map(); // machine id -> its <li>
const $ = (id) => document.getElementById(id);

function minutesLeft(iso) {
  return Math.ceil((Date.parse(iso) - serverNow()) / 60000);
}

/** The line under the state: time left, why it is out, since when the sensors are silent. */
function detailOf(m) {
  if (m.usage === "in_use" && m.state === "ending") return t("usage.finishing");
  if (m.usage === "in_use" && m.expected_end) {
    const left = minutesLeft(m.expected_end);
    return left > 0 ? t("display.min_left", { minutes: left }) : t("display.done_any_minute");
  }
  if (m.usage === "in_use") return m.since ? t("staff.since", { time: clock(m.since) }) : "";
  if (m.usage === "out_of_service") return m.service_reason || t("display.being_repaired");
  if (m.usage === "unknown") return m.unknown_since ? t("display.silent_since", { time: clock(m.unknown_since) }) : t("display.no_report");
  if (m.usage === "finished") return t("display.waiting_unload");
  if (m.usage === "free") return t("display.scan");
  if (m.usage === "reserved") return t("display.for_next");
  return "";
}

function newTile(m) {
  const name = machineName(m.kind, m.number);
  const qr = h("img", {
    class: "qr",
    src: `/display/${encodeURIComponent(site)}/${encodeURIComponent(room)}/qr/${encodeURIComponent(m.id)}.svg`,
    alt: t("display.qr_alt", { machine: name }),
    width: 200,
    height: 200,
  });
  return h(
    "li",
    { class: "tile", "data-machine": m.id },
    h(
      "div",
      { class: "tile-text" },
      h("h3", { class: "tile-name" }, name),
      h("p", { class: "tile-state" }),
      h("p", { class: "tile-detail" }),
      h("p", { class: "tile-faults" }),
    ),
    qr,
  );
}

function updateTile(tile, m) {
  tile.dataset.usage = m.usage;
  tile.dataset.state = m.state;
  tile.querySelector(".tile-name").textContent = machineName(m.kind, m.number) + (m.label ? ` · ${m.label}` : "");
  tile.querySelector(".tile-state").textContent = t(USAGE_TEXT[m.usage] ?? "usage.unknown");
  tile.querySelector(".tile-detail").textContent = detailOf(m);
  const faults = tile.querySelector(".tile-faults");
  faults.textContent = m.open_faults ? t("display.problems", { count: m.open_faults }) : "";
  faults.hidden = !m.open_faults;
  return tile;
}

/** Columns that give the biggest tiles (about 1.6 wide per 1 high) in the space there is. */
function layout() {
  const list = $("d-machines");
  const count = Math.max(1, state.machines.size);
  const { width, height } = list.getBoundingClientRect();
  let best = { cols: 1, score: 0 };
  for (let cols = 1; cols <= count; cols += 1) {
    const rows = Math.ceil(count / cols);
    const score = Math.min(width / cols, (height / rows) * 1.6);
    if (score > best.score) best = { cols, score };
  }
  list.style.setProperty("--cols", String(best.cols));
  list.style.setProperty("--rows", String(Math.ceil(count / best.cols)));
}

function renderStats(shown, silent) {
  for (const kind of ["washer", "dryer"]) {
    const ofKind = shown.filter((m) => m.kind === kind);
    const free = ofKind.filter((m) => m.usage === "free").length;
    $(`${kind}s-free`).textContent = silent ? "?" : String(free);
    $(`${kind}s-free-text`).textContent = silent ? t(`display.${kind}s_unknown`) : t(`display.of_${kind}s_free`, { count: ofKind.length });
    $(`${kind}s-waiting`).textContent = String(state.waitlists[kind] ?? 0);
  }
}

function renderRepairs(shown) {
  const broken = shown.filter((m) => m.out_of_service || m.open_faults > 0);
  $("d-repairs-count").textContent = String(broken.length);
  $("d-repairs").replaceChildren(
    ...broken.map((m) => {
      const why = m.out_of_service
        ? t("display.out_because", { reason: m.service_reason || t("display.being_repaired") })
        : t("display.problems", { count: m.open_faults });
      return h("li", { "data-machine": m.id }, h("strong", {}, machineName(m.kind, m.number)), ` — ${why}`);
    }),
  );
  $("d-repairs-none").hidden = broken.length > 0;
}

function silentSince() {
  const r = state.room;
  if (r && !r.online && r.status === "offline") return r.status_since;
  const unknown = [...state.machines.values()].find((m) => !m.room_online && m.unknown_since);
  return unknown ? unknown.unknown_since : null;
}

function render() {
  const shown = [...state.machines.values()].sort((a, b) => (a.kind === b.kind ? a.number - b.number : a.kind === "washer" ? -1 : 1));
  const list = $("d-machines");
  const wanted = shown.map((m) => {
    if (!tiles.has(m.id)) tiles.set(m.id, newTile(m));
    return updateTile(tiles.get(m.id), m);
  });
  if (wanted.length !== list.children.length || wanted.some((tile, i) => list.children[i] !== tile)) list.replaceChildren(...wanted);
  const since = silentSince();
  const banner = $("d-silent");
  banner.hidden = !since;
  banner.textContent = since ? t("display.silent_banner", { time: clock(since) }) : "";
  document.body.classList.toggle("silent", Boolean(since));
  renderStats(shown, Boolean(since));
  renderRepairs(shown);
  layout();
}

function apply(message) {
  if (message.type === "snapshot") {
    syncClock({ server_time: message.now, rate: message.rate }); // a wrong or sped-up clock counts right
    setTimeZone(message.timezone);
    state.room = message.room;
    state.machines = new Map(message.machines.map((m) => [m.id, m]));
    state.waitlists = { ...message.waitlists };
  } else if (message.type === "machine") {
    state.machines.set(message.machine.id, message.machine);
  } else if (message.type === "room") {
    state.room = message.room;
  } else if (message.type === "waitlist") {
    state.waitlists[message.kind] = message.length;
  } else return;
  render();
}

function setConnection(text, ok) {
  $("d-connection").textContent = text; // already in the page's language
  $("d-connection").classList.toggle("offline", !ok);
  document.body.dataset.connection = ok ? "live" : "reconnecting";
}

function connect(attempt = 0) {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const path = `/api/ws/display/${encodeURIComponent(site)}/${encodeURIComponent(room)}`;
  const ws = new WebSocket(`${scheme}://${window.location.host}${path}`);
  let synced = false;
  ws.addEventListener("message", (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message.type === "snapshot") {
      synced = true;
      setConnection(t("app.live"), true);
    }
    apply(message);
  });
  ws.addEventListener("close", (event) => {
    const next = synced ? 0 : attempt + 1;
    const delay = event.code === NO_SUCH_ROOM ? MAX_BACKOFF_MS : Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** next) * (0.5 + Math.random() / 2);
    const seconds = Math.ceil(delay / 1000);
    setConnection(event.code === NO_SUCH_ROOM ? t("display.no_room", { site, room, seconds }) : t("app.reconnecting", { seconds }), false);
    window.setTimeout(() => connect(next), delay);
  });
}

function tick() {
  $("d-clock").textContent = clock(new Date(serverNow()).toISOString());
}

function main() {
  $("d-room").textContent = room ? `· ${room}` : "";
  applyTranslations(document);
  document.title = t("display.title", { room });
  tick();
  window.setInterval(tick, 5000);
  window.setInterval(render, 20_000); // keeps "about N min left" counting down between messages
  window.addEventListener("resize", layout);
  connect();
}

main();
