// Small behaviours of our own; no inline scripts (the CSP forbids them).
document.addEventListener("DOMContentLoaded", function () {
  var root = document.documentElement;
  var systemDark = window.matchMedia("(prefers-color-scheme: dark)");

  function effectiveTheme() {
    var theme = root.getAttribute("data-theme");
    if (theme !== "light" && theme !== "dark") theme = systemDark.matches ? "dark" : "light";
    return theme;
  }

  // Theme toggle: its label names the theme it switches to ("Switch to light theme" while dark shows);
  // the title says the current one, for the icon-only button on a phone.
  var toggle = document.querySelector("[data-theme-toggle]");
  if (toggle) {
    var label = toggle.querySelector(".theme-toggle-label");
    var icon = toggle.querySelector(".theme-toggle-icon");
    var syncToggle = function () {
      var current = effectiveTheme();
      var next = current === "dark" ? "light" : "dark";
      label.textContent = "Switch to " + next + " theme";
      icon.textContent = next === "dark" ? "☾" : "☀";
      toggle.title = "Now showing the " + current + " theme. Switch to the " + next + " theme.";
      toggle.setAttribute("data-theme-current", current);
    };
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
