"""The rendered book (``_build/html``, from ``.ci/book``) read in headless Chromium, served over HTTP on 127.0.0.1.

For every page of ``_toc.yml``: no JavaScript error, no request that leaves the machine (MathJax and the
ipywidgets embed script are served from ``_static``), every image loaded, every math element typeset by
MathJax (no raw ``\\(``, ``\\[`` or ``$$`` left in the text), and on notebook chapters launch buttons that
open the chapter on Binder and Colab; on the widget chapter the embedded ipywidgets sliders are rendered.
Screenshots of three chapters go to ``_build/browser/``.

Skipped when the book has not been built (or was built before the last change to ``_config.yml`` or
``_toc.yml``), or Playwright or a system Chromium is missing (Playwright's own browser download is never
used); ``SPIKEBOOK_BROWSER=require`` (set by ``.ci/run`` after the book build) turns those skips into
failures.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "browser"
REQUIRED = os.environ.get("SPIKEBOOK_BROWSER", "") == "require"
WIDGET_PAGE = "book/generative_models"
SCREENSHOTS = {  # page -> (file, CSS selector of what to show at the top of the window)
    "book/amortized_inference": ("amortized_inference.png", "div.math"),  # a simulation chapter's equations
    "book/gcamp": ("gcamp.png", "div.cell_output img"),  # a data chapter's first figure
    WIDGET_PAGE: ("generative_models.png", ".widget-interact"),  # the sliders and their stored figure
}
# Console errors that are known and harmless, with why. Sphinx 7.4 writes a body-only script added after the
# builder started (sphinx-thebe's `const THEBE_JS_URL = ...` config) twice on every page (it re-adds the
# registry's scripts with filename '' instead of None, so they are not deduplicated); the second copy
# fails to redeclare the constants, the first has set them, and the book uses no thebe anyway.
KNOWN_ERRORS = [re.compile(r"^pageerror: Identifier 'THEBE_JS_URL' has already been declared$")]
# Text that means math was left untypeset (code blocks are hidden before the text is read).
RAW_MATH = re.compile(r"\\\(|\\\[|\$\$")


def _missing(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (SPIKEBOOK_BROWSER=require)")
    pytest.skip(reason)


def toc_pages() -> list[str]:
    """Document names in ``_toc.yml`` order: the root, then every chapter and section of every part."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        walk(part.get("chapters", []))
    return pages


PAGES = toc_pages()


@pytest.fixture(scope="module")
def built() -> Path:
    if not (HTML / "index.html").is_file():
        _missing(f"the book has not been built ({HTML} has no index.html): run `bash .ci/book`")
    # Sphinx rewrites the search index on every build (index.html, a redirect, is written only once).
    built_at = max(f.stat().st_mtime for f in (HTML / "searchindex.js", HTML / "index.html") if f.is_file())
    newer = [f for f in ("_config.yml", "_toc.yml") if (ROOT / f).stat().st_mtime > built_at]
    if newer:
        _missing(f"{HTML} is older than {' and '.join(newer)}: rebuild it with `bash .ci/book`")
    return HTML


@pytest.mark.parametrize("page", PAGES)
def test_page_serves_its_own_javascript(built: Path, page: str) -> None:
    """The HTML loads MathJax and the widget embed script from _static, never from a CDN."""
    path = built / f"{page}.html"
    assert path.is_file(), f"{path} is missing: the book build did not write {page}"
    html = path.read_text(encoding="utf-8")
    scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', html)
    remote = [s for s in scripts if "://" in s or s.startswith("//")]
    assert not remote, f"{page} loads scripts from the network: {remote}"
    has_math = 'class="math notranslate' in html
    mathjax = [s for s in scripts if "mathjax" in s.lower()]
    if has_math:
        assert any(re.search(r"_static/mathjax/tex-mml-chtml\.js(\?|$)", s) for s in mathjax), (
            f"{page} has math but does not load _static/mathjax/tex-mml-chtml.js: {mathjax}"
        )
    if page == WIDGET_PAGE:
        assert "application/vnd.jupyter.widget-state+json" in html, f"{page} has no embedded widget state"
        assert any("_static/jupyter-widgets/require.js" in s for s in scripts), scripts
        assert any("_static/jupyter-widgets/html-manager/embed-amd.js" in s for s in scripts), scripts


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def site(built: Path) -> Iterator[str]:
    """``_build/html`` served on 127.0.0.1 (a site, not file://) for the module's tests."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(built))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(site: str):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed: pip install -r .ci/requirements-browser.txt")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        _missing("no system Chromium: apt-get install -y chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"], headless=True)
        try:
            yield b
        finally:
            b.close()


# Run in the page once it has loaded: wait for MathJax's typesetting and every image, then report.
_INSPECT = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  const imgs = [...document.images];
  for (const img of imgs) img.loading = 'eager';
  const broken = [];
  await Promise.all(imgs.map(async (img) => {
    try { await img.decode(); } catch (e) { broken.push(img.currentSrc || img.src); return; }
    if (img.naturalWidth === 0 && !/\\.svg(\\?|$)/.test(img.src)) broken.push(img.currentSrc || img.src);
  }));
  const style = document.createElement('style');
  style.textContent = 'pre, code, .highlight, .cell_input { display: none !important; }';
  document.head.appendChild(style);
  const text = document.body.innerText;
  style.remove();
  const math = [...document.querySelectorAll('span.math, div.math')];
  const launch = [...document.querySelectorAll('a[href]')].map(a => a.href)
    .filter(h => h.includes('mybinder.org') || h.includes('colab.research.google.com'));
  return {
    images: imgs.length, broken, text,
    math: math.length,
    untypeset: math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80)),
    mjx: document.querySelectorAll('mjx-container').length,
    mathjaxVersion: (window.MathJax && MathJax.version) || null,
    launch,
  };
}"""


@pytest.mark.parametrize("page", PAGES)
def test_page_in_browser(browser, site: str, page: str) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    outside: list[str] = []

    def route(r) -> None:
        if r.request.url.startswith(site + "/"):
            r.continue_()
        else:  # the book must read offline: nothing may come from another host
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    pg = context.new_page()
    pg.on("console", lambda m: errors.append(f"console.{m.type}: {m.text} ({m.location.get('url')})")
          if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(f"pageerror: {e.message}"))
    try:
        response = pg.goto(f"{site}/{page}.html", wait_until="load", timeout=60_000)
        assert response is not None and response.ok, f"{page}.html: HTTP {response and response.status}"
        if page == WIDGET_PAGE:  # the widget manager renders the embedded state after the page's load
            try:
                pg.wait_for_selector(".widget-slider", state="attached", timeout=20_000)
            except PlaywrightTimeout:
                pass  # reported below, with the page's errors
        info = pg.evaluate(_INSPECT)
        if page in SCREENSHOTS:
            name, selector = SCREENSHOTS[page]
            pg.evaluate(
                "(sel) => { const e = document.querySelector(sel);"
                " if (e) { e.scrollIntoView({block: 'start'}); window.scrollBy(0, -90); } }",
                selector,
            )
            SHOTS.mkdir(parents=True, exist_ok=True)
            pg.screenshot(path=str(SHOTS / name))
        sliders = pg.locator(".widget-slider")
        n_sliders = sliders.count()
        visible_sliders = sum(sliders.nth(i).is_visible() for i in range(n_sliders))
    finally:
        context.close()

    errors = [e for e in errors if not any(k.search(e) for k in KNOWN_ERRORS)]
    problems = []
    if errors:
        problems.append("JavaScript errors:\n  " + "\n  ".join(errors))
    if outside:
        problems.append("requests to other hosts:\n  " + "\n  ".join(sorted(set(outside))))
    if info["broken"]:
        problems.append(f"{len(info['broken'])} of {info['images']} images did not load: {info['broken'][:5]}")
    raw = sorted({info["text"][max(m.start() - 30, 0) : m.end() + 30] for m in RAW_MATH.finditer(info["text"])})
    if raw:
        problems.append(f"raw TeX in the text: {raw[:5]}")
    if info["untypeset"]:
        problems.append(f"{len(info['untypeset'])} of {info['math']} math elements not typeset: "
                        f"{info['untypeset'][:3]} (MathJax {info['mathjaxVersion']})")
    if info["math"] and not info["mjx"]:
        problems.append("no MathJax output (mjx-container) on a page with math")
    source = ROOT / f"{page}.ipynb"
    if source.is_file():
        binder = [h for h in info["launch"] if "mybinder.org" in h and f"{page}.ipynb" in h]
        colab = [h for h in info["launch"] if "colab.research.google.com" in h and f"{page}.ipynb" in h]
        if not binder or not colab:
            problems.append(f"launch buttons for Binder and Colab with {page}.ipynb missing: {info['launch']}")
    if page == WIDGET_PAGE and not visible_sliders:
        problems.append(f"the widget chapter shows no slider ({n_sliders} in the page)")
    if problems:
        pytest.fail(f"{page}: " + "\n".join(problems), pytrace=False)
