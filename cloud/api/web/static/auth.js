// Logging in and out: the student form in two modes ("Log in", "Create account": the phone
// number only when creating one), the staff form, and the "Log out" button. Fields are checked
// here first so the message can point at the field.

import { login, logout, register, session, staffLogin } from "./api.js";
import { $, busy } from "./dom.js";
import { errorText } from "./errors.js";
import { clearErrors, clearWhenFixed, showError } from "./form_errors.js";
import { onLanguageChange, t } from "./i18n.js";

const STUDENT_RULES = [
  ["student_id", /^[0-9]{6}$/, "login.bad_student_id"],
  ["pin", /^[0-9]{4}$/, "login.bad_pin"],
  ["phone_number", /\S/, "login.bad_phone"],
];

const mode = () => $("login-form").dataset.mode;

function accountName() {
  if (!session.active) return "";
  return session.isStaff ? t("auth.staff_name", { login: session.login }) : t("auth.student_name", { login: session.login ?? "" });
}

/** Show the login view or the account bar, whichever fits the session. */
export function showAccount(loginError = "") {
  const loggedIn = session.active;
  $("view-login").hidden = loggedIn;
  $("account-bar").hidden = !loggedIn;
  $("account-name").textContent = accountName();
  $("login-cta").hidden = loggedIn;
  clearErrors($("login-error"), $("login-form"));
  $("login-error").textContent = loginError;
}

/** "Log in" or "Create account": the tab, the phone field (creating only) and the button's words. */
function showMode(wanted) {
  const form = $("login-form");
  form.dataset.mode = wanted;
  for (const tab of document.querySelectorAll(".auth-modes [role=tab]")) {
    const selected = tab.dataset.mode === wanted;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
  }
  form.setAttribute("aria-labelledby", wanted === "register" ? "mode-register" : "mode-login");
  $("phone-field").hidden = wanted !== "register";
  $("pin").autocomplete = wanted === "register" ? "new-password" : "current-password";
  $("login-submit").textContent = wanted === "register" ? t("login.create") : t("login.log_in");
  clearErrors($("login-error"), form);
}

/** Whether a student field's value passes its rule (a field without a rule always does). */
function fieldValid(input) {
  const rule = STUDENT_RULES.find(([name]) => name === input.name);
  return !rule || rule[1].test(input.value.trim());
}

/** The first field that breaks its rule (focused, marked invalid, with its message shown), or null. */
function checkStudentForm(form, wanted) {
  clearErrors($("login-error"), form);
  for (const [name, , key] of STUDENT_RULES) {
    const input = form.elements[name];
    if (name === "phone_number" && wanted !== "register") continue;
    input.setAttribute("aria-invalid", "false");
    if (!fieldValid(input)) {
      showError($("login-error"), t(key), input);
      input.focus();
      return input;
    }
  }
  return null;
}

async function submitStudent(event, onLoggedIn) {
  event.preventDefault();
  const form = event.currentTarget;
  const wanted = mode();
  if (checkStudentForm(form, wanted)) return;
  const [studentId, pin, phone] = ["student_id", "pin", "phone_number"].map((n) => form.elements[n].value.trim());
  try {
    const me = await busy(form.querySelectorAll("button"), () => (wanted === "register" ? register(studentId, pin, phone) : login(studentId, pin)));
    form.reset();
    // The number as stored, so a local number read in the wrong country is seen at once, not at the first text.
    const texts = me?.phone_number ? ` ${t("auth.messages_go_to", { phone: me.phone_number })}` : "";
    await onLoggedIn(wanted === "register" ? `${t("auth.account_created")}${texts}` : t("auth.logged_in"));
  } catch (error) {
    showError($("login-error"), errorText(error));
    form.elements.pin.select();
  }
}

async function submitStaff(event, onLoggedIn) {
  event.preventDefault();
  const form = event.currentTarget;
  const [username, password] = [form.elements.username.value.trim(), form.elements.password.value];
  if (!username || !password) {
    showError($("staff-error"), t("auth.staff_missing"));
    return;
  }
  clearErrors($("staff-error"), form);
  try {
    await busy(form.querySelectorAll("button"), () => staffLogin(username, password));
    form.reset();
    await onLoggedIn(t("auth.logged_in_staff"));
  } catch (error) {
    showError($("staff-error"), error.code === "invalid_credentials" ? t("auth.staff_wrong") : errorText(error));
  }
}

/** The tabs as a tablist: a click or the arrow keys switch the mode. */
function setupModes() {
  const tabs = [...document.querySelectorAll(".auth-modes [role=tab]")];
  for (const tab of tabs) {
    tab.addEventListener("click", () => showMode(tab.dataset.mode));
    tab.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
      const next = tabs[(tabs.indexOf(tab) + 1) % tabs.length];
      showMode(next.dataset.mode);
      next.focus();
    });
  }
  showMode("login");
  onLanguageChange(() => {
    $("login-submit").textContent = mode() === "register" ? t("login.create") : t("login.log_in");
    $("account-name").textContent = accountName();
  });
}

/**
 * @param {(message: string) => Promise<void>} onLoggedIn  after a login or registration
 * @param {() => Promise<void>} beforeLogout  while the session still works (push unsubscribe...)
 * @param {() => Promise<void>} onLoggedOut
 */
export function setupAccount({ onLoggedIn, beforeLogout, onLoggedOut }) {
  setupModes();
  clearWhenFixed($("login-form"), $("login-error"), fieldValid);
  clearWhenFixed($("staff-form"), $("staff-error"), (input) => input.value.trim() !== "");
  $("login-cta-link").addEventListener("click", (event) => {
    event.preventDefault(); // a jump, not a view: the hash names views only
    $("view-login").scrollIntoView({ block: "start" });
    $("student-id").focus({ preventScroll: true });
  });
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
