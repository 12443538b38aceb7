"""Joining many small PDFs into one booklet without holding them all in memory.

pypdf's own merge keeps every object of every sheet in memory until it writes (about 5 MiB
per sheet here, mostly the fonts' width tables) and spends most of its time
cloning them. So the work is split instead: a worker process turns its sheet into `Parts`
(its pages' objects, serialised by pypdf, with references left as numbered holes), and the
parent only fills the holes with final object numbers and streams the bytes to the file.
References are written as \\0<n>\\0 holes: pypdf escapes every NUL in strings and names, so a
raw NUL in an object's dictionary can only be a hole; stream data is kept apart, untouched.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

PAGES, CATALOG, INFO = 1, 2, 3  # the booklet's own objects; sheets' objects follow
_HOLE = re.compile(rb"\x00(\d+|P)\x00")
_INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")


@dataclass(frozen=True)
class Parts:
    """One sheet's objects, numbered from 0 in order; `pages` are indexes into `objects`.
    Each object is (dictionary bytes with holes, stream data or None)."""

    objects: list[tuple[bytes, bytes | None]]
    pages: list[int]


def split(pdf: bytes) -> Parts:
    """A PDF's pages and every object they reach, ready to be renumbered by `join`."""
    from pypdf import PdfReader
    from pypdf.generic import (
        ArrayObject,
        DictionaryObject,
        IndirectObject,
        NameObject,
        NumberObject,
        StreamObject,
    )

    reader = PdfReader(io.BytesIO(pdf))
    pages = list(reader.pages)
    order: dict[int, int] = {}  # old object number -> index in this sheet
    found: list = []
    holes: list[IndirectObject] = []

    def visit(ref):
        todo = [ref]
        while todo:
            o = todo.pop()
            if isinstance(o, IndirectObject):
                holes.append(o)
                if o.idnum not in order:
                    order[o.idnum] = len(found)
                    found.append(o.get_object())
                    todo.append(found[-1])
            elif isinstance(o, DictionaryObject):
                page = o.get("/Type") == "/Page"
                todo += [v for k, v in o.items() if not (page and k == "/Parent")]
            elif isinstance(o, ArrayObject):
                todo += list(o)

    page_refs = []
    for page in pages:
        node = page.get("/Parent")
        while node is not None:
            node = node.get_object()
            for key in _INHERITED:
                if key not in page and key in node:
                    page[NameObject(key)] = node[key]
            node = node.get("/Parent")
        page_refs.append(page.indirect_reference.idnum)
        visit(page.indirect_reference)
    seen = set()
    for ref in holes:
        if id(ref) not in seen:
            seen.add(id(ref))
            ref.idnum = f"\x00{order[ref.idnum]}\x00"
    for num in page_refs:
        found[order[num]][NameObject("/Parent")] = IndirectObject("\x00P\x00", 0, None)
    objects = []
    for obj in found:
        data = None
        if isinstance(obj, StreamObject):
            data = obj._data
            obj = DictionaryObject(obj)
            obj[NameObject("/Length")] = NumberObject(len(data))
        buf = io.BytesIO()
        obj.write_to_stream(buf)
        objects.append((buf.getvalue(), data))
    return Parts(objects, [order[num] for num in page_refs])


def _string(text: str) -> bytes:
    """A PDF text string: UTF-16 with a byte-order mark, in hex, so any text is safe."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">"


def join(sheets: Iterable[Parts], out: BinaryIO, title: str) -> list[int]:
    """Write one PDF of every sheet's pages, in order; returns the page each sheet starts on."""
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    kids: list[int] = []
    starts: list[int] = []
    next_num = INFO + 1

    def put(num: int, body: bytes, data: bytes | None = None) -> None:
        offsets[num] = out.tell()
        out.write(b"%d 0 obj\n" % num)
        out.write(body)
        if data is not None:
            out.write(b"\nstream\n")
            out.write(data)
            out.write(b"\nendstream")
        out.write(b"\nendobj\n")

    for parts in sheets:
        base = next_num

        def number(m: re.Match, base: int = base) -> bytes:
            hole = m.group(1)
            return b"%d" % (PAGES if hole == b"P" else base + int(hole))

        starts.append(len(kids) + 1)
        for i, (body, data) in enumerate(parts.objects):
            put(base + i, _HOLE.sub(number, body), data)
        kids += [base + i for i in parts.pages]
        next_num = base + len(parts.objects)

    refs = b" ".join(b"%d 0 R" % k for k in kids)
    put(PAGES, b"<< /Type /Pages /Count %d /Kids [ %s ] >>" % (len(kids), refs))
    put(CATALOG, b"<< /Type /Catalog /Pages %d 0 R >>" % PAGES)
    put(INFO, b"<< /Title %s /Producer (handcalc) >>" % _string(title))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % next_num)
    for num in range(1, next_num):
        out.write(b"%010d 00000 n \n" % offsets[num])
    out.write(b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\n" % (next_num, CATALOG, INFO))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return starts
