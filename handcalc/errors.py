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
