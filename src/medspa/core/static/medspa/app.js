// Shared behaviour of staff pages: the side drawer that htmx fills, and small helpers.
(function () {
  "use strict";
  const drawer = () => document.getElementById("drawer");

  // Open the drawer whenever htmx puts a panel into it.
  document.body.addEventListener("htmx:afterSwap", (event) => {
    const dialog = drawer();
    if (dialog && event.detail.target.id === "drawer-body" && !dialog.open) {
      dialog.showModal();
    }
  });

  // Refusals (422, 409) carry the form with its messages: let htmx swap them in too.
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const status = event.detail.xhr.status;
    if (status === 409 || status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("click", (event) => {
    const closer = event.target.closest("[data-close]");
    if (closer) {
      const dialog = drawer();
      if (dialog && dialog.open) {
        dialog.close();
      } else {
        window.location.href = "/calendar/";
      }
      return;
    }
    // "Nearest days with free times": pick that day in the form and ask again.
    const picker = event.target.closest("[data-pick-date]");
    if (picker) {
      const input = picker.closest("form").querySelector("input[type=date]");
      input.value = picker.dataset.pickDate;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
})();
