"""Small helpers shared by the browser tests."""

from urllib.parse import urlsplit

from tests.factories import PASSWORD

# Runs in every page before its own scripts (Playwright injects it outside the
# page's CSP): turns each CSP violation into a console error the watch sees,
# naming the directive and what was blocked.
_CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
                " in " + e.sourceFile + ":" + e.lineNumber);
});
"""


class PageWatch:
    """Collects everything a page does wrong, and every URL it requests.

    A navigation answered with 4xx/5xx is the test's business (it asserts the
    status it expects); Chromium's console line about that one document is
    therefore not a problem. Anything else is.
    """

    def __init__(self, page):
        self.page = page
        self.problems = []
        self.requests = []
        self._error_documents = set()
        page.add_init_script(_CSP_REPORTER)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught exception on {page.url}: {error}"))
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_request_failed)
        page.watch = self

    def _on_console(self, message):
        if message.type != "error":
            return
        source = message.location.get("url", "")
        if message.text.startswith("Failed to load resource") and source in self._error_documents:
            return
        self.problems.append(f"console error on {self.page.url}: {message.text} ({source})")

    def _is_document(self, request):
        return request.is_navigation_request() and request.frame == self.page.main_frame

    def _on_response(self, response):
        if response.status < 400:
            return
        if self._is_document(response.request):
            self._error_documents.add(response.url)
        else:
            self.problems.append(f"{response.request.method} {response.url} answered {response.status}")

    def _on_request_failed(self, request):
        if request.failure == "net::ERR_ABORTED":
            return  # cut short by the next navigation (CSP blocks show as ERR_BLOCKED_BY_CSP)
        self.problems.append(f"{request.method} {request.url} failed: {request.failure}")

    def assert_clean(self):
        assert not self.problems, "The browser reported problems:\n  " + "\n  ".join(self.problems)

    def foreign_requests(self, origin):
        """Requested URLs that are not on `origin` (scheme://host:port); data: and blob: are local."""
        own = urlsplit(origin)
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme not in ("data", "blob")
            and (urlsplit(url).scheme, urlsplit(url).netloc) != (own.scheme, own.netloc)
        ]


def visit(page, path, status=200):
    """Open `path` and check the status of the document the browser ended on."""
    response = page.goto(path)
    assert response is not None, f"no response for {path}"
    assert response.status == status, f"{path}: expected {status}, got {response.status} at {page.url}"
    return response


def sign_in(page, username, password=PASSWORD):
    visit(page, "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def has_horizontal_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")


def overflowing_elements(page):
    """What sticks out to the right of the viewport (for a readable failure message)."""
    return page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          return [...document.querySelectorAll("body *")]
            .filter(el => el.getBoundingClientRect().right > width + 0.5)
            .slice(0, 8)
            .map(el => el.tagName.toLowerCase() + (el.className ? "." + String(el.className).split(" ").join(".") : "")
                       + " right=" + Math.round(el.getBoundingClientRect().right));
        }"""
    )


# WCAG contrast of the text of every visible element matching `selector`
# against the first opaque background behind it. Returns the failures.
_CONTRAST = """
(args) => {
  const [selector, minimum] = args;
  const rgb = (value) => {
    const m = value.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const parts = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return {r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1};
  };
  const luminance = (c) => {
    const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  };
  const background = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c && c.a >= 0.99) return c;
    }
    return rgb(getComputedStyle(document.documentElement).backgroundColor) || {r: 255, g: 255, b: 255, a: 1};
  };
  const failures = [];
  for (const el of document.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || !el.textContent.trim()) continue;
    const fg = rgb(getComputedStyle(el).color), bg = background(el);
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    if (ratio < minimum) {
      failures.push(el.tagName.toLowerCase() + "." + String(el.className).split(" ").join(".") + " '"
                    + el.textContent.trim().slice(0, 30) + "' " + ratio.toFixed(2) + ":1");
    }
  }
  return failures;
}
"""

# Text a user reads on the foundation pages; each must reach WCAG AA (4.5:1).
TEXT_SELECTORS = (
    "body, h1, h2, p, a, label, th, td, dt, dd, small, summary, code, button, .btn, .muted, .badge, "
    ".field-error, .stat-label, .stat-number, .nav a, .help, .message, .alert, .empty, .footer"
)


def low_contrast(page, selector=TEXT_SELECTORS, minimum=4.5):
    return page.evaluate(_CONTRAST, [selector, minimum])
