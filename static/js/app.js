// Small behaviours of our own; no inline scripts (the CSP forbids them).
document.addEventListener("DOMContentLoaded", function () {
  var root = document.documentElement;
  var systemDark = window.matchMedia("(prefers-color-scheme: dark)");

  function effectiveTheme() {
    var theme = root.getAttribute("data-theme");
    if (theme !== "light" && theme !== "dark") theme = systemDark.matches ? "dark" : "light";
    return theme;
  }

  // Theme toggle: a button that is "pressed" while the dark theme shows.
  var toggle = document.querySelector("[data-theme-toggle]");
  if (toggle) {
    var syncToggle = function () { toggle.setAttribute("aria-pressed", String(effectiveTheme() === "dark")); };
    toggle.hidden = false;
    syncToggle();
    toggle.addEventListener("click", function () {
      var next = effectiveTheme() === "dark" ? "light" : "dark";
      root.setAttribute("data-theme", next);
      try { localStorage.setItem("lofisite-theme", next); } catch (e) { /* storage blocked */ }
      syncToggle();
    });
    if (systemDark.addEventListener) systemDark.addEventListener("change", syncToggle);
  }

  // After a failed submit, bring the error summary into view and focus so it is read out first.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();

  // Confirm dangerous actions: <button data-confirm="Cancel this run?">
  document.body.addEventListener("click", function (event) {
    var el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) event.preventDefault();
  });
});
