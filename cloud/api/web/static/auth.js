// Logging in and out: the student form (log in or create an account), the staff form, and the
// "Log out" button. Fields are checked here first so the message can point at the field.

import { login, logout, register, session, staffLogin } from "./api.js";
import { $, busy } from "./dom.js";
import { errorText } from "./errors.js";

const STUDENT_RULES = [
  ["student_id", /^[0-9]{6}$/, "Student ID: enter your 6 digits."],
  ["pin", /^[0-9]{4}$/, "PIN: enter 4 digits."],
  ["phone_number", /\S/, "Phone number: needed to create an account."],
];

/** Show the login view or the account bar, whichever fits the session. */
export function showAccount(loginError = "") {
  const loggedIn = session.active;
  $("view-login").hidden = loggedIn;
  $("account-bar").hidden = !loggedIn;
  $("account-name").textContent = loggedIn ? (session.isStaff ? `Staff: ${session.login}` : `Student ${session.login ?? ""}`) : "";
  $("login-error").textContent = loginError;
}

/** The first problem with the student form (and focus on its field), or "". */
function checkStudentForm(form, mode) {
  for (const [name, pattern, message] of STUDENT_RULES) {
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

async function submitStudent(event, onLoggedIn) {
  event.preventDefault();
  const form = event.currentTarget;
  const mode = event.submitter?.value === "register" ? "register" : "login";
  const invalid = checkStudentForm(form, mode);
  $("login-error").textContent = invalid;
  if (invalid) return;
  const [studentId, pin, phone] = ["student_id", "pin", "phone_number"].map((n) => form.elements[n].value.trim());
  try {
    const me = await busy(form.querySelectorAll("button"), () => (mode === "register" ? register(studentId, pin, phone) : login(studentId, pin)));
    form.reset();
    // The number as stored, so a local number read in the wrong country is seen at once, not at the first text.
    const texts = me?.phone_number ? ` Messages go to ${me.phone_number}; if that is not your number, fix it under Profile.` : "";
    await onLoggedIn(mode === "register" ? `Account created: you are logged in.${texts}` : "You are logged in.");
  } catch (error) {
    $("login-error").textContent = errorText(error);
    form.elements.pin.select();
  }
}

async function submitStaff(event, onLoggedIn) {
  event.preventDefault();
  const form = event.currentTarget;
  const [username, password] = [form.elements.username.value.trim(), form.elements.password.value];
  if (!username || !password) {
    $("staff-error").textContent = "Enter your username and password.";
    return;
  }
  try {
    await busy(form.querySelectorAll("button"), () => staffLogin(username, password));
    form.reset();
    await onLoggedIn("You are logged in as staff.");
  } catch (error) {
    $("staff-error").textContent =
      error.code === "invalid_credentials" ? "Wrong username or password." : errorText(error);
  }
}

/**
 * @param {(message: string) => Promise<void>} onLoggedIn  after a login or registration
 * @param {() => Promise<void>} beforeLogout  while the session still works (push unsubscribe...)
 * @param {() => Promise<void>} onLoggedOut
 */
export function setupAccount({ onLoggedIn, beforeLogout, onLoggedOut }) {
  $("login-form").addEventListener("submit", (event) => submitStudent(event, onLoggedIn));
  $("staff-form").addEventListener("submit", (event) => submitStaff(event, onLoggedIn));
  $("logout").addEventListener("click", async (event) => {
    await busy([event.currentTarget], async () => {
      await beforeLogout();
      await logout();
    });
    await onLoggedOut();
  });
}
