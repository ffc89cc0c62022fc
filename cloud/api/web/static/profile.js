// The profile: who is logged in, the phone number, and the alert before the end (off, 5 or 10 minutes).

import { api } from "./api.js";
import { $, busy, say } from "./dom.js";
import { errorText } from "./errors.js";
import { dayAndClock } from "./format.js";

export async function loadProfile() {
  const me = await api("/api/v1/profile/me");
  $("profile-who").textContent = me.role === "staff" ? `Staff: ${me.username}` : `Student ID ${me.student_id}`;
  $("profile-since").textContent = `Account created ${dayAndClock(me.created_at)}`;
  $("profile-phone").value = me.phone_number ?? "";
  $("alert-before").value = String(me.alert_before_minutes ?? 0);
  return me;
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
      say(me.alert_before_minutes ? `You will be told ${me.alert_before_minutes} minutes before the end.` : "Alert before the end is off.");
    } catch (error) {
      $("alert-error").textContent = errorText(error);
    }
  });
}

export function setupProfile() {
  setupAlertBefore();
  $("profile-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    $("profile-error").textContent = "";
    try {
      const me = await busy(form.querySelectorAll("button"), () =>
        api("/api/v1/profile/update", { method: "PUT", body: { phone_number: form.elements.phone_number.value.trim() } }),
      );
      $("profile-phone").value = me.phone_number ?? "";
      say("Phone number saved.");
    } catch (error) {
      $("profile-error").textContent = errorText(error);
    }
  });
}
