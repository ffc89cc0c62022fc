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

/** Say something in the page's status line (role=status); errors are styled and announced too. */
export function say(text, isError = false) {
  const status = $("action-status");
  status.classList.toggle("error", isError);
  status.textContent = "";
  window.setTimeout(() => (status.textContent = text), 30); // emptied first: re-announced even when repeated
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
