// A form that came back with problems: start at the summary, so a screen reader reads it first.
(function () {
  "use strict";
  const summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
})();
