// Staff: open alarms (silent edges, sensor faults, machines out of service automatically) kept
// live, fault reports still to do with their photos and reporters — each step of the repair
// (acknowledged, scheduled for a date, resolved, won't fix) with a note the reporter and the
// room read —, taking machines out of service and back, and the health of every room's edge.

import { api, fetchBlob } from "./api.js";
import { $, busy, h, say } from "./dom.js";
import { errorText } from "./errors.js";
import { ago, dayAndClock, machineName, repairStatusText } from "./format.js";
import { t } from "./i18n.js";
import { applyAlarm, loadAlarms } from "./staff_alarms.js";

let photoUrls = []; // object URLs of the shown photos, revoked on every redraw
let target = null; // {site, room, kind, number} of the service dialog
let opener = null;
let reloadTimer = null;

const where = (site, room) => new URLSearchParams({ site, room });
const STEPS = [
  ["acknowledged", "staff.step_acknowledged"],
  ["scheduled", "repair.scheduled"],
  ["resolved", "repair.resolved"],
  ["wont_fix", "staff.step_wont_fix"],
];

/** The report's thumbnail, a button that opens it large (fetched with the staff's token: no plain link can). */
function photo(fault) {
  if (!fault.photo_url) return null;
  const name = machineName(fault.kind, fault.number);
  const img = h("img", { class: "fault-photo", alt: t("staff.photo_alt", { machine: name }) });
  const button = h(
    "button",
    { type: "button", class: "photo-open", "aria-label": t("staff.photo_open", { machine: name }), "data-photo-title": img.alt },
    img,
  );
  fetchBlob(fault.photo_url)
    .then((blob) => {
      const url = URL.createObjectURL(blob);
      photoUrls.push(url);
      img.src = url;
    })
    .catch(() => button.replaceWith(h("p", { class: "muted" }, t("staff.photo_failed"))));
  return button;
}

/** Show a thumbnail's image full size in the photo dialog (Esc or Close shut it). */
function openPhoto(button) {
  const img = button.querySelector("img");
  if (!img?.src) return;
  opener = button;
  $("photo-title").textContent = button.dataset.photoTitle;
  $("photo-large").src = img.src;
  $("photo-large").alt = img.alt;
  $("photo-dialog").showModal();
  $("photo-close").focus();
}

function faultItem(fault) {
  const name = machineName(fault.kind, fault.number);
  const noteId = `resolve-note-${fault.id}`;
  const by = fault.automatic
    ? t("staff.by_sensors", { reason: fault.reason ?? t("staff.automatic") })
    : t("staff.by_student", { student: fault.reporter ?? t("staff.unknown") });
  return h(
    "li",
    { class: "fault", "data-fault-id": fault.id },
    h("h4", {}, `${name} · ${fault.site}/${fault.room}`),
    h("p", {}, fault.description),
    h("p", { class: "muted" }, t("staff.reported_by", { by, time: dayAndClock(fault.created_at) })),
    h("p", { class: "fault-status" }, repairStatusText(fault.status, fault.eta), fault.note ? ` — ${fault.note}` : ""),
    photo(fault),
    stepForm(fault),
    h(
      "form",
      { class: "resolve", "data-fault-id": fault.id },
      h("label", { htmlFor: noteId }, t("staff.what_done")),
      h("input", { id: noteId, name: "note", maxLength: 1000, autocomplete: "off" }),
      h("div", { class: "buttons" },
        h("button", { type: "submit" }, t("staff.resolve")),
        h("button", { type: "button", class: "secondary", "data-service": JSON.stringify({ site: fault.site, room: fault.room, kind: fault.kind, number: fault.number }) }, t("staff.take_out", { machine: name.toLowerCase() })),
      ),
    ),
  );
}

/** The next step of a repair: its status, the date for a scheduled one, and a note students read. */
function stepForm(fault) {
  const ids = { status: `step-status-${fault.id}`, eta: `step-eta-${fault.id}`, note: `step-note-${fault.id}` };
  const select = h("select", { id: ids.status, name: "status" });
  for (const [value, key] of STEPS) select.append(new Option(t(key), value, false, value === (fault.status === "open" ? "acknowledged" : fault.status)));
  return h(
    "form",
    { class: "step", "data-fault-id": fault.id },
    h("div", { class: "field inline" }, h("label", { htmlFor: ids.status }, t("staff.next_step")), select),
    h("div", { class: "field inline" }, h("label", { htmlFor: ids.eta }, t("staff.repair_date")), h("input", { id: ids.eta, name: "eta", type: "date", value: fault.eta ?? "" })),
    h("div", { class: "field" }, h("label", { htmlFor: ids.note }, t("staff.step_note")), h("input", { id: ids.note, name: "note", maxLength: 1000, autocomplete: "off" })),
    h("p", { class: "form-error", role: "alert" }),
    h("div", { class: "buttons" }, h("button", { type: "submit" }, t("staff.update_repair"))),
  );
}

/** Reports grouped by machine: groups by their newest report, newest first, and so are the reports in each. */
export function groupByMachine(faults) {
  const groups = new Map();
  const newest = [...faults].sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
  for (const fault of newest) {
    const key = `${fault.site}/${fault.room}/${fault.kind}-${fault.number}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(fault);
  }
  return [...groups.entries()].map(([key, items]) => ({ key, items }));
}

function faultGroup({ key, items }) {
  const first = items[0];
  const headingId = `fault-group-${key.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  return h(
    "li",
    { class: "fault-group", "data-machine": key },
    h(
      "h3",
      { id: headingId },
      `${machineName(first.kind, first.number)} · ${first.site}/${first.room} `,
      h("span", { class: "fault-count" }, t("staff.group_count", { count: items.length })),
    ),
    h("ul", { class: "faults-list", "aria-labelledby": headingId }, ...items.map(faultItem)),
  );
}

export async function loadFaults() {
  const page = await api("/api/v1/faults/?status=active&limit=50");
  for (const url of photoUrls) URL.revokeObjectURL(url);
  photoUrls = [];
  $("faults-list").replaceChildren(...groupByMachine(page.items).map(faultGroup));
  $("faults-empty").hidden = page.items.length > 0;
}

function sequenceText(seq, gaps) {
  const parts = [`${seq.contiguous_seq}/${seq.max_seq}`];
  if (gaps) parts.push(t("staff.gaps", { gaps }) + (seq.gap_since ? ` ${t("staff.since", { time: dayAndClock(seq.gap_since) })}` : ""));
  if (seq.replay_requests) parts.push(t("staff.replays", { count: seq.replay_requests }));
  return parts.join(" · ");
}

function edgeRow(r) {
  const seq = r.sequence ?? {};
  const gaps = (seq.gaps ?? []).map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`)).join(", ");
  return h(
    "tr",
    { "data-room": `${r.site}/${r.room}` },
    h("th", { scope: "row", "data-label": t("staff.col_room") }, `${r.site}/${r.room}`),
    h("td", { class: `edge-${r.status}`, "data-label": t("staff.col_edge") }, t({ online: "staff.edge_status_online", offline: "staff.edge_status_offline" }[r.status] ?? "staff.edge_status_unknown"), r.status_since ? h("span", { class: "muted" }, ` ${t("staff.since", { time: dayAndClock(r.status_since) })}`) : null),
    h("td", { "data-label": t("staff.col_heard") }, r.last_seen ? ago(r.last_seen) : t("staff.never")),
    h("td", { "data-label": t("staff.col_machines") }, t("staff.machines", { machines: r.machines ?? "–", out: r.out_of_service ?? 0 })),
    h("td", { class: "edge-faults", "data-label": t("staff.col_faults") }, String(r.open_faults ?? 0)),
    h("td", { "data-label": t("staff.col_events") }, seq.max_seq === undefined ? "–" : sequenceText(seq, gaps)),
    h("td", { "data-label": t("staff.col_agent") }, r.agent_version ?? "–"),
    h("td", { class: "edge-health", "data-label": t("staff.col_health") }, healthText(r.health, r.health_at)),
  );
}

/** The edge's own figures from its retained `health` message: what a technician checks first. */
function healthText(health, at) {
  if (!health) return t("staff.not_reported");
  const parts = [
    t("staff.outbox", { depth: health.outbox_depth }),
    health.board_connected ? t("staff.board_connected") : t("staff.board_not_connected"),
    t("staff.serial_errors", { count: health.serial_errors }),
    t("staff.bad_frames", { count: health.bad_frames }),
    t("staff.reconnects", { board: health.board_reconnects, mqtt: health.mqtt_reconnects }),
  ];
  if (health.unsaved_events) parts.push(t("staff.unsaved", { count: health.unsaved_events }));
  if (health.telemetry_dropped) parts.push(t("staff.telemetry_dropped", { count: health.telemetry_dropped }));
  const faulty = (health.sensors ?? []).filter((sensor) => !sensor.ok).map((sensor) => sensor.machine);
  if (faulty.length) parts.push(t("staff.sensor_faults", { machines: faulty.join(", ") }));
  return `${parts.join(" · ")}${at ? ` ${t("staff.as_of", { ago: ago(at) })}` : ""}`;
}

export async function loadEdges() {
  try {
    const rooms = await api("/api/v1/rooms/status");
    $("edges-body").replaceChildren(...rooms.map(edgeRow));
    $("edges-error").textContent = "";
  } catch (error) {
    $("edges-error").textContent = t("staff.status_unavailable", { error: errorText(error) });
  }
}

export async function loadStaff() {
  await Promise.all([loadAlarms(), loadFaults().catch((error) => say(errorText(error), true)), loadEdges()]);
}

/** Live messages that change what staff see: reload the lists (at most every half second). */
export function applyStaffMessage(message) {
  if (message.type === "alarm") applyAlarm(message);
  if (!["fault_reported", "fault_updated", "machine_service", "room", "alarm"].includes(message.type)) return;
  window.clearTimeout(reloadTimer);
  reloadTimer = window.setTimeout(() => loadStaff(), 500);
}

/** Open the "out of service" dialog for a machine ({site, room, kind, number}). */
export function askOutOfService(machine, button) {
  target = machine;
  opener = button;
  $("service-form").reset();
  $("service-error").textContent = "";
  $("service-title").textContent = t("service.title", { machine: `${machineName(machine.kind, machine.number)} (${machine.site}/${machine.room})` });
  $("service-dialog").showModal();
  $("service-reason").focus();
}

export async function backInService(machine, button) {
  const path = `/api/v1/machines/${machine.kind}/${machine.number}/back-in-service?${where(machine.site, machine.room)}`;
  try {
    await busy([button], () => api(path, { method: "POST", body: {} }));
    say(t("service.back", { machine: machineName(machine.kind, machine.number) }));
  } catch (error) {
    say(errorText(error), true);
  }
}

async function takeOut(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const reason = form.elements.reason.value.trim();
  if (!reason) {
    $("service-error").textContent = t("service.give_reason");
    return;
  }
  const path = `/api/v1/machines/${target.kind}/${target.number}/out-of-service?${where(target.site, target.room)}`;
  try {
    await busy(form.querySelectorAll("button"), () => api(path, { method: "POST", body: { reason } }));
    $("service-dialog").close();
    opener?.focus();
    say(t("service.out", { machine: machineName(target.kind, target.number) }));
  } catch (error) {
    $("service-error").textContent = errorText(error);
  }
}

async function takeStep(form) {
  const status = form.elements.status.value;
  const note = form.elements.note.value.trim();
  const eta = form.elements.eta.value;
  const body = { status, ...(note ? { note } : {}), ...(status === "scheduled" && eta ? { eta } : {}) };
  const error = form.querySelector(".form-error");
  try {
    await busy(form.querySelectorAll("button, select, input"), () =>
      api(`/api/v1/faults/${form.dataset.faultId}/status`, { method: "POST", body }),
    );
    error.textContent = "";
    say(status === "scheduled" ? t("staff.scheduled") : t("staff.updated"));
    await Promise.all([loadFaults(), loadEdges()]); // the rooms' open-fault counts change too
    $("faults-title").focus();
  } catch (failure) {
    error.textContent = errorText(failure);
  }
}

async function resolve(event) {
  event.preventDefault();
  const form = event.target;
  if (form.classList.contains("step")) {
    await takeStep(form);
    return;
  }
  const note = form.elements.note.value.trim();
  try {
    await busy(form.querySelectorAll("button"), () =>
      api(`/api/v1/faults/${form.dataset.faultId}/resolve`, { method: "POST", body: note ? { note } : {} }),
    );
    say(t("staff.resolved"));
    await Promise.all([loadFaults(), loadEdges()]); // the rooms' open-fault counts change too
    $("faults-title").focus();
  } catch (error) {
    say(errorText(error), true);
  }
}

export function setupStaff() {
  $("service-form").addEventListener("submit", takeOut);
  $("service-cancel").addEventListener("click", () => {
    $("service-dialog").close();
    opener?.focus();
  });
  $("faults-list").addEventListener("submit", resolve);
  $("faults-list").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-service]");
    if (button) askOutOfService(JSON.parse(button.dataset.service), button);
    const thumbnail = event.target.closest("button.photo-open");
    if (thumbnail) openPhoto(thumbnail);
  });
  $("photo-close").addEventListener("click", () => $("photo-dialog").close());
  $("photo-dialog").addEventListener("close", () => {
    $("photo-large").removeAttribute("src");
    opener?.focus();
  });
  $("staff-refresh").addEventListener("click", () => loadStaff());
}
