// Tiny DOM helpers: build elements from data with properties and text only (never HTML strings).

export const $ = (id) => document.getElementById(id);

/**
 * `h("button", {type: "button", class: "secondary", "aria-label": "Claim washer 2"}, "Claim")`.
 * Keys that are element properties (textContent, hidden, htmlFor, value...) are set as such;
 * `class`, `data-*` and `aria-*` keys become attributes; `on*` functions become listeners.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key.includes("-") || !(key in el)) el.setAttribute(key, value === true ? "" : String(value));
    else el[key] = value;
  }
  el.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return el;
}

/** Text for screen readers only (the `.sr-only` class hides it visually). */
export const srOnly = (text) => h("span", { class: "sr-only" }, text);

const SAY_FOR_MS = 10_000; // long enough to read twice; an error stays a bit longer
const SAY_ERROR_FOR_MS = 15_000;
let sayTimers = [];

/**
 * Say something in the status toast (role=status, fixed at the bottom of the viewport, so it shows
 * where the student is looking even after an action far down the page); errors are styled and
 * announced too. It goes after a while, on the next message, or on leaving the view (`unsay`).
 */
export function say(text, isError = false) {
  const status = $("action-status");
  unsay();
  status.classList.toggle("error", isError);
  // emptied first: re-announced even when repeated
  sayTimers = [
    window.setTimeout(() => (status.textContent = text), 30),
    window.setTimeout(unsay, isError ? SAY_ERROR_FOR_MS : SAY_FOR_MS),
  ];
}

/** Take the status toast away (a new tab: what was said belonged to the old one). */
export function unsay() {
  for (const timer of sayTimers) window.clearTimeout(timer);
  sayTimers = [];
  $("action-status").textContent = "";
}

/** Announce a live change (a card that changed for this student) without moving focus. */
export function announce(text) {
  $("live-changes").textContent = text;
}

/** Disable a set of controls while `work` runs. */
export async function busy(controls, work) {
  const list = [...controls];
  for (const el of list) el.disabled = true;
  try {
    return await work();
  } finally {
    for (const el of list) el.disabled = false;
  }
}
