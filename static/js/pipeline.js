// Run page: the live timeline is replaced every 2 s by htmx; keep the stage logs
// the user opened open (and scrolled where they were) across those swaps.
(function () {
  var open = {};
  document.addEventListener("toggle", function (event) {
    var el = event.target;
    if (el.matches && el.matches("details[data-keep-open][id]")) {
      if (el.open) { open[el.id] = open[el.id] || { top: 0, bottom: true }; } else { delete open[el.id]; }
    }
  }, true);
  document.addEventListener("htmx:beforeSwap", function () {
    Object.keys(open).forEach(function (id) {
      var pre = document.querySelector("#" + id + " pre");
      if (pre) {
        open[id] = { top: pre.scrollTop, bottom: pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4 };
      }
    });
  });
  document.addEventListener("htmx:afterSettle", function () {
    Object.keys(open).forEach(function (id) {
      var details = document.getElementById(id);
      if (!details) return;
      details.open = true;
      var pre = details.querySelector("pre");
      if (pre) pre.scrollTop = open[id].bottom ? pre.scrollHeight : open[id].top;
    });
  });
})();
