// The REST API and the student's session: tokens live in localStorage so a reload stays logged in.
// A 401 gets one refresh (shared by every caller, since a refresh token works only once), then gives up.

const KEYS = { access: "kywash.access_token", refresh: "kywash.refresh_token", login: "kywash.student_id" };

export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error ?? {};
    super(error.message ?? body?.detail ?? `The server answered ${status}`);
    this.status = status;
    this.code = error.code ?? "error";
    this.details = error; // e.g. retry_after, until
  }
}

/** A message for the student: the API's own for an ApiError, a generic one for a network failure. */
export function errorText(error) {
  if (!(error instanceof ApiError)) return "Cannot reach the server; try again.";
  return error.message.charAt(0).toUpperCase() + error.message.slice(1);
}

export const session = {
  get access() {
    return localStorage.getItem(KEYS.access);
  },
  get refresh() {
    return localStorage.getItem(KEYS.refresh);
  },
  get studentId() {
    return localStorage.getItem(KEYS.login);
  },
  get active() {
    return Boolean(this.access && this.refresh);
  },
  save(pair, studentId) {
    localStorage.setItem(KEYS.access, pair.access_token);
    localStorage.setItem(KEYS.refresh, pair.refresh_token);
    if (studentId) localStorage.setItem(KEYS.login, studentId);
  },
  clear() {
    for (const key of Object.values(KEYS)) localStorage.removeItem(key);
  },
};

let sessionEnded = () => {};
/** Called (once per ending) when the session cannot be refreshed: show the login panel. */
export function onSessionEnded(callback) {
  sessionEnded = callback;
}

async function send(path, { method = "GET", body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

async function parse(response) {
  if (response.status === 204) return null;
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

let refreshing = null;

/** Swap the refresh token for a new pair: true if it worked, false if the session is over.
 * A network failure throws (the session may still be fine). */
export function refreshSession() {
  refreshing ??= (async () => {
    const token = session.refresh;
    if (!token) return false;
    const response = await send("/api/v1/auth/refresh", { method: "POST", body: { refresh_token: token } });
    if (response.ok) {
      session.save(await response.json());
      return true;
    }
    if (response.status >= 500) throw new ApiError(response.status, await response.json().catch(() => null));
    session.clear();
    sessionEnded();
    return false;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** A JSON request, with the Bearer header while logged in; throws ApiError on failure. */
export async function api(path, options = {}) {
  const token = session.access;
  let response = await send(path, { ...options, token });
  if (response.status === 401 && token) {
    // Another call may have refreshed meanwhile; otherwise refresh once ourselves.
    const ok = session.access !== token || (await refreshSession());
    if (ok) response = await send(path, { ...options, token: session.access });
    else response = await send(path, options); // retried anonymously: public routes still answer
  }
  return parse(response);
}

export async function login(studentId, pin) {
  const pair = await parse(await send("/api/v1/auth/login", { method: "POST", body: { student_id: studentId, pin } }));
  session.save(pair, studentId);
}

export async function register(studentId, pin, phoneNumber) {
  const body = { student_id: studentId, pin, phone_number: phoneNumber };
  const pair = await parse(await send("/api/v1/auth/register", { method: "POST", body }));
  session.save(pair, studentId);
}

/** End the session on the server (best effort: the tokens are forgotten here whatever happens). */
export async function logout() {
  const attempt = () =>
    send("/api/v1/auth/logout", { method: "POST", body: { refresh_token: session.refresh }, token: session.access });
  try {
    if (!session.active) return;
    const response = await attempt();
    if (response.status === 401 && (await refreshSession())) await attempt();
  } catch {
    // offline: the session expires on its own
  } finally {
    session.clear();
  }
}
