// KY Wash service worker (served from /sw.js, scope /): shows Web Push notifications while the
// page is closed — "your wash is done", "a machine is held for you" — and opens the app on a tap.
// The payload is JSON: {"title", "body", "type", "id", "data", "url"}.

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

function parse(event) {
  try {
    return event.data ? event.data.json() : {};
  } catch {
    return { body: event.data ? event.data.text() : "" };
  }
}

self.addEventListener("push", (event) => {
  const payload = parse(event);
  const title = payload.title || "KY Wash";
  const options = {
    body: payload.body || "",
    tag: payload.id ? `kywash-${payload.id}` : payload.type || "kywash", // the open page uses the same tag
    renotify: true,
    icon: "/static/icons/icon-192.png",
    badge: "/static/icons/icon-192.png",
    data: { url: payload.url || "/", type: payload.type, id: payload.id, data: payload.data ?? {} },
  };
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(event.notification.data?.url || "/", self.location.origin);
  if (target.origin !== self.location.origin) target.href = self.location.origin + "/";
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      for (const client of windows) {
        if (new URL(client.url).origin === target.origin && "focus" in client) return client.focus();
      }
      return self.clients.openWindow(target.href);
    })(),
  );
});
