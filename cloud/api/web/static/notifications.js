// Notifications: the bell's unread count, the Alerts list (mark read, mark all read, delete),
// the browser's own notification for the important ones while the page is open, and the
// "Enable alerts" button that asks for permission (on a tap) and subscribes to Web Push.

import { api } from "./api.js";
import { $, busy, h, say } from "./dom.js";
import { errorText } from "./errors.js";
import { clock, dayAndClock, machineName } from "./format.js";
import { onLanguageChange, t } from "./i18n.js";
import { enablePush, pushSupported } from "./push.js";

/** Types worth a pop-up: the wash is done (and the reminders) or was not after all, a machine is held for you. */
const POP_UP = new Set(["ending_soon", "cycle_finished", "cycle_continued", "collect_reminder", "reservation_offered", "reservation_expired", "cycle_interrupted"]);
const PAGE = 20;
const state = { items: [], unread: 0, next: null };
let done = null; // the last cycle_finished message, its banner redrawn in a new language

function badge() {
  const count = $("unread-count");
  count.textContent = state.unread > 99 ? "99+" : String(state.unread);
  count.hidden = state.unread === 0;
  $("bell").setAttribute("aria-label", state.unread ? t("alerts.bell_unread", { count: state.unread }) : t("alerts.bell_none"));
}

function item(note) {
  const name = note.title;
  return h(
    "li",
    { class: note.read ? "note" : "note unread", "data-notification-id": note.id, "data-type": note.type },
    h("p", { class: "note-head" }, h("strong", {}, note.title), " ", h("time", { dateTime: note.created_at }, dayAndClock(note.created_at))),
    h("p", { class: "note-body" }, note.body),
    h(
      "div",
      { class: "note-actions" },
      note.read ? null : h("button", { type: "button", class: "secondary small", "data-act": "read", "aria-label": `${t("alerts.mark_read")}: ${name}` }, t("alerts.mark_read")),
      h("button", { type: "button", class: "secondary small", "data-act": "delete", "aria-label": `${t("alerts.delete")}: ${name}` }, t("alerts.delete")),
    ),
  );
}

function render() {
  badge();
  $("notes").replaceChildren(...state.items.map(item));
  $("notes-empty").hidden = state.items.length > 0;
  $("notes-more").hidden = state.next === null;
  $("read-all").disabled = state.unread === 0;
}

export async function loadNotifications() {
  const page = await api(`/api/v1/notifications/?limit=${PAGE}`);
  Object.assign(state, { items: page.items, unread: page.unread_count, next: page.next_before });
  render();
}

async function loadOlder(button) {
  const page = await busy([button], () => api(`/api/v1/notifications/?limit=${PAGE}&before=${state.next}`));
  const known = new Set(state.items.map((n) => n.id));
  state.items.push(...page.items.filter((n) => !known.has(n.id)));
  Object.assign(state, { unread: page.unread_count, next: page.next_before });
  render();
}

export function clearNotifications() {
  Object.assign(state, { items: [], unread: 0, next: null });
  render();
}

function popUp(note) {
  if (!POP_UP.has(note.type) || !("Notification" in window) || Notification.permission !== "granted") return;
  const options = { body: note.body, tag: `kywash-${note.id}`, icon: "/static/icons/icon-192.png", data: { url: "/" } };
  try {
    const shown = new Notification(note.title, options);
    shown.onclick = () => {
      window.focus();
      window.location.hash = "#room";
      shown.close?.();
    };
  } catch {
    // Android Chrome: only a service worker may show notifications
    navigator.serviceWorker?.ready.then((registration) => registration.showNotification(note.title, options)).catch(() => {});
  }
}

/** A live `notification` message: into the list, onto the badge, and maybe a pop-up. */
export function applyNotificationMessage(message) {
  if (message.type !== "notification") return;
  const note = message.notification;
  if (state.items.some((n) => n.id === note.id)) return;
  state.items.unshift(note);
  state.unread += 1;
  render();
  popUp(note);
}

/** A live `cycle_finished` message: a banner on the page as well (alerts may be off);
 * `cycle_continued` (it was not done after all) takes that banner down again. */
export function applyDoneMessage(message) {
  if (message.type === "cycle_continued") {
    $("done-banner").hidden = true;
    return;
  }
  if (message.type !== "cycle_finished") return;
  done = message;
  $("done-banner").hidden = false; // shown first, then filled, so screen readers announce it
  fillDone(message);
}

function fillDone(message) {
  $("done-title").textContent = message.kind === "dryer" ? t("done.dryer") : t("done.washer");
  $("done-body").textContent = t("done.body", { machine: machineName(message.kind, message.number), time: clock(message.finished_at) });
}

async function onListClick(event) {
  const button = event.target.closest("button[data-act]");
  if (!button) return;
  const id = Number(button.closest("li").dataset.notificationId);
  try {
    if (button.dataset.act === "read") {
      const updated = await busy([button], () => api(`/api/v1/notifications/${id}/read`, { method: "PUT" }));
      state.items = state.items.map((n) => (n.id === id ? updated : n));
      state.unread = Math.max(0, state.unread - 1);
    } else {
      await busy([button], () => api(`/api/v1/notifications/${id}`, { method: "DELETE" }));
      const gone = state.items.find((n) => n.id === id);
      state.items = state.items.filter((n) => n.id !== id);
      if (gone && !gone.read) state.unread = Math.max(0, state.unread - 1);
      say(t("alerts.deleted"));
    }
    render();
    $("notes-title").focus();
  } catch (error) {
    say(errorText(error), true);
  }
}

function alertsState() {
  if (!("Notification" in window)) return t("alerts.cannot");
  if (Notification.permission === "denied") return t("alerts.blocked");
  if (Notification.permission === "granted") return t("alerts.on");
  return t("alerts.offer");
}

/** Ask for permission (only ever on a tap) and subscribe to Web Push for when the page is closed. */
async function enableAlerts(button) {
  let permission = Notification.permission;
  if (permission === "default") permission = await Notification.requestPermission();
  if (permission !== "granted") {
    $("alerts-state").textContent = alertsState();
    return;
  }
  $("alerts-state").textContent = t("alerts.while_open");
  const result = await busy([button], () => enablePush().catch(() => "failed"));
  const text = {
    on: "alerts.push_on",
    unsupported: "alerts.push_unsupported",
    unavailable: "alerts.push_unavailable",
    denied: "alerts.push_denied",
    failed: "alerts.push_failed",
  };
  $("alerts-state").textContent = t(text[result]);
}

/** After login: when permission was given before, renew the push subscription for this user. */
export function renewPush() {
  if ("Notification" in window && Notification.permission === "granted" && pushSupported()) enablePush().catch(() => {});
}

export function setupNotifications({ onBell }) {
  $("bell").addEventListener("click", onBell);
  $("done-dismiss").addEventListener("click", () => ($("done-banner").hidden = true));
  $("notes").addEventListener("click", onListClick);
  $("notes-more").addEventListener("click", (e) => loadOlder(e.currentTarget).catch((error) => say(errorText(error), true)));
  $("read-all").addEventListener("click", async (event) => {
    try {
      const result = await busy([event.currentTarget], () => api("/api/v1/notifications/read-all", { method: "POST" }));
      say(result.updated ? t("alerts.marked", { count: result.updated }) : t("alerts.nothing_unread"));
      await loadNotifications();
    } catch (error) {
      say(errorText(error), true);
    }
  });
  $("alerts-state").textContent = alertsState();
  onLanguageChange(() => {
    render();
    if (done) fillDone(done);
    $("alerts-state").textContent = alertsState();
  });
  $("enable-alerts").hidden = !("Notification" in window);
  $("enable-alerts").addEventListener("click", (event) => enableAlerts(event.currentTarget));
}
