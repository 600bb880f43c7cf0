// Polku console: the only script. The pages work without it; it adds a print
// button's action and moves focus to a form's error summary. No inline
// scripts anywhere (the Content-Security-Policy forbids them).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  var summary = document.getElementById("error-summary");
  if (summary) { summary.setAttribute("tabindex", "-1"); summary.focus(); }
});
