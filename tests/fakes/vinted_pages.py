"""The fake Vinted's pages for Chromium: the new-item form with photo upload, and the item page
a published listing lands on (routes for tests/fakes/vinted_server.py).

    GET  /items/new          the form (without a session: a redirect to the login page)
    GET  /assets/new-item.js its script: uploads the chosen photos one by one, in order, and shows
                             each with the sha256 Vinted's answer gave; the drop_field mode's
                             silent clearing of a field
    POST /api/v2/photos      multipart `photo[file]` -> {"id", "sha256"} (as Vinted's photo upload)
    POST /items/new          the submit: stores the item in fake.state["items"] and redirects (303) to
                             /items/<id>-<slug>; fake.state["submits"] counts every submit
    GET  /items/<id>-<slug>  the item's page
    GET  /member/signup      the login page a missing or expired session lands on

`fake.fail_next("drop_field", field="brand_id", paths="^/items/new$")` is consumed when the form is
served: that form clears the field as soon as it is filled, as a changed Vinted page might.
"""

from __future__ import annotations

import hashlib
import html as html_escape
import re
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qs

from .vinted_server import Response, html, unauthenticated

LOGIN_PATH = "/member/signup"
# Vinted's condition ids (VINTED.md), colour ids (the shipped catalogue's) and package sizes.
CONDITIONS = [("6", "New with tags"), ("1", "New without tags"), ("2", "Very good"), ("3", "Good"),
              ("4", "Satisfactory")]
COLOURS = [("1", "Black"), ("3", "Grey"), ("12", "White"), ("20", "Cream"), ("4", "Beige"), ("2", "Brown"),
           ("7", "Red"), ("23", "Burgundy"), ("24", "Pink"), ("11", "Orange"), ("8", "Yellow"), ("10", "Green"),
           ("16", "Khaki"), ("9", "Blue"), ("27", "Navy"), ("26", "Light blue"), ("6", "Purple"),
           ("13", "Silver"), ("14", "Gold"), ("15", "Multicolour")]
PACKAGE_SIZES = [("1", "Small"), ("2", "Medium"), ("3", "Large"), ("5", "Extra large")]
TEXT_FIELDS = ("title", "description", "catalog_id", "brand_id", "size_id", "status_id", "price", "package_size_id")


def _state(fake) -> dict:
    with fake.lock:
        fake.state.setdefault("photos", {})   # photo id -> sha256
        fake.state.setdefault("items", {})    # item id (str) -> {"values", "photo_hashes", "user_id"}
        fake.state.setdefault("submits", 0)
        return fake.state


def _to_login(request) -> Response:
    return Response(302, b"", "text/html", {"Location": f"{LOGIN_PATH}?ref_url={request.path}"})


def _esc(value) -> str:
    return html_escape.escape(str(value), quote=True)


# ============================================================================================
# The form
# ============================================================================================

def _new_item_form(fake, request, match) -> Response:
    if fake.user_for(request) is None:
        return _to_login(request)
    drop = fake.take_failure(request.path, modes=("drop_field",))
    drop_attr = f' data-drop-field="{_esc(drop.field)}"' if drop is not None else ""
    conditions = "".join(f'<option value="{v}">{_esc(n)}</option>' for v, n in CONDITIONS)
    colours = "".join(f'<label><input type="checkbox" name="color_ids" value="{v}"> {_esc(n)}</label> '
                      for v, n in COLOURS)
    packages = "".join(f'<label><input type="radio" name="package_size_id" value="{v}"> {_esc(n)}</label> '
                       for v, n in PACKAGE_SIZES)
    return html(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sell an item | Vinted</title>
<script src="/assets/new-item.js" defer></script></head>
<body>
<h1>Sell an item</h1>
<form id="new-item" method="post" action="/items/new"{drop_attr}>
  <section><h2>Photos</h2>
    <label>Add photos <input type="file" accept="image/*" multiple></label>
    <ol id="photos"></ol>
  </section>
  <p><label>Title <input name="title" maxlength="100"></label></p>
  <p><label>Describe your item <textarea name="description" rows="6"></textarea></label></p>
  <p><label>Category <input name="catalog_id" inputmode="numeric"></label></p>
  <p><label>Brand <input name="brand_id" inputmode="numeric"></label></p>
  <p><label>Size <input name="size_id" inputmode="numeric"></label></p>
  <p><label>Condition <select name="status_id"><option value="">Select</option>{conditions}</select></label></p>
  <fieldset><legend>Colour (up to 2)</legend>{colours}</fieldset>
  <p><label>Price <input name="price" inputmode="decimal"></label></p>
  <fieldset><legend>Parcel size</legend>{packages}</fieldset>
  <button type="submit">Upload</button>
</form>
</body></html>""")


NEW_ITEM_JS = r"""
(function () {
  var form = document.getElementById("new-item");
  var input = form.querySelector('input[type="file"]');
  var list = document.getElementById("photos");
  var drop = form.getAttribute("data-drop-field");

  function showError(status, text) {
    var box = document.createElement("div");
    box.setAttribute("data-upload-error", "");
    box.setAttribute("data-status", String(status));
    box.textContent = text;
    form.prepend(box);
  }

  // One photo after the other, so that the page shows them in the order they were chosen.
  async function upload(files) {
    for (var i = 0; i < files.length; i++) {
      var body = new FormData();
      body.append("photo[type]", "item");
      body.append("photo[temp_uuid]", String(Date.now()) + "-" + i);
      body.append("photo[file]", files[i]);
      var response = await fetch("/api/v2/photos", {method: "POST", body: body, credentials: "same-origin"});
      var text = await response.text();
      if (!response.ok) { showError(response.status, text); return; }
      var photo = JSON.parse(text);
      var item = document.createElement("li");
      item.setAttribute("data-photo-id", String(photo.id));
      item.setAttribute("data-photo-sha256", photo.sha256);
      item.textContent = files[i].name;
      var hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = "photo_ids";
      hidden.value = String(photo.id);
      item.appendChild(hidden);
      list.appendChild(item);
    }
  }

  input.addEventListener("change", function () { upload(Array.prototype.slice.call(input.files)); });

  // The drop_field mode: the page silently forgets that field once it was filled.
  if (drop) {
    form.addEventListener("input", function (event) { forget(event.target); }, true);
    form.addEventListener("change", function (event) { forget(event.target); }, true);
  }
  function forget(field) {
    if (!field || field.name !== drop) return;
    if (field.type === "checkbox" || field.type === "radio") { field.checked = false; }
    else { field.value = ""; }
  }
})();
"""


def _new_item_js(fake, request, match) -> Response:
    return Response(200, NEW_ITEM_JS, "text/javascript; charset=utf-8")


# ============================================================================================
# Photo upload (POST /api/v2/photos, multipart)
# ============================================================================================

def _multipart_file(request) -> bytes | None:
    content_type = request.headers.get("content-type", "")
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + request.body)
    if not message.is_multipart():
        return None
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "photo[file]":
            return part.get_payload(decode=True)
    return None


def _upload_photo(fake, request, match) -> Response:
    if fake.user_for(request) is None:
        return unauthenticated()
    data = _multipart_file(request)
    if not data:
        return Response(422, {"code": 99, "message": "photo[file] is missing"})
    sha256 = hashlib.sha256(data).hexdigest()
    state = _state(fake)
    with fake.lock:
        photo_id = next(fake.ids)
        state["photos"][photo_id] = sha256
    return Response(200, {"id": photo_id, "sha256": sha256, "temp_uuid": "", "code": 0})


# ============================================================================================
# Submit and the item page
# ============================================================================================

def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "item"


def _submit(fake, request, match) -> Response:
    user = fake.user_for(request)
    if user is None:
        return _to_login(request)
    form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
    state = _state(fake)
    with fake.lock:
        state["submits"] += 1
        # Browsers send a textarea's line breaks as CRLF (the HTML form encoding); Vinted keeps "\n".
        values = {name: form.get(name, [""])[0].replace("\r\n", "\n") for name in TEXT_FIELDS}
        values["color_ids"] = form.get("color_ids", [])
        photo_hashes = [state["photos"].get(int(pid)) for pid in form.get("photo_ids", []) if pid.isdigit()]
        item_id = str(next(fake.ids))
        state["items"][item_id] = {"values": values, "photo_hashes": photo_hashes, "user_id": user["id"]}
    return Response(303, b"", "text/html", {"Location": f"/items/{item_id}-{_slug(values['title'])}"})


def _item_page(fake, request, match) -> Response:
    item = _state(fake)["items"].get(match.group(1))
    if item is None:
        return html("<html><body><h1>Page not found</h1></body></html>", 404)
    values = item["values"]
    rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in values.items())
    return html(f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{_esc(values['title'])} | Vinted</title></head>
<body><h1>{_esc(values['title'])}</h1><p>{_esc(values['price'])} €</p><table>{rows}</table>
<p>{len(item['photo_hashes'])} photos</p></body></html>""")


def _login_page(fake, request, match) -> Response:
    return html("""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Sign up or log in | Vinted</title></head>
<body><h1>Join Vinted</h1><p>Sign up or log in to sell.</p></body></html>""")


ROUTES: list = [
    ("GET", r"^/items/new$", _new_item_form),
    ("POST", r"^/items/new$", _submit),
    ("GET", r"^/assets/new-item\.js$", _new_item_js),
    ("POST", r"^/api/v2/photos$", _upload_photo),
    ("GET", r"^/items/(\d+)(?:-[^/]*)?$", _item_page),
    ("GET", rf"^{LOGIN_PATH}$", _login_page),
]
