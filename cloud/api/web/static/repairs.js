// The room's Repairs: every fault report still to do on its machines, with what staff said
// (status, expected repair date, note), from GET /api/v1/rooms/{room}/repairs. Never who
// reported a machine. Live: a `fault_reported` or `fault_updated` message for the room
// reloads the list (the message says what changed; the list keeps the order and the rest).

import { api } from "./api.js";
import { $, h } from "./dom.js";
import { dayAndClock, machineName, repairStatusText } from "./format.js";
import { t } from "./i18n.js";
import { chosenRoom } from "./room.js";

const RELOAD_MS = 300;
let reloadTimer = null;
let loading = null;

function repairItem(repair) {
  const why = repair.automatic ? t("repairs.sensors", { reason: repair.reason ?? t("repairs.automatic") }) : repair.description;
  return h(
    "li",
    { class: "repair", "data-fault-id": repair.fault_id, "data-status": repair.status, "data-machine": repair.machine },
    h("h3", {}, machineName(repair.kind, repair.number)),
    h("p", { class: "repair-status" }, repairStatusText(repair.status, repair.eta)),
    repair.note ? h("p", { class: "repair-note" }, t("repairs.staff_note", { note: repair.note })) : null,
    why ? h("p", { class: "muted" }, repair.mine ? t("repairs.your_report", { why }) : why) : null,
    h(
      "p",
      { class: "muted" },
      t("repairs.reported", { time: dayAndClock(repair.reported_at) }) +
        (repair.updated_at ? ` · ${t("repairs.updated", { time: dayAndClock(repair.updated_at) })}` : ""),
    ),
  );
}

/** Load the chosen room's repairs (logged in only; hidden otherwise). */
export async function loadRepairs(loggedIn) {
  const choice = chosenRoom();
  const section = $("repairs");
  if (!loggedIn || !choice) {
    section.hidden = true;
    $("repairs-list").replaceChildren();
    return;
  }
  const query = new URLSearchParams({ site: choice.site });
  const request = api(`/api/v1/rooms/${encodeURIComponent(choice.room)}/repairs?${query}`);
  loading = request;
  const data = await request;
  if (loading !== request) return; // a newer load (another room) won
  $("repairs-list").replaceChildren(...data.items.map(repairItem));
  $("repairs-empty").hidden = data.items.length > 0;
  section.hidden = false;
}

/** A fault message for the chosen room: reload the list shortly (several steps come as one reload). */
export function applyRepairsMessage(message) {
  const choice = chosenRoom();
  if (!["fault_reported", "fault_updated"].includes(message.type)) return;
  if (!choice || message.site !== choice.site || message.room !== choice.room) return;
  window.clearTimeout(reloadTimer);
  reloadTimer = window.setTimeout(() => loadRepairs(true).catch(() => {}), RELOAD_MS);
}
