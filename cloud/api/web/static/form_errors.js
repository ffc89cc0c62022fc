// A form's error line and its fields' aria-invalid, kept true to what the fields say now: the
// message goes as soon as the field it was about is edited into a valid state (or, for an error
// from the server, as soon as the student edits anything), not only at the next submission.

/** Show `message` on `errorEl`; `input` (the field it is about, if any) is marked invalid. */
export function showError(errorEl, message, input = null) {
  errorEl.textContent = message;
  errorEl.dataset.field = input?.name ?? "";
  if (input) input.setAttribute("aria-invalid", "true");
}

/** Clear the error line and every field's invalid mark in `form`. */
export function clearErrors(errorEl, form) {
  errorEl.textContent = "";
  delete errorEl.dataset.field;
  for (const input of form.querySelectorAll('[aria-invalid="true"]')) input.setAttribute("aria-invalid", "false");
}

/**
 * On every edit in `form`: a field that `isValid` now accepts loses its invalid mark, and the
 * message goes if it was about that field (or about no field in particular).
 * @param {(input: HTMLInputElement) => boolean} isValid
 */
export function clearWhenFixed(form, errorEl, isValid = () => true) {
  form.addEventListener("input", (event) => {
    const input = event.target;
    if (!input.name || !isValid(input)) return;
    if (input.getAttribute("aria-invalid") === "true") input.setAttribute("aria-invalid", "false");
    const about = errorEl.dataset.field ?? "";
    if (about === "" || about === input.name) {
      errorEl.textContent = "";
      delete errorEl.dataset.field;
    }
  });
}
