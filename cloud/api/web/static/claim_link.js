// A machine's QR code opens /claim/{site}/{room}/{machine}: the app on that room, and, once the
// student is logged in (the login view says what for), that machine's claim choices: its card
// scrolled into view and its Cycle choice focused. Then the address becomes the room's own, so a
// reload or the back button does not jump there again.

import { $, say } from "./dom.js";
import { machineName } from "./format.js";
import { claimLink } from "./router.js";
import { usageLabel } from "./cards.js";
import { t } from "./i18n.js";

let target = claimLink();

/** The room the deep link names ({site, room}), or null: it wins over the remembered room. */
export function linkedRoom() {
  return target && { site: target.site, room: target.room };
}

export function forgetLink() {
  target = null;
}

function nameOf(machine) {
  return machine ? machineName(machine.kind, machine.number) : target.machine;
}

/**
 * Call after every render of the room: until the student is logged in, the login view says what
 * the login is for; then, once the machine's card is on the page, show its claim choices (once).
 * @param {Map<string, object>} machines  the room's machines by id
 * @param {object|null} user  null while logged out
 */
export function showLinkedMachine(machines, user) {
  if (!target) return;
  const machine = machines.get(target.machine);
  if (!user) {
    $("login-title").textContent = t("link.log_in_to_claim", { machine: nameOf(machine) });
    return;
  }
  if (!machine && machines.size === 0) return; // not loaded yet
  const card = machine && document.querySelector(`li.card[data-machine="${CSS.escape(target.machine)}"]`);
  if (machine && !card) return;
  const { site, room } = target;
  const missing = target.machine;
  target = null;
  $("login-title").textContent = t("link.log_in");
  window.history.replaceState(null, "", `/?${new URLSearchParams({ site, room })}#room`);
  if (!machine) {
    say(t("link.no_machine", { machine: missing, room }), true);
    return;
  }
  card.classList.add("linked");
  card.scrollIntoView({ block: "center" });
  const choice = card.querySelector("form.claim select");
  if (choice) {
    choice.focus({ preventScroll: true });
    say(t("link.choose_cycle", { machine: nameOf(machine) }));
  } else {
    card.querySelector(".card-title").setAttribute("tabindex", "-1");
    card.querySelector(".card-title").focus({ preventScroll: true });
    say(t("link.cannot_claim", { machine: nameOf(machine), usage: usageLabel(machine).toLowerCase() }));
  }
}
