// When to renew the access token: before it expires, so no request meets a 401 for its age.
// Waiting for the 401 was enough at 15-minute tokens, but the demo's stretched lifetime is
// capped at a day of demo time, which at `--speed 3600` is 24 real seconds. The token's `iat`
// and `exp` are on the server's clock, so they are compared with server_clock.js's now(): the
// device's clock may be off, and a sped-up demo's clock runs `rate` times faster than real time.

import { now } from "./server_clock.js";

/** Of a token's lifetime: the last quarter is left for the renewal's round trip. */
const RENEW_AT = 0.75;

/** How often an open page looks (the shortest demo token lasts 24 real seconds, at x3600). */
export const CHECK_MS = 1000;

let read = { token: null, renewAt: Infinity };

/** The server time (ms) at which `token` is due for renewal; Infinity if it has no iat and exp. */
function renewAt(token) {
  if (read.token !== token) read = { token, renewAt: fromClaims(token) };
  return read.renewAt;
}

function fromClaims(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const { iat, exp } = JSON.parse(atob(payload));
    if (!Number.isFinite(iat) || !Number.isFinite(exp) || exp <= iat) return Infinity;
    return (iat + (exp - iat) * RENEW_AT) * 1000;
  } catch {
    return Infinity; // not a JWT: the server will say so (401), and the 401 path refreshes it
  }
}

/** Whether `token` should be swapped for a fresh one now. */
export function renewalDue(token) {
  return Boolean(token) && now() >= renewAt(token);
}
