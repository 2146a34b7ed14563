// Drawn signatures on the client's pages: signature_pad fills a hidden input as a PNG data URL.
(function () {
  "use strict";
  document.querySelectorAll("[data-signature]").forEach((box) => {
    const canvas = box.querySelector("canvas");
    const input = box.querySelector("[data-signature-value]");
    const pad = new SignaturePad(canvas, { penColor: "#1d2330", backgroundColor: "rgba(0,0,0,0)" });

    // The canvas must match its shown size times the pixel ratio, or strokes land off the finger.
    const fit = () => {
      const ratio = Math.max(window.devicePixelRatio || 1, 1);
      const strokes = pad.toData();
      canvas.width = canvas.offsetWidth * ratio;
      canvas.height = canvas.offsetHeight * ratio;
      canvas.getContext("2d").scale(ratio, ratio);
      pad.clear();
      if (strokes.length) {
        pad.fromData(strokes);
      } else if (input.value) {
        // Kept from a form that came back with an error elsewhere.
        pad.fromDataURL(input.value, { ratio: ratio, width: canvas.offsetWidth, height: canvas.offsetHeight });
      }
    };
    window.addEventListener("resize", fit);
    fit();

    pad.addEventListener("endStroke", () => {
      input.value = pad.isEmpty() ? "" : pad.toDataURL("image/png");
    });
    box.querySelector("[data-signature-clear]").addEventListener("click", () => {
      pad.clear();
      input.value = "";
    });
  });
})();
