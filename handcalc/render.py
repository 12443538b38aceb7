"""The sheet view model -> HTML and PDF. The only module that touches jinja2 and WeasyPrint.

WeasyPrint is imported inside `render_pdf`, so commands that make no PDF never pay for it.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import hashlib
import os
import shutil
import sys
from importlib import resources
from pathlib import Path

import jinja2

from .worksheet import Sheet

_SOURCE_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def template_dir() -> Path:
    """The installed `handcalc.templates` package, or the checkout's `templates/` folder."""
    try:
        # A folder without __init__.py is a namespace package: join a file name to get a Path.
        sheet = Path(os.fspath(resources.files("handcalc.templates").joinpath("sheet.html")))
        if sheet.is_file():
            return sheet.parent
    except (ModuleNotFoundError, TypeError):
        pass
    return _SOURCE_TEMPLATES


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """Autoescaped, and loud about any name a template uses that the view model lacks."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


# The interactive sheet's scripts, inlined in this order: the grader, the page, its guide;
# the marking page is the same sheet with the marking layer in place of the guide.
SCRIPTS = ("grading.js", "sheet.js", "guide.js")
# An exam page's one script: it saves the answers and knows nothing of grading.
EXAM_SCRIPTS = ("exam.js",)
MARKING_SCRIPTS = ("grading.js", "sheet.js", "mark.js")


def _script(names: tuple[str, ...] = SCRIPTS) -> str:
    text = "\n".join((template_dir() / name).read_text(encoding="utf-8") for name in names)
    if "</script" in text.lower() or "<!--" in text:
        raise ValueError("an inlined script must not contain </script or <!--")
    return text


# An HTML file's stylesheets: the sheet's look, then how a browser prints it.
BROWSER_CSS = ("sheet.css", "print.css")


def _browser_css(*names: str) -> str:
    return "".join((template_dir() / name).read_text(encoding="utf-8") for name in names)


def render_html(view: Sheet, stylesheet: bool = True) -> str:
    """A self-contained HTML page: the stylesheets (and for an interactive sheet, its
    scripts) are inlined and nothing is fetched, and a browser prints it as WeasyPrint does.
    Without `stylesheet` it is the page WeasyPrint makes a PDF from: sheet.css is left out
    (PDFs take it, and pdf.css, parsed once per process, from `_sheet_css`) and so are the
    browser's rules."""
    env = environment()
    css, js = "", ""
    if stylesheet:
        css = _browser_css(*BROWSER_CSS)
    if view.exam:
        css += _browser_css("interactive.css")
        js = _script(EXAM_SCRIPTS)
    elif view.interactive:
        css += _browser_css("interactive.css", "guide.css")
        js = _script(MARKING_SCRIPTS if view.marking else SCRIPTS)
    return env.get_template("sheet.html").render(sheet=view, css=css, js=js, browser=stylesheet)


def render_class_html(views: list[Sheet], title: str) -> str:
    """Many sheets in one HTML page, each starting a new printed page, with its own footer
    (each sheet is a named page). They share one stylesheet and one @page rule, so they must
    share their paper and sizes."""
    if len({v.page_css for v in views}) > 1:
        raise ValueError("sheets of one HTML class set must share their paper and sizes")
    env = environment()
    return env.get_template("class.html").render(
        sheets=views, css=_browser_css(*BROWSER_CSS), title=title, page_css=views[0].page_css
    )


def render_class_report(report) -> str:
    """The class report (classreport.ClassView) as one self-contained HTML page; its charts
    are SVG already drawn from the data, placed as they are."""
    return environment().get_template("class_report.html").render(report=report)


GRID_URL = "data:image/svg+xml,"  # the only images a sheet has: small SVG cells, inline
FONTS = "fonts"  # the sheet's own fonts: a folder of template_dir(), for PDFs only

# fontTools stamps each font it subsets with the time it was made, unless this is set.
PINNED_FONT_TIME = "1704067200"  # 2024-01-01

INSTALL_HINT = (
    "note: PDFs are slow here (fonts subset by fontTools); for faster ones install HarfBuzz's "
    "subsetter: sudo apt-get install libharfbuzz-subset0 (HarfBuzz 4.1 or later elsewhere)"
)


def fast_subsetting() -> bool:
    """Whether WeasyPrint subsets fonts with HarfBuzz (fast) rather than fontTools: the test
    of its `Font.subset`, read from WeasyPrint when it is loaded, else asked of the system's
    libraries the way WeasyPrint finds them (a class set's parent process never loads it)."""
    fonts = sys.modules.get("weasyprint.pdf.fonts")
    if fonts is not None:
        return bool(fonts.harfbuzz_subset) and bool(fonts.harfbuzz.hb_version_atleast(4, 1, 0))
    subset = _library("harfbuzz-subset", "libharfbuzz-subset.so.0", "libharfbuzz-subset.0.dylib")
    harfbuzz = _library("harfbuzz", "libharfbuzz.so.0", "libharfbuzz.0.dylib")
    return (
        subset is not None and harfbuzz is not None and bool(harfbuzz.hb_version_atleast(4, 1, 0))
    )


@functools.cache
def _library(name: str, *files: str):
    import ctypes.util

    # find_library runs ldconfig (or a compiler): asked only when the usual names fail.
    for file in (*files, None):
        file = file or ctypes.util.find_library(name)
        if file:
            try:
                return ctypes.CDLL(file)
            except OSError:
                pass
    return None


def slow_pdf_note() -> str | None:
    """One line for a person making PDFs on a machine without HarfBuzz's subsetter."""
    return None if fast_subsetting() else INSTALL_HINT


@contextlib.contextmanager
def _pinned_font_time():
    """SOURCE_DATE_EPOCH set while WeasyPrint writes, so that fontTools' subset fonts (the
    slow path) carry a fixed time and the same sheet gives the same bytes on every run;
    the caller's environment is put back afterwards."""
    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = PINNED_FONT_TIME
    try:
        yield
    finally:
        if before is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before


OUR_FAMILIES = b"Handcalc "  # the shipped fonts' families all start so (templates/fonts)


def font_tag(description: bytes) -> str:
    """The six letters naming a font in a PDF (`/ABCDEF+Handcalc-Sans`), made the way
    WeasyPrint makes them (from an MD5 of the font's Pango description), but for the shipped
    fonts from the description without its OpenType features: Pango 1.56 and later (Debian 13)
    write the feature WeasyPrint asks of every @font-face font into it ("Handcalc Sans
    #kern"), older Pango does not, and the tag, hence the PDF's bytes, differed."""
    if description.startswith(OUR_FAMILIES):
        description = description.split(b" #", 1)[0]
    digest = hashlib.md5(description, usedforsecurity=False).digest()
    return "".join(chr(65 + byte % 26) for byte in digest[:6])


def _free(address: int) -> None:
    """Give back a string GLib allocated (WeasyPrint's C bindings do not declare g_free)."""
    glib = _library("glib-2.0", "libglib-2.0.so.0", "libglib-2.0.0.dylib")
    if glib is not None:
        glib.g_free(ctypes.c_void_p(address))


def _name_fonts_alike() -> None:
    """Make WeasyPrint tag fonts by `font_tag`. Changed only where the two differ (the
    shipped fonts under newer Pango); every @font-face font carries the same features, so no
    two of them share a tag. A WeasyPrint whose font class is built otherwise is left alone."""
    from weasyprint.pdf import fonts
    from weasyprint.text.ffi import ffi, pango

    made = fonts.Font.__init__
    if getattr(made, "handcalc", False):
        return

    def __init__(self, pango_font, description, font_size):
        made(self, pango_font, description, font_size)
        text = pango.pango_font_description_to_string(description)
        tag = font_tag(ffi.string(text))
        _free(int(ffi.cast("uintptr_t", text)))
        current, name = getattr(self, "hash", None), getattr(self, "name", None)
        prefix = f"/{current}+".encode()
        if current not in (None, tag) and isinstance(name, bytes) and name.startswith(prefix):
            self.name, self.hash = f"/{tag}+".encode() + name[len(prefix) :], tag

    __init__.handcalc = True
    fonts.Font.__init__ = __init__


@functools.lru_cache(maxsize=1)
def _font_config():
    from weasyprint.text.fonts import FontConfiguration

    _name_fonts_alike()
    config = FontConfiguration()
    atexit.register(_remove_font_copies, config)
    return config


def _remove_font_copies(config) -> None:
    """WeasyPrint copies @font-face fonts into a temporary folder that only the font
    configuration's finaliser removes, and a module-level object may never be finalised:
    remove it when the process exits."""
    folder = getattr(config, "_folder", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        config._folder = None


@functools.lru_cache(maxsize=1)
def _font_faces():
    """The @font-face rules of the shipped fonts, parsed once per process: parsing them
    registers the fonts with the (cached) font configuration."""
    from weasyprint import CSS

    return CSS(
        filename=str(template_dir() / FONTS / "fonts.css"),
        url_fetcher=_fetcher_class()(),
        font_config=_font_config(),
    )


# A PDF's stylesheets: the sheet's look, then what spares WeasyPrint work on the same page.
PDF_CSS = ("sheet.css", "pdf.css")


@functools.lru_cache(maxsize=1)
def _sheet_css() -> tuple:
    """The PDF's stylesheets parsed once per process: parsing sheet.css again for every
    sheet of a class set cost about 10 ms a sheet."""
    from weasyprint import CSS

    fetcher = _fetcher_class()()
    return tuple(CSS(filename=str(template_dir() / n), url_fetcher=fetcher) for n in PDF_CSS)


@functools.lru_cache(maxsize=1)
def _sheet_html_class():
    """WeasyPrint's HTML, laying a sheet out on the browser defaults its elements need
    (templates/ua.css) in place of the whole HTML stylesheet; a newer WeasyPrint that no
    longer asks `_ua_stylesheets` just uses its own, which these values copy."""
    from weasyprint import CSS, HTML
    from weasyprint.css.counters import CounterStyle

    counters = CounterStyle()
    defaults = CSS(filename=str(template_dir() / "ua.css"), counter_style=counters)

    class SheetHTML(HTML):
        def _ua_stylesheets(self, forms=False):
            return [defaults, *super()._ua_stylesheets(forms)[1:]]

        def _ua_counter_style(self):
            return [counters.copy()]

    return SheetHTML


def _fetcher_class():
    """A URL fetcher that serves the tool's own template files (and its fonts) and refuses
    everything else, so no text on a sheet can make WeasyPrint read a local file or the
    network."""
    from urllib.parse import unquote, urlparse

    from weasyprint.urls import URLFetcher, URLFetcherResponse

    root = template_dir().resolve()

    class OwnFilesOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith(GRID_URL):  # grid cells (worksheet.grid_tile), hatching (sheet.css)
                return URLFetcherResponse(url, unquote(url[len(GRID_URL) :]).encode())
            parsed = urlparse(url)
            if parsed.scheme == "file":
                path = Path(unquote(parsed.path)).resolve()
                if path.parent in (root, root / FONTS) and path.is_file():
                    return URLFetcherResponse(url, path.read_bytes())
            raise ValueError(f"handcalc fetches nothing but its own templates, not {url[:60]}")

    return OwnFilesOnly


def _read_only(field_name: str):
    """A WeasyPrint finisher marking one form field read-only (HTML `readonly` is ignored)."""

    def finish(document, pdf):
        for obj in pdf.objects:
            if isinstance(obj, dict) and getattr(obj.get("T"), "string", None) == field_name:
                obj["Ff"] = 1

    return finish


def layout(page: Sheet | str, fillable: bool | None = None):
    """WeasyPrint's laid-out document for a view model (or already rendered HTML), before
    any PDF is written: what `render_pdf` spends most of its time on."""
    from weasyprint import HTML

    stylesheets = [_font_faces()]
    if isinstance(page, Sheet):
        html = render_html(page, stylesheet=False)
        stylesheets += _sheet_css()
        fillable = page.fillable if fillable is None else fillable
        maker = _sheet_html_class()
    else:
        html, maker = page, HTML
    fetcher = _fetcher_class()()
    document = maker(string=html, base_url=template_dir().as_uri() + "/", url_fetcher=fetcher)
    return document.render(
        font_config=_font_config(),
        stylesheets=stylesheets,
        pdf_forms=bool(fillable),
    )


def render_pdf(page: Sheet | str, fillable: bool | None = None, tagged: bool = True) -> bytes:
    """PDF bytes for a view model (or already rendered HTML). A fillable sheet gets AcroForm
    fields named like the answer cells, and a read-only `handcalc_id` field.

    `tagged` writes a structure tree (WeasyPrint's pdf_tags) for screen readers: the page's
    language and title, headings for sections and steps, form fields with their names. It is
    not the PDF/UA-1 variant, which would claim more than a sheet meets: WeasyPrint keeps the
    footer (a page-margin box) out of the tree, and a matrix is one box of text, not a table."""
    if isinstance(page, Sheet):
        fillable = page.fillable if fillable is None else fillable
    document = layout(page, fillable)
    finisher = _read_only("handcalc_id") if fillable else None
    with _pinned_font_time():
        return document.write_pdf(finisher=finisher, pdf_forms=bool(fillable), pdf_tags=tagged)
