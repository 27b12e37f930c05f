// Apply the saved theme before first paint (loaded in <head>, not deferred).
// "auto" (nothing saved) follows the system's prefers-color-scheme.
(function () {
  var saved = null;
  try { saved = localStorage.getItem("lofisite-theme"); } catch (e) { /* storage blocked */ }
  if (saved === "light" || saved === "dark") document.documentElement.setAttribute("data-theme", saved);
})();
