// KY Wash web app: wires the small modules together and runs the session's life cycle.
// Logged in, the room is live over /api/ws (live.js); logged out, the public machine list is
// polled and the login view is shown. Server data reaches the page only through DOM APIs.

import { applyActivityMessage, clearActivity, loadActivity, setupActivity } from "./activity.js";
import { onSessionEnded, refreshSession, session } from "./api.js";
import { setupAccount, showAccount } from "./auth.js";
import { showLinkedMachine } from "./claim_link.js";
import { loadBusyHours, setupBusyHours } from "./busy.js";
import { $, say } from "./dom.js";
import { errorText } from "./errors.js";
import { openReport, setupFaults } from "./faults.js";
import { countdown } from "./format.js";
import { applyTranslations, language, onLanguageChange, setLanguage, t } from "./i18n.js";
import { startLive } from "./live.js";
import { applyDoneMessage, applyNotificationMessage, clearNotifications, loadNotifications, renewPush, setupNotifications } from "./notifications.js";
import { loadProfile, saveLanguage, setupProfile, syncLanguage } from "./profile.js";
import { disablePush, registerWorker } from "./push.js";
import {
  applyMessage,
  chosenRoom,
  loadMachines,
  loadRooms,
  onMachinesChanged,
  render,
  renderSummary,
  roomQuery,
  setupRoom,
  view,
} from "./room.js";
import { tickCards } from "./cards.js";
import { applyRepairsMessage, loadRepairs } from "./repairs.js";
import { allowViews, currentView, setupRouter } from "./router.js";
import { applyStaffMessage, askOutOfService, backInService, loadStaff, setupStaff } from "./staff.js";
import { applyWaitlistMessage, loadWaitlists, render as renderWaitlist } from "./waitlist.js";

const POLL_MS = 20_000;
let live = null; // the WebSocket follower while logged in
let poll = null; // the polling timer while logged out
let connection = { key: "page.connecting", ok: false, params: {} }; // kept as a key: redrawn in a new language

function showConnection() {
  $("connection").textContent = t(connection.key, connection.params);
  $("connection").classList.toggle("offline", !connection.ok);
}

/** The connection line, as a catalog key (live.js reports keys too). */
function setConnection(key, ok, params = {}) {
  connection = { key, ok, params };
  showConnection();
}

const loaders = {
  room: () => loadBusyHours(chosenRoom()),
  alerts: () => loadNotifications(),
  activity: () => loadActivity(),
  profile: () => loadProfile(),
  staff: () => loadStaff(),
};

function loadView(name) {
  if (name !== "room" && !session.active) return;
  loaders[name]?.().catch((error) => say(errorText(error), true));
}

/** Everything the stream says; a snapshot (first or after a reconnect) also reloads the lists. */
function onMessage(message) {
  applyMessage(message);
  applyWaitlistMessage(message);
  applyNotificationMessage(message);
  applyDoneMessage(message);
  applyActivityMessage(message);
  applyRepairsMessage(message);
  if (view.user?.staff) applyStaffMessage(message);
  if (message.type === "snapshot") {
    loadWaitlists();
    loadRepairs(session.active).catch(() => {});
    loadNotifications().catch(() => {});
    if (currentView() !== "room") loadView(currentView());
  }
}

function stopLive() {
  live?.stop();
  live = null;
}

function followRoom() {
  stopLive();
  live = startLive({
    query: roomQuery(),
    token: () => session.access,
    refresh: refreshSession,
    onRefused: () => goAnonymous(t("app.session_ended")),
    onMessage,
    onStatus: setConnection,
  });
}

async function pollOnce() {
  if (document.hidden) return;
  try {
    await loadMachines();
    setConnection("app.log_in_for_live", true);
  } catch {
    setConnection("app.unreachable", false);
  }
}

/** Logged out (or the session ended): stop the stream, show the login view, poll the public list. */
async function goAnonymous(loginError = "") {
  stopLive();
  session.clear();
  view.user = null;
  clearNotifications();
  clearActivity();
  loadRepairs(false);
  $("done-banner").hidden = true;
  showAccount(loginError);
  allowViews(["room"]);
  render();
  poll ??= window.setInterval(pollOnce, POLL_MS);
  await loadRooms().catch(() => {});
  loadView(currentView());
  await pollOnce();
}

async function goLive() {
  window.clearInterval(poll);
  poll = null;
  view.user = { staff: session.isStaff };
  showAccount();
  allowViews(session.isStaff ? ["room", "alerts", "activity", "profile", "staff"] : ["room", "alerts", "activity", "profile"]);
  await loadRooms().catch(() => {});
  loadView(currentView());
  await loadMachines().catch(() => setConnection("app.unreachable", false));
  if (!session.active) return; // the session ended while loading
  followRoom();
  syncLanguage().catch(() => {});
  loadNotifications().catch(() => {});
  renewPush();
}

function onRoomChange() {
  loadMachines().catch((error) => say(errorText(error), true));
  loadBusyHours(chosenRoom());
  if (session.active) {
    followRoom();
    loadWaitlists();
  }
  loadRepairs(session.active).catch(() => {});
}

function onCardAction(machine, action, button) {
  if (action === "report") openReport(machine, button);
  else if (action === "oos") askOutOfService(machine, button);
  else if (action === "back") backInService(machine, button);
}

/** Once a second: the hold countdowns, the cards' "updated … ago" and time left, the summary line. */
function tick() {
  tickCards();
  renderSummary();
  for (const el of document.querySelectorAll("[data-until]")) {
    const left = countdown(el.dataset.until);
    el.textContent = left || t("app.hold_expired");
    el.closest(".held, .card")?.classList.toggle("expired", !left);
  }
}

/** The language switch: the page changes at once; a logged-in user's choice is kept on the server too. */
function setupLanguage() {
  const select = $("language-select");
  select.value = language();
  select.addEventListener("change", () => {
    setLanguage(select.value);
    if (session.active) saveLanguage(select.value).catch((error) => say(errorText(error), true));
  });
  onLanguageChange((code) => {
    select.value = code;
    showConnection();
    render();
    renderWaitlist();
    loadRooms().catch(() => {});
    if (currentView() !== "room") loadView(currentView());
    else loadBusyHours(chosenRoom());
    tick();
  });
  applyTranslations(document);
}

function main() {
  setupLanguage();
  setupRouter(loadView);
  setupAccount({
    onLoggedIn: async (message) => {
      say(message);
      await goLive();
    },
    beforeLogout: async () => {
      stopLive();
      await disablePush();
    },
    onLoggedOut: async () => {
      say(t("app.logged_out"));
      await goAnonymous();
    },
  });
  setupRoom({ onRoomChange, onCardAction });
  setupFaults();
  setupStaff();
  setupNotifications({ onBell: () => (window.location.hash = "#alerts") });
  setupActivity();
  setupProfile();
  setupBusyHours();
  onMachinesChanged(renderWaitlist);
  onMachinesChanged(tick);
  onMachinesChanged(() => showLinkedMachine(view.machines, view.user));
  onSessionEnded(() => goAnonymous(t("app.session_ended")));
  window.addEventListener("storage", (event) => {
    if (event.key !== "kywash.refresh_token") return; // another tab logged in or out
    if (session.active && !live) goLive();
    else if (!session.active && live) goAnonymous();
  });
  window.setInterval(tick, 1000);
  window.setInterval(render, 30_000); // keeps "x min ago" fresh
  registerWorker();
  if (session.active) goLive();
  else goAnonymous();
}

main();
