// The REST API and the session: tokens live in localStorage so a reload stays logged in.
// The access token is renewed shortly before it expires (token_renewal.js), on every request
// and every second while the page is open, so the live stream reconnects with a fresh one too.
// A 401 still gets one refresh, shared by every caller in this tab and serialised across tabs with a
// Web Lock, since a refresh token works only once (a second use ends the session).
// Every request names the page's language, so the server's words (errors, the activity feed)
// come back in it even before login.

import { language } from "./i18n.js";
import { CHECK_MS, renewalDue } from "./token_renewal.js";

const KEYS = {
  access: "kywash.access_token",
  refresh: "kywash.refresh_token",
  login: "kywash.login",
  role: "kywash.role",
};

export class ApiError extends Error {
  constructor(status, body, retryAfter = null) {
    const error = body?.error ?? {};
    super(error.message ?? (typeof body?.detail === "string" ? body.detail : `The server answered ${status}`));
    this.status = status;
    this.code = error.code ?? "error";
    this.details = error; // e.g. retry_after, until, max_bytes
    this.retryAfter = Number(error.retry_after ?? retryAfter) || null;
  }
}

export const session = {
  get access() {
    return localStorage.getItem(KEYS.access);
  },
  get refresh() {
    return localStorage.getItem(KEYS.refresh);
  },
  get login() {
    return localStorage.getItem(KEYS.login);
  },
  get role() {
    return localStorage.getItem(KEYS.role) ?? "student";
  },
  get isStaff() {
    return this.role === "staff";
  },
  get active() {
    return Boolean(this.access && this.refresh);
  },
  save(pair, login, role) {
    localStorage.setItem(KEYS.access, pair.access_token);
    localStorage.setItem(KEYS.refresh, pair.refresh_token);
    if (login) localStorage.setItem(KEYS.login, login);
    if (role) localStorage.setItem(KEYS.role, role);
  },
  clear() {
    for (const key of Object.values(KEYS)) localStorage.removeItem(key);
  },
};

let sessionEnded = () => {};
/** Called when the session cannot be refreshed any more: the page shows the login view. */
export function onSessionEnded(callback) {
  sessionEnded = callback;
}

function send(path, { method = "GET", body, token, form, accept = "application/json" } = {}) {
  const headers = { Accept: accept, "Accept-Language": language() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const payload = form ?? (body === undefined ? undefined : JSON.stringify(body));
  return fetch(path, { method, headers, body: payload, cache: "no-store" });
}

async function failure(response) {
  const body = await response.json().catch(() => null);
  return new ApiError(response.status, body, response.headers.get("Retry-After"));
}

async function parse(response) {
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return null;
  return response.json().catch(() => null);
}

/** Swap the refresh token for a new pair, once, whoever else asks meanwhile. */
async function swapTokens(used) {
  if (session.refresh !== used) return Boolean(session.active); // another tab already refreshed
  const response = await send("/api/v1/auth/refresh", { method: "POST", body: { refresh_token: used } });
  if (response.ok) {
    session.save(await response.json());
    return true;
  }
  if (response.status >= 500 || response.status === 429) throw await failure(response);
  session.clear();
  sessionEnded();
  return false;
}

let refreshing = null;

/** Refresh the session: true if it worked, false if it is over; a network failure throws. */
export function refreshSession() {
  refreshing ??= (async () => {
    const used = session.refresh;
    if (!used) return false;
    if (navigator.locks) return navigator.locks.request("kywash-refresh", () => swapTokens(used));
    return swapTokens(used);
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** A token already due when it came: the page's clock is ahead of the server's (no snapshot yet). */
let distrusted = null;

/** Renew the access token if it is due; a failed renewal leaves it to the 401 path. */
async function renewIfDue() {
  const token = session.access;
  if (!session.active || token === distrusted || !renewalDue(token)) return;
  try {
    await refreshSession();
  } catch {
    return; // offline or busy: the next check or request tries again
  }
  // renewing it again would only loop: the 401 path takes over for that one
  if (renewalDue(session.access)) distrusted = session.access;
}

window.setInterval(renewIfDue, CHECK_MS);

/** A request with the Bearer header while logged in, renewed first if due; one refresh on 401. */
async function authorised(path, options) {
  await renewIfDue();
  const token = session.access;
  let response = await send(path, { ...options, token });
  if (response.status === 401 && token) {
    const ok = session.access !== token || (await refreshSession());
    response = await send(path, { ...options, token: ok ? session.access : undefined });
  }
  return response;
}

/** A JSON request; throws ApiError on failure (and TypeError when the network is down). */
export async function api(path, options = {}) {
  return parse(await authorised(path, options));
}

/** A multipart upload (a FormData); the browser sets its Content-Type with the boundary. */
export async function upload(path, form) {
  return parse(await authorised(path, { method: "POST", form }));
}

/** A binary resource fetched with the token (e.g. a fault photo) as a Blob. */
export async function fetchBlob(path) {
  const response = await authorised(path, { accept: "image/*" });
  if (!response.ok) throw await failure(response);
  return response.blob();
}

async function startSession(path, body, login) {
  const pair = await parse(await send(path, { method: "POST", body }));
  session.save(pair, login);
  const me = await api("/api/v1/profile/me");
  session.save(pair, login, me.role);
  return me;
}

export const login = (studentId, pin) =>
  startSession("/api/v1/auth/login", { student_id: studentId, pin }, studentId);

export const register = (studentId, pin, phoneNumber) =>
  startSession("/api/v1/auth/register", { student_id: studentId, pin, phone_number: phoneNumber }, studentId);

export const staffLogin = (username, password) =>
  startSession("/api/v1/auth/staff/login", { username, password }, username);

/** End the session on the server (best effort: the tokens are forgotten here whatever happens). */
export async function logout() {
  await renewIfDue();
  const attempt = () =>
    send("/api/v1/auth/logout", { method: "POST", body: { refresh_token: session.refresh }, token: session.access });
  try {
    if (!session.active) return;
    const response = await attempt();
    if (response.status === 401 && (await refreshSession())) await attempt();
  } catch {
    // offline or already ended: the session expires on its own
  } finally {
    session.clear();
  }
}
