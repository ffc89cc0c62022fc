// The page's words: every visible text is a key of a catalog (i18n/en.json, i18n/es.json).
// The browser's languages pick the first supported one (else English); the switch changes it at
// once and it is remembered here (localStorage) and, logged in, on the server (profile.js).
// `t("usage.free")`, `t("cards.open_faults", {count: 2})`: `{name}` is filled in, and a value that is
// an object ({"one": …, "other": …}) is a plural chosen by Intl.PluralRules on `count`.
// HTML marks its texts: data-i18n="key" (the text) and data-i18n-attr="aria-label:key;title:key".

export const LANGUAGES = { en: "English", es: "Español" };
const KEY = "kywash.language";

async function fetchCatalog(code) {
  const response = await fetch(`/static/i18n/${code}.json`);
  return response.ok ? response.json() : {};
}

const catalogs = Object.fromEntries(
  await Promise.all(Object.keys(LANGUAGES).map(async (code) => [code, await fetchCatalog(code).catch(() => ({}))])),
);
const listeners = [];

/** The first of the browser's languages we have ("es-MX" → "es"), else English. */
export function browserLanguage(languages = navigator.languages ?? [navigator.language]) {
  for (const tag of languages) {
    const code = String(tag).toLowerCase().split("-")[0];
    if (code in LANGUAGES) return code;
  }
  return "en";
}

function saved() {
  try {
    const code = localStorage.getItem(KEY);
    return code in LANGUAGES ? code : null;
  } catch {
    return null;
  }
}

/** `?lang=es` in the address (a wall display set up once) wins over everything. */
function asked() {
  const code = new URLSearchParams(window.location.search).get("lang");
  return code in LANGUAGES ? code : null;
}

let current = asked() ?? saved() ?? browserLanguage();
document.documentElement.lang = current;

/** The page's language code ("en", "es"). */
export const language = () => current;

/** A key's text in the current language (English if this one lacks it; the key itself if none has it). */
export function t(key, params = {}) {
  let text = catalogs[current]?.[key] ?? catalogs.en?.[key] ?? key;
  if (typeof text === "object") {
    const form = new Intl.PluralRules(current).select(Number(params.count ?? 0));
    text = text[form] ?? text.other;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** Fill every element under `root` marked with data-i18n / data-i18n-attr. */
export function applyTranslations(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":").map((part) => part.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
}

/** Call `listener(code)` after every change of language (to redraw what was built in code). */
export function onLanguageChange(listener) {
  listeners.push(listener);
}

/** Switch the page's language now (no reload); remembered on this device. */
export function setLanguage(code) {
  if (!(code in LANGUAGES)) return;
  try {
    localStorage.setItem(KEY, code);
  } catch {
    // private mode: the choice lasts for this page only
  }
  if (code === current) return;
  current = code;
  document.documentElement.lang = code;
  applyTranslations(document);
  for (const listener of listeners) listener(code);
}

/** Whether the student chose a language on this device (else the browser's is used). */
export const chosenHere = () => saved() !== null;
