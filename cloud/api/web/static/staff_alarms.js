// Staff alarms on the Staff tab: the open ones (silent edges, sensor faults, machines out of
// service automatically), newest first, kept live by `alarm` messages.

import { api } from "./api.js";
import { $, h } from "./dom.js";
import { errorText } from "./errors.js";
import { dayAndClock } from "./format.js";
import { t } from "./i18n.js";

const ALARM_KINDS = { edge_silent: "staff.alarm_edge_silent", sensor_fault: "usage.sensor_fault", out_of_service: "usage.out_of_service" };

function alarmItem(alarm) {
  return h(
    "li",
    { class: "alarm", "data-alarm-id": alarm.id, "data-kind": alarm.kind },
    h("p", {}, h("strong", {}, alarm.title)),
    h("p", { class: "muted" }, `${ALARM_KINDS[alarm.kind] ? t(ALARM_KINDS[alarm.kind]) : alarm.kind} · ${t("staff.opened", { time: dayAndClock(alarm.opened_at) })}`),
  );
}

function showAlarmsEmpty() {
  $("alarms-empty").hidden = $("alarms-list").children.length > 0;
}

export async function loadAlarms() {
  try {
    const page = await api("/api/v1/alarms?open=true&limit=100");
    $("alarms-list").replaceChildren(...page.items.map(alarmItem));
    $("alarms-error").textContent = "";
  } catch (error) {
    $("alarms-error").textContent = t("staff.alarms_unavailable", { error: errorText(error) });
  }
  showAlarmsEmpty();
}

/** A live `alarm` message: an opened alarm goes to the top of the list, a cleared one leaves it. */
export function applyAlarm(message) {
  const list = $("alarms-list");
  list.querySelector(`[data-alarm-id="${message.alarm.id}"]`)?.remove();
  if (message.change === "opened") list.prepend(alarmItem(message.alarm));
  showAlarmsEmpty();
}
