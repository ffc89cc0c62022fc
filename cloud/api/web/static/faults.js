// A student's fault report: a description and an optional photo from the phone's camera,
// sent as multipart to POST /api/v1/faults/report. Big camera photos are scaled down first.

import { upload } from "./api.js";
import { $, busy, say } from "./dom.js";
import { errorText } from "./errors.js";
import { clearErrors, clearWhenFixed, showError } from "./form_errors.js";
import { machineName } from "./format.js";
import { t } from "./i18n.js";

const SHRINK_ABOVE_BYTES = 1_500_000;
const MAX_SIDE_PX = 1600;
let reporting = null; // the machine being reported
let opener = null; // the button to give focus back to

/** A camera photo scaled to at most MAX_SIDE_PX as a JPEG; the original if it is small or cannot be read. */
async function shrink(file) {
  if (file.size <= SHRINK_ABOVE_BYTES || !window.createImageBitmap) return file;
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, MAX_SIDE_PX / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
    return blob ? new File([blob], "photo.jpg", { type: "image/jpeg" }) : file;
  } catch {
    return file; // not an image we can decode: the server says what it thinks
  }
}

export function openReport(machine, button) {
  reporting = machine;
  opener = button;
  $("report-form").reset();
  clearErrors($("report-error"), $("report-form"));
  $("report-title").textContent = t("report.title", { machine: machineName(machine.kind, machine.number) });
  $("report-dialog").showModal();
  $("report-description").focus();
}

function close() {
  $("report-dialog").close();
  opener?.focus();
}

async function send(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const description = form.elements.description.value.trim();
  if (!description) {
    showError($("report-error"), t("report.say_what"), form.elements.description);
    form.elements.description.focus();
    return;
  }
  clearErrors($("report-error"), form);
  const data = new FormData();
  data.set("machine_type", reporting.kind);
  data.set("machine_id", String(reporting.number));
  data.set("site", reporting.site);
  data.set("room", reporting.room);
  data.set("description", description);
  const photo = form.elements.photo.files[0];
  try {
    await busy(form.querySelectorAll("button"), async () => {
      if (photo) data.set("photo", await shrink(photo));
      await upload("/api/v1/faults/report", data);
    });
    close();
    say(t("report.thanks", { machine: machineName(reporting.kind, reporting.number).toLowerCase() }));
  } catch (error) {
    showError($("report-error"), errorText(error));
  }
}

export function setupFaults() {
  $("report-form").addEventListener("submit", send);
  clearWhenFixed($("report-form"), $("report-error"), (input) => input.name !== "description" || input.value.trim() !== "");
  $("report-cancel").addEventListener("click", close);
}
