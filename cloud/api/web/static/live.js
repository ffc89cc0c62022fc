// /api/ws: send the access token as the first message (never in the URL), then follow the room.
// A dropped socket reconnects with exponential backoff and jitter (so a restarted server is not hit
// by every phone at once); the snapshot it sends first replaces what was missed.
// Close code 4401 means the token was refused: refresh once, and if that fails the session is over.

import { syncClock } from "./server_clock.js";

const UNAUTHORIZED = 4401;
const BASE_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

/**
 * @param {object} options
 * @param {URLSearchParams} options.query  site/room to follow
 * @param {() => string|null} options.token  the current access token
 * @param {() => Promise<boolean>} options.refresh  refresh the session; false: it has ended
 * @param {() => void} options.onRefused  even a freshly refreshed token was refused: log in again
 * @param {(message: object) => void} options.onMessage
 * @param {(key: string, ok: boolean, params?: object) => void} options.onStatus  a catalog key (i18n.js)
 * @returns {{stop: () => void}}
 */
export function startLive({ query, token, refresh, onRefused, onMessage, onStatus }) {
  let socket = null;
  let timer = null;
  let stopped = false;
  let refreshedSinceSnapshot = false;

  function retry(attempt) {
    const delay = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
    onStatus("app.reconnecting", false, { seconds: Math.ceil(delay / 1000) });
    timer = window.setTimeout(() => open(attempt), delay);
  }

  function reconnectNow() {
    // back online (or the phone woke up): skip the rest of the backoff
    if (stopped || !timer) return;
    window.clearTimeout(timer);
    open(0);
  }

  async function unauthorized(attempt) {
    if (refreshedSinceSnapshot) {
      onRefused();
      return;
    }
    onStatus("app.renewing", false);
    try {
      if (!(await refresh())) return; // the session is over: the page shows the login panel
      refreshedSinceSnapshot = true;
      open(0);
    } catch {
      if (!stopped) retry(attempt + 1); // the server is unreachable; the session may be fine
    }
  }

  function open(attempt) {
    timer = null;
    if (stopped) return;
    const access = token();
    if (!access) return;
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${window.location.host}/api/ws?${query}`);
    socket = ws;
    let synced = false;
    ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "auth", token: access })));
    ws.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === "snapshot") {
        syncClock(message);
        synced = true;
        refreshedSinceSnapshot = false;
        onStatus("app.live", true);
      }
      onMessage(message);
    });
    ws.addEventListener("close", (event) => {
      if (stopped || socket !== ws) return;
      if (event.code === UNAUTHORIZED) unauthorized(attempt);
      else retry(synced ? 0 : attempt + 1);
    });
  }

  window.addEventListener("online", reconnectNow);
  open(0);
  return {
    stop() {
      stopped = true;
      window.removeEventListener("online", reconnectNow);
      if (timer) window.clearTimeout(timer);
      socket?.close(1000, "bye");
    },
  };
}
