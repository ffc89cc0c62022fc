// The profile: who is logged in, the phone number, the alert before the end (off, 5 or 10
// minutes), and the language kept on the server (notifications are written in it).

import { api } from "./api.js";
import { $, busy, say } from "./dom.js";
import { errorText } from "./errors.js";
import { clearErrors, clearWhenFixed, showError } from "./form_errors.js";
import { dayAndClock } from "./format.js";
import { language, setLanguage, t } from "./i18n.js";

export async function loadProfile() {
  const me = await api("/api/v1/profile/me");
  $("profile-who").textContent = me.role === "staff" ? t("auth.staff_name", { login: me.username }) : t("profile.student_id", { id: me.student_id });
  $("profile-since").textContent = t("profile.since", { time: dayAndClock(me.created_at) });
  $("profile-phone").value = me.phone_number ?? "";
  clearErrors($("profile-error"), $("profile-form")); // the number as stored: nothing wrong with it
  $("alert-before").value = String(me.alert_before_minutes ?? 0);
  return me;
}

/** Keep the user's language on the server: the page's choice is sent there. */
export async function saveLanguage(code) {
  await api("/api/v1/profile/update", { method: "PUT", body: { language: code } });
}

/** After login: a language chosen on the account wins; none yet, this page's is kept for it. */
export async function syncLanguage() {
  const me = await api("/api/v1/profile/me");
  if (me.language) setLanguage(me.language);
  else await saveLanguage(language());
}

function setupAlertBefore() {
  $("alert-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    $("alert-error").textContent = "";
    const minutes = Number(form.elements.alert_before_minutes.value);
    try {
      const me = await busy(form.querySelectorAll("button, select"), () =>
        api("/api/v1/profile/update", { method: "PUT", body: { alert_before_minutes: minutes } }),
      );
      $("alert-before").value = String(me.alert_before_minutes);
      say(me.alert_before_minutes ? t("profile.told_before", { minutes: me.alert_before_minutes }) : t("profile.alert_off"));
    } catch (error) {
      $("alert-error").textContent = errorText(error);
    }
  });
}

export function setupProfile() {
  setupAlertBefore();
  clearWhenFixed($("profile-form"), $("profile-error")); // the server judges a number: any edit may fix it
  $("profile-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    clearErrors($("profile-error"), form);
    try {
      const me = await busy(form.querySelectorAll("button"), () =>
        api("/api/v1/profile/update", { method: "PUT", body: { phone_number: form.elements.phone_number.value.trim() } }),
      );
      $("profile-phone").value = me.phone_number ?? "";
      say(t("profile.phone_saved"));
    } catch (error) {
      showError($("profile-error"), errorText(error), form.elements.phone_number);
    }
  });
}
