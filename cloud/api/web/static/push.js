// Web Push: the service worker (/sw.js) shows notifications while the page is closed.
// Subscribe with the server's VAPID public key, hand the subscription to the server, and
// take it back on logout so the next person on this phone does not get someone else's alerts.

import { ApiError, api } from "./api.js";

function keyBytes(base64url) {
  const base64 = (base64url + "=".repeat((4 - (base64url.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

function sameKey(subscription, bytes) {
  const current = subscription.options?.applicationServerKey;
  if (!current) return true;
  const mine = new Uint8Array(current);
  return mine.length === bytes.length && mine.every((b, i) => b === bytes[i]);
}

export const pushSupported = () => "serviceWorker" in navigator && "PushManager" in window;

/** Register the service worker (at start: it is what shows notifications while the page is closed). */
export async function registerWorker() {
  if (!("serviceWorker" in navigator)) return null;
  try {
    return await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  } catch {
    return null; // e.g. plain http on a LAN address: no service workers, the page still works
  }
}

/**
 * Subscribe this browser for the logged-in user. Returns "on", "unsupported", "unavailable"
 * (the server has no push keys) or "denied" (the browser refused).
 */
export async function enablePush() {
  if (!pushSupported()) return "unsupported";
  let key;
  try {
    key = keyBytes((await api("/api/v1/push/key")).public_key);
  } catch (error) {
    if (error instanceof ApiError) return "unavailable";
    throw error;
  }
  const registration = (await registerWorker()) && (await navigator.serviceWorker.ready);
  if (!registration) return "unsupported";
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameKey(subscription, key)) {
    await subscription.unsubscribe(); // the server's keys changed: the old subscription is useless
    subscription = null;
  }
  try {
    subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  } catch {
    return "denied";
  }
  await api("/api/v1/push/subscriptions", { method: "POST", body: subscription.toJSON() });
  return "on";
}

/** On logout (while the token still works): forget this browser's subscription, here and on the server. */
export async function disablePush() {
  if (!pushSupported()) return;
  try {
    const registration = await navigator.serviceWorker.getRegistration("/");
    const subscription = await registration?.pushManager.getSubscription();
    if (!subscription) return;
    await api("/api/v1/push/subscriptions", { method: "DELETE", body: { endpoint: subscription.endpoint } }).catch(() => {});
    await subscription.unsubscribe();
  } catch {
    // best effort: the server drops subscriptions the push service says are gone
  }
}
