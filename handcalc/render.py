"""The sheet view model -> HTML and PDF. The only module that touches jinja2 and WeasyPrint.

WeasyPrint is imported inside `render_pdf`, so commands that make no PDF never pay for it.
"""

from __future__ import annotations

import functools
import os
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


# The interactive sheet's scripts, inlined in this order: the grader, the page, its guide.
SCRIPTS = ("grading.js", "sheet.js", "guide.js")


def _script() -> str:
    text = "\n".join((template_dir() / name).read_text(encoding="utf-8") for name in SCRIPTS)
    if "</script" in text.lower() or "<!--" in text:
        raise ValueError("an inlined script must not contain </script or <!--")
    return text


def render_html(view: Sheet) -> str:
    """A self-contained HTML page: the stylesheet (and for an interactive sheet, its scripts)
    is inlined and nothing is fetched."""
    env = environment()
    css = (template_dir() / "sheet.css").read_text(encoding="utf-8")
    js = ""
    if view.interactive:
        for name in ("interactive.css", "guide.css"):
            css += (template_dir() / name).read_text(encoding="utf-8")
        js = _script()
    return env.get_template("sheet.html").render(sheet=view, css=css, js=js)


def render_class_html(views: list[Sheet], title: str) -> str:
    """Many sheets in one HTML page, each starting a new printed page. They share one
    stylesheet and one @page rule, so they must share their paper and sizes."""
    if len({v.page_css for v in views}) > 1:
        raise ValueError("sheets of one HTML class set must share their paper and sizes")
    env = environment()
    css = (template_dir() / "sheet.css").read_text(encoding="utf-8")
    return env.get_template("class.html").render(
        sheets=views, css=css, title=title, page_css=views[0].page_css
    )


@functools.lru_cache(maxsize=1)
def _font_config():
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def _fetcher_class():
    """A URL fetcher that serves the tool's own template files and refuses everything else,
    so no text on a sheet can make WeasyPrint read a local file or the network."""
    from urllib.parse import unquote, urlparse

    from weasyprint.urls import URLFetcher, URLFetcherResponse

    root = template_dir().resolve()

    class OwnFilesOnly(URLFetcher):
        def fetch(self, url, headers=None):
            parsed = urlparse(url)
            if parsed.scheme == "file":
                path = Path(unquote(parsed.path)).resolve()
                if path.parent == root and path.is_file():
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


def render_pdf(page: Sheet | str, fillable: bool | None = None) -> bytes:
    """PDF bytes for a view model (or already rendered HTML). A fillable sheet gets AcroForm
    fields named like the answer cells, and a read-only `handcalc_id` field."""
    from weasyprint import HTML

    if isinstance(page, Sheet):
        html = render_html(page)
        fillable = page.fillable if fillable is None else fillable
    else:
        html = page
    fetcher = _fetcher_class()()
    document = HTML(string=html, base_url=template_dir().as_uri() + "/", url_fetcher=fetcher)
    options = {"font_config": _font_config(), "pdf_forms": bool(fillable)}
    if fillable:
        options["finisher"] = _read_only("handcalc_id")
    return document.write_pdf(**options)
