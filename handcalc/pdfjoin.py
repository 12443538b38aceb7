"""Joining many small PDFs into one booklet, with qpdf (through pikepdf) doing the PDF work.

Sheets arrive as the bytes a worker rendered, while the workers are still running; each is
spooled to a file of its own and qpdf reads none of them until the booklet is saved, after
the workers have ended. qpdf holds about half a MiB for each sheet it copies (its objects,
not their data), so joining as the sheets arrive made the parent grow beside the workers
and the peak grow with the class; now the workers' memory and the join's never add up.
Each sheet's pages are copied into the booklet and the streams they reach are given their
own copy of their (still compressed) data, so the sheet's file can be closed at once. The
booklet is written with a /ID computed from its content and no dates, so the same sheets
give the same bytes on every run (and on every machine with the same pikepdf/qpdf release).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from typing import BinaryIO


class Booklet:
    """A booklet being built: sheets are added one at a time, in order, then it is saved
    (or closed unsaved: its spooled sheets are removed either way)."""

    def __init__(self) -> None:
        self._folder: str | None = tempfile.mkdtemp(prefix="handcalc-booklet-")
        self._sheets: list[str] = []

    def add(self, data: bytes) -> None:
        """Spool a sheet (a whole PDF's bytes) to be joined when the booklet is saved."""
        if self._folder is None:
            raise ValueError("this booklet is closed")
        path = os.path.join(self._folder, f"{len(self._sheets):06d}.pdf")
        with open(path, "xb") as fh:
            fh.write(data)
        self._sheets.append(path)

    def save(self, out: BinaryIO, title: str) -> list[int]:
        """Write the booklet of every sheet added; returns the page each sheet starts on."""
        import pikepdf

        book = pikepdf.Pdf.new()
        starts = []
        try:
            for path in self._sheets:
                starts.append(len(book.pages) + 1)
                with pikepdf.Pdf.open(path) as sheet:
                    _own_streams(sheet)
                    book.pages.extend(sheet.pages)
                os.remove(path)  # (as it goes: the spool never holds the class twice)
            book.docinfo[pikepdf.Name.Title] = pikepdf.String(title)
            book.docinfo[pikepdf.Name.Producer] = pikepdf.String("handcalc")
            book.Root.Lang = pikepdf.String("en")
            book.Root.ViewerPreferences = pikepdf.Dictionary(DisplayDocTitle=True)
            book.save(
                out, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.generate
            )
        finally:
            book.close()
            self.close()
        return starts

    def close(self) -> None:
        """Remove the spooled sheets (after a save, or when the run fails)."""
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def __enter__(self) -> Booklet:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def join(sheets: Iterable[bytes], out: BinaryIO, title: str) -> list[int]:
    """Write one PDF of every sheet's pages, in order; returns the page each sheet starts on."""
    with Booklet() as book:
        for data in sheets:
            book.add(data)
        return book.save(out, title)


def _own_streams(sheet) -> None:
    """Give every stream of a sheet its data in memory, as it is (compressed, never decoded):
    qpdf copies a stream read from a file only when the booklet is written, by which time the
    sheet is closed, but copies one held in memory at once."""
    import pikepdf

    for obj in sheet.objects:
        if isinstance(obj, pikepdf.Stream):
            obj.write(
                obj.read_raw_bytes(),
                filter=obj.get(pikepdf.Name.Filter),
                decode_parms=obj.get(pikepdf.Name.DecodeParms),
                type_check=False,
            )
