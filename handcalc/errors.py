"""One base class, so the CLI can turn every expected failure into a one-line message."""


class HandcalcError(Exception):
    """Anything a user can cause: bad options, bad files, unreadable answers."""


class OptionError(HandcalcError):
    """An option or combination of options that makes no exercise."""


class ProblemFileError(HandcalcError):
    """A problem file or sheet ID that does not describe a valid problem."""


class DrawError(HandcalcError):
    """No hand-friendly problem was found within the draw budget."""


class AnswersError(HandcalcError):
    """An answers file (JSON or filled PDF) that cannot be read or belongs to another sheet."""


class OutputError(HandcalcError):
    """An output path that cannot be written."""


class SheetTooBigError(HandcalcError):
    """A problem too big for its paper: its cells would be too small to write in."""


# --- user text in messages ------------------------------------------------------------------
# A message or report shows a piece of user text (a cell, a name, an ID, a number) cut to
# ECHO_LIMIT characters with a mark saying how much was left out, and every character that
# is not printable (a line break, a tab, an escape sequence, a bidi override) escaped, so a
# message stays one readable line whatever the file held. A whole message is cut at LINE_LIMIT.
ECHO_LIMIT = 60
LINE_LIMIT = 1000


def _text(value) -> str:
    if isinstance(value, str):
        return value
    try:
        return str(value)
    except ValueError:  # an int too long for Python to print: say how long it is
        return f"<a number of about {int(value.bit_length() * 0.30103)} digits>"


def _mark(left_out: int) -> str:
    return f"…(+{left_out} chars)" if left_out else ""


def escaped(text: str) -> str:
    """`text` with every character that is not printable written as an escape (\\n, \\x1b)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def echoed(value, limit: int = ECHO_LIMIT) -> str:
    """User text as a message shows it: escaped, and cut to `limit` characters with a mark
    ("12345…(+641 chars)")."""
    text = _text(value)
    return escaped(text[:limit]) + _mark(max(0, len(text) - limit))


def quoted(value, limit: int = ECHO_LIMIT) -> str:
    """As `echoed`, in quotes (Python's repr of the part kept)."""
    text = _text(value)
    return repr(text[:limit]) + _mark(max(0, len(text) - limit))


def one_line(message: str) -> str:
    """A whole message as one line: escaped, and cut at LINE_LIMIT."""
    return echoed(message, LINE_LIMIT)
