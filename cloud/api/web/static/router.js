// In-page navigation: the tabs (Room, Alerts, Activity, Profile, Staff) are #hash links, so the
// back button and a reload keep the view. The hash only ever names a view, nothing secret.

import { $ } from "./dom.js";

const VIEWS = ["room", "alerts", "activity", "profile", "staff"];
let allowed = ["room"];
let onShow = () => {};
let current = null;

export const currentView = () => current;

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
    showView();
    $(`view-${current}`).querySelector("h2")?.focus({ preventScroll: true });
  });
}
