// The login / register panel and the "Log out" button. The API's own error message is shown
// on failure (wrong PIN, locked with the wait in seconds, already registered, bad phone number).

import { errorText, login, logout, register, session } from "./api.js";

const $ = (id) => document.getElementById(id);

const FORM_RULES = [
  ["student_id", /^[0-9]{6}$/, "Student ID: enter your 6 digits."],
  ["pin", /^[0-9]{4}$/, "PIN: enter 4 digits."],
  ["phone_number", /\S/, "Phone number: needed to create an account."],
];

/** Show the login panel or the account bar, whichever fits the session; `loginError` goes in the panel. */
export function showAccount(loginError = "") {
  const loggedIn = session.active;
  $("login-panel").hidden = loggedIn;
  $("account-bar").hidden = !loggedIn;
  $("account-name").textContent = loggedIn ? `Logged in as ${session.studentId ?? "a student"}` : "";
  $("login-error").textContent = loginError;
}

/** The first problem with the form (and focus on its field), or "". */
function checkForm(form, mode) {
  for (const [name, pattern, message] of FORM_RULES) {
    const input = form.elements[name];
    const bad = (name !== "phone_number" || mode === "register") && !pattern.test(input.value.trim());
    input.setAttribute("aria-invalid", String(bad));
    if (bad) {
      input.focus();
      return message;
    }
  }
  return "";
}

async function submit(event, onLoggedIn) {
  event.preventDefault();
  const form = event.currentTarget;
  const mode = event.submitter?.value === "register" ? "register" : "login";
  const invalid = checkForm(form, mode);
  $("login-error").textContent = invalid;
  if (invalid) return;
  const [studentId, pin, phone] = ["student_id", "pin", "phone_number"].map((n) => form.elements[n].value.trim());
  const buttons = form.querySelectorAll("button");
  for (const el of buttons) el.disabled = true;
  try {
    await (mode === "register" ? register(studentId, pin, phone) : login(studentId, pin));
    form.reset();
    await onLoggedIn(mode === "register" ? "Account created: you are logged in." : "You are logged in.");
  } catch (error) {
    $("login-error").textContent = errorText(error);
  } finally {
    for (const el of buttons) el.disabled = false;
  }
}

/**
 * @param {(message: string) => Promise<void>} onLoggedIn  after a login or registration
 * @param {() => void} beforeLogout  stop anything that uses the session
 * @param {() => Promise<void>} onLoggedOut
 */
export function setupAccount({ onLoggedIn, beforeLogout, onLoggedOut }) {
  $("login-form").addEventListener("submit", (event) => submit(event, onLoggedIn));
  $("logout").addEventListener("click", async () => {
    beforeLogout();
    await logout();
    await onLoggedOut();
  });
}
