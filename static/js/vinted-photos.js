// Vinted photos: drag-and-drop upload with progress per file, reorder by drag, group bulk photos
// by drag. Every form here works without this script; it only makes them nicer:
// - [data-photo-upload] forms: files chosen or dropped are sent one per request (two at a time)
//   to the API (data-api-url) with their own progress bar and answer; the grid is then reloaded.
// - [data-photo-grid][data-reorder-url]: drag a photo to a new place; the order is sent to the API.
// - [data-bulk-groups]: drag photos into item boxes; that sets each photo's "Item" select.
(function () {
  "use strict";
  if (window.vintedPhotosReady) { return; }  // the panel may be included more than once
  window.vintedPhotosReady = true;
  var PARALLEL = 2;

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]") ||
      document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function errorOf(xhr) {
    var body = null;
    try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
    if (body && body.results && body.results[0]) { return body.results[0].ok ? "" : body.results[0].error; }
    if (body && body.error) {
      var files = body.error.details && body.error.details.files;
      if (files && files[0] && files[0].error) { return files[0].error; }
      var fields = body.error.details && body.error.details.fields;
      if (fields) {
        var first = Object.keys(fields)[0];
        return first + ": " + [].concat(fields[first]).join(" ");
      }
      return body.error.message;
    }
    return xhr.status ? "The server answered " + xhr.status + "." : "The upload was interrupted.";
  }

  function refreshGrid(url) {
    var wrap = document.querySelector("[data-photo-grid-wrap]");
    if (!wrap || !url) { return; }
    // `next`: the panel's buttons come back to this page, not to the panel's own address.
    url += (url.indexOf("?") < 0 ? "?" : "&") + "next=" + encodeURIComponent(location.pathname + location.search);
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("[data-photo-grid-wrap]");
        wrap.innerHTML = fresh ? fresh.innerHTML : doc.body.innerHTML;
        initGrids(wrap);
        refreshDependents();
      })
      .catch(function () { window.location.reload(); });
  }

  // Parts of the page that depend on the photos (the AI draft panel offers "Draft with AI" only once
  // there is a photo): fetched again from this page, so nothing needs a full reload.
  function refreshDependents() {
    var panels = document.querySelectorAll("[data-depends-on-photos]");
    if (!panels.length) { return; }
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        Array.prototype.forEach.call(panels, function (panel) {
          var fresh = panel.id && doc.getElementById(panel.id);
          if (fresh) { panel.replaceWith(fresh); }
        });
      })
      .catch(function () { /* the panel stays as it was; a reload shows it */ });
  }

  // --- upload -------------------------------------------------------------------------------------
  function initUpload(form) {
    var input = form.querySelector("input[type=file]");
    var zone = form.querySelector("[data-drop-zone]");
    var list = form.querySelector("[data-upload-list]");
    var button = form.querySelector("[data-upload-button]");
    var hint = form.querySelector("[data-drop-hint]");
    var queue = [];
    var running = 0;
    var added = 0;
    if (hint) { hint.hidden = false; }
    if (button) { button.hidden = true; }
    zone.classList.add("drop-zone-active");

    function next() {
      while (running < PARALLEL && queue.length) { send(queue.shift()); }
      if (!running && !queue.length && added) {
        added = 0;
        refreshGrid(form.getAttribute("data-refresh-url"));
      }
    }

    function send(item) {
      running += 1;
      var data = new FormData();
      data.append(form.getAttribute("data-target-field"), form.getAttribute("data-target-id"));
      data.append("files", item.file, item.file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("data-api-url"));
      xhr.setRequestHeader("X-CSRFToken", csrfToken(form));
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) { item.bar.value = Math.round(100 * event.loaded / event.total); }
      });
      xhr.addEventListener("loadend", function () {
        running -= 1;
        var error = errorOf(xhr);
        if (xhr.status === 201 && !error) {
          item.bar.value = 100;
          item.row.classList.add("upload-done");
          item.status.textContent = "Added";
          added += 1;
        } else {
          item.row.classList.add("upload-failed");
          item.status.textContent = error || "Not added.";
        }
        next();
      });
      item.status.textContent = "Uploading…";
      xhr.send(data);
    }

    function add(files) {
      Array.prototype.forEach.call(files, function (file) {
        var row = document.createElement("li");
        var name = document.createElement("span");
        name.className = "upload-name";
        name.textContent = file.name;
        var bar = document.createElement("progress");
        bar.max = 100;
        bar.value = 0;
        bar.setAttribute("aria-label", "Upload of " + file.name);
        var status = document.createElement("span");
        status.className = "upload-status";
        status.textContent = "Waiting";
        row.appendChild(name);
        row.appendChild(bar);
        row.appendChild(status);
        list.appendChild(row);
        queue.push({ file: file, row: row, bar: bar, status: status });
      });
      next();
    }

    input.addEventListener("change", function () {
      add(input.files);
      input.value = "";
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      add(input.files);
      input.value = "";
    });
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (event) {
        if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0) {
          event.preventDefault();
          zone.classList.add("drop-zone-over");
        }
      });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("drop-zone-over"); });
    });
    zone.addEventListener("drop", function (event) {
      if (event.dataTransfer && event.dataTransfer.files.length) {
        event.preventDefault();
        add(event.dataTransfer.files);
      }
    });
  }

  // --- reorder by drag ------------------------------------------------------------------------------
  function initReorder(grid) {
    var dragged = null;
    grid.addEventListener("dragstart", function (event) {
      dragged = event.target.closest("[data-photo-id]");
      if (!dragged) { return; }
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.getAttribute("data-photo-id"));
      dragged.classList.add("photo-dragging");
    });
    grid.addEventListener("dragover", function (event) {
      var over = event.target.closest("[data-photo-id]");
      if (!dragged || !over || over === dragged) { if (dragged) { event.preventDefault(); } return; }
      event.preventDefault();
      var box = over.getBoundingClientRect();
      var after = (event.clientX - box.left) > box.width / 2;
      grid.insertBefore(dragged, after ? over.nextSibling : over);
    });
    grid.addEventListener("drop", function (event) { if (dragged) { event.preventDefault(); } });
    grid.addEventListener("dragend", function () {
      if (!dragged) { return; }
      dragged.classList.remove("photo-dragging");
      dragged = null;
      var ids = Array.prototype.map.call(grid.querySelectorAll("[data-photo-id]"), function (item) {
        return Number(item.getAttribute("data-photo-id"));
      });
      var wrap = grid.closest("[data-photo-grid-wrap]");
      fetch(grid.getAttribute("data-reorder-url"), {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json",
                   "X-CSRFToken": csrfToken(document) },
        body: JSON.stringify({ listing: Number(grid.getAttribute("data-listing")), photos: ids })
      }).then(function (response) {
        if (!response.ok) { window.alert("The new order was not saved; the photos are shown as they are."); }
        refreshGrid(wrap && wrap.getAttribute("data-refresh-url"));
      });
    });
  }

  // --- bulk: group by drag ----------------------------------------------------------------------------
  function initGroups(form) {
    var zones = form.querySelector("[data-group-zones]");
    var pool = form.querySelector("[data-bulk-pool]");
    var dragged = null;
    zones.hidden = false;

    function zoneFor(number) {
      var zone = zones.querySelector("[data-group='" + number + "']");
      if (zone) { return zone; }
      zone = document.createElement("ol");
      zone.className = "photo-grid bulk-zone";
      zone.setAttribute("data-group", number);
      zone.setAttribute("aria-label", number ? "Item " + number : "New item: drop a photo here");
      var title = document.createElement("li");
      title.className = "bulk-zone-title";
      title.textContent = number ? "Item " + number : "Drop here for a new item";
      zone.appendChild(title);
      if (number) { zones.insertBefore(zone, zones.querySelector("[data-group='0']")); } else { zones.appendChild(zone); }
      return zone;
    }

    function lastNumber() {
      var numbers = Array.prototype.map.call(zones.querySelectorAll("[data-group]"), function (zone) {
        return Number(zone.getAttribute("data-group"));
      });
      return numbers.length ? Math.max.apply(null, numbers) : 0;
    }

    zoneFor(0);
    form.addEventListener("dragstart", function (event) {
      dragged = event.target.closest("[data-photo-id]");
      if (dragged) { event.dataTransfer.setData("text/plain", dragged.getAttribute("data-photo-id")); }
    });
    form.addEventListener("dragover", function (event) {
      if (dragged && event.target.closest("[data-group], [data-bulk-pool]")) { event.preventDefault(); }
    });
    form.addEventListener("drop", function (event) {
      var target = event.target.closest("[data-group], [data-bulk-pool]");
      if (!dragged || !target) { return; }
      event.preventDefault();
      var select = dragged.querySelector("[data-group-select]");
      if (target === pool) {
        select.value = "";
        pool.appendChild(dragged);
      } else {
        var number = Number(target.getAttribute("data-group")) || lastNumber() + 1;
        select.value = String(number);
        zoneFor(number).appendChild(dragged);
      }
      dragged = null;
    });
    // A select changed by hand moves its photo into that item's box too.
    form.addEventListener("change", function (event) {
      if (!event.target.matches("[data-group-select]")) { return; }
      var item = event.target.closest("[data-photo-id]");
      if (event.target.value) { zoneFor(Number(event.target.value)).appendChild(item); } else { pool.appendChild(item); }
    });
  }

  function initGrids(root) {
    root.querySelectorAll("[data-photo-grid][data-reorder-url]").forEach(initReorder);
    root.querySelectorAll("[data-bulk-groups]").forEach(initGroups);
  }

  function init() {
    document.querySelectorAll("[data-photo-upload]").forEach(initUpload);
    initGrids(document);
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
