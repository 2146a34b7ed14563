// The chart page: the face diagram mirrors the site checkboxes (the list is the accessible
// way to mark sites; the picture is a faster way for a finger), and the sign dialog.
(function () {
  "use strict";
  const form = document.querySelector(".entry-form");

  function rowOf(name) {
    return document.querySelector(`[data-site-row="${name}"]`);
  }

  function refresh() {
    if (!form) return;
    let total = 0;
    let marked = 0;
    form.querySelectorAll("input[name=site]").forEach((box) => {
      const name = box.value;
      const units = document.getElementById(`units-${name}`);
      const dot = form.querySelector(`.face-diagram [data-site="${name}"]`);
      units.disabled = !box.checked;
      rowOf(name).classList.toggle("on", box.checked);
      if (dot) {
        dot.classList.toggle("on", box.checked);
        dot.querySelector("text").textContent = box.checked ? units.value : "";
      }
      if (box.checked) {
        marked += 1;
        total += parseFloat(units.value) || 0;
      }
    });
    const out = form.querySelector("[data-site-total]");
    if (out) {
      const unit = form.querySelector("#e-unit");
      const label = unit ? unit.options[unit.selectedIndex].text : "";
      out.textContent = marked
        ? `· ${marked} marked, ${Math.round(total * 100) / 100} ${label}`
        : "";
    }
  }

  if (form) {
    form.addEventListener("change", refresh);
    form.addEventListener("input", refresh);
    form.querySelectorAll(".face-diagram [data-site]").forEach((dot) => {
      dot.addEventListener("click", () => {
        const box = document.getElementById(`site-${dot.dataset.site}`);
        box.checked = !box.checked;
        refresh();
        if (box.checked) document.getElementById(`units-${dot.dataset.site}`).focus();
      });
    });
    // A known product sets its kind and unit: neurotoxin in units, fillers in mL.
    const product = form.querySelector("#e-product");
    product.addEventListener("change", () => {
      const option = [...form.querySelectorAll("#products option")].find((o) => o.value === product.value);
      if (!option) return;
      const kind = option.dataset.kind;
      form.querySelector("#e-kind").value = kind;
      form.querySelector("#e-unit").value = kind === "neurotoxin" ? "units" : "ml";
      refresh();
    });
    refresh();
  }

  document.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-open-dialog]");
    if (opener) document.getElementById(opener.dataset.openDialog).showModal();
    const closer = event.target.closest("[data-close-dialog]");
    if (closer) closer.closest("dialog").close();
  });
})();
