// The server's clock, as the last snapshot (logged in) or machine list (polled, logged out) gave
// it: time left, countdowns and "… ago" are counted on it, not on the device's clock, which may
// be hours off (and in a sped-up demo the server's clock runs `rate` times faster than real time).

const anchor = { server: null, local: 0, rate: 1 };

/** Take the clock from a snapshot or GET /api/v1/machines/ (`server_time`, `rate`); other messages leave it alone. */
export function syncClock(message) {
  const server = Date.parse(message.server_time ?? "");
  if (Number.isNaN(server)) return;
  Object.assign(anchor, { server, local: performance.now(), rate: message.rate > 0 ? message.rate : 1 });
}

/** The server's now in milliseconds since the epoch (the device's until either came). */
export function now() {
  if (anchor.server === null) return Date.now();
  return anchor.server + (performance.now() - anchor.local) * anchor.rate;
}
