// In-page navigation: the tabs (Room, Alerts, Activity, Profile, Staff) are #hash links, so the
// back button and a reload keep the view. The hash only ever names a view, nothing secret.
// One path means more: /claim/{site}/{room}/{machine}, a machine's QR code, opens that room on
// that machine's claim choices (claim_link.js).

import { $, unsay } from "./dom.js";

const VIEWS = ["room", "alerts", "activity", "profile", "staff"];
let allowed = ["room"];
let onShow = () => {};
let current = null;

export const currentView = () => current;

const CLAIM_PATH = /^\/claim\/([^/]+)\/([^/]+)\/([^/]+)\/?$/;

/** The machine a /claim/{site}/{room}/{machine} deep link names, as {site, room, machine}, or null. */
export function claimLink(pathname = window.location.pathname) {
  const found = CLAIM_PATH.exec(pathname);
  if (!found) return null;
  try {
    const [site, room, machine] = found.slice(1).map(decodeURIComponent);
    return { site, room, machine };
  } catch {
    return null; // a malformed %-escape: not a link of ours
  }
}

/** Which tabs this user has (logged out: none but the room; staff: also Staff). */
export function allowViews(views) {
  allowed = views;
  for (const name of VIEWS) $(`tab-${name}`).parentElement.hidden = !allowed.includes(name);
  $("tabs").hidden = allowed.length <= 1;
  showView();
}

export function showView() {
  const wanted = window.location.hash.slice(1);
  const view = allowed.includes(wanted) ? wanted : "room";
  const changed = view !== current;
  current = view;
  for (const name of VIEWS) {
    $(`view-${name}`).hidden = name !== view;
    const tab = $(`tab-${name}`);
    if (name === view) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  if (changed) onShow(view);
}

export function setupRouter(callback) {
  onShow = callback;
  window.addEventListener("hashchange", () => {
    const before = current;
    showView();
    if (current !== before) unsay(); // feedback from the old tab does not follow the student
    $(`view-${current}`).querySelector("h2")?.focus({ preventScroll: true });
  });
}
