// The profile: who is logged in, and the phone number (the only thing a student can change).

import { api } from "./api.js";
import { $, busy, say } from "./dom.js";
import { errorText } from "./errors.js";
import { dayAndClock } from "./format.js";

export async function loadProfile() {
  const me = await api("/api/v1/profile/me");
  $("profile-who").textContent = me.role === "staff" ? `Staff: ${me.username}` : `Student ID ${me.student_id}`;
  $("profile-since").textContent = `Account created ${dayAndClock(me.created_at)}`;
  $("profile-phone").value = me.phone_number ?? "";
  return me;
}

export function setupProfile() {
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
