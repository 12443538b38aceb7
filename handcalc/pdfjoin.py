"""Joining many small PDFs into one booklet, with qpdf (through pikepdf) doing the PDF work.

Each sheet arrives as the bytes a worker rendered. Its pages are copied into the booklet and
the streams they reach are given their own copy of their (still compressed) data, so the sheet
can be closed at once: the parent then holds the booklet's objects and no sheet's whole file
(qpdf would otherwise read stream data from every source when it writes). The booklet is
written with a /ID computed from its content and no dates, so the same sheets give the same
bytes on every run (and on every machine with the same pikepdf/qpdf release).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import BinaryIO


class Booklet:
    """A booklet being built: sheets are added one at a time, in order, then it is saved."""

    def __init__(self) -> None:
        import pikepdf

        self._pdf = pikepdf.Pdf.new()

    def add(self, data: bytes) -> int:
        """Append a sheet's pages (a whole PDF's bytes); the page it starts on."""
        import pikepdf

        start = len(self._pdf.pages) + 1
        with pikepdf.Pdf.open(io.BytesIO(data)) as sheet:
            _own_streams(sheet)
            self._pdf.pages.extend(sheet.pages)
        return start

    def save(self, out: BinaryIO, title: str) -> None:
        import pikepdf

        book = self._pdf
        book.docinfo[pikepdf.Name.Title] = pikepdf.String(title)
        book.docinfo[pikepdf.Name.Producer] = pikepdf.String("handcalc")
        book.Root.Lang = pikepdf.String("en")
        book.Root.ViewerPreferences = pikepdf.Dictionary(DisplayDocTitle=True)
        book.save(
            out, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.generate
        )


def join(sheets: Iterable[bytes], out: BinaryIO, title: str) -> list[int]:
    """Write one PDF of every sheet's pages, in order; returns the page each sheet starts on."""
    book = Booklet()
    starts = [book.add(data) for data in sheets]
    book.save(out, title)
    return starts


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
