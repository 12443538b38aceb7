"""The command line: parse options, call the library, turn its errors into one-line messages."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import sys

import click

from .errors import HandcalcError, OptionError


def _range(value: str | None, flag: str):
    if value is None:
        return None
    try:
        lo, hi = (int(x) for x in value.split(":"))
    except ValueError:
        raise OptionError(f"{flag} takes LO:HI, two whole numbers, not {value!r}") from None
    return lo, hi


def problem_options(f):
    """The options every command shares for choosing a problem."""
    opts = [
        click.option("--seed", type=int, help="Draw the problem from this seed."),
        click.option(
            "--from",
            "source",
            type=click.Path(dir_okay=False),
            help="Take the matrices from this problem file (JSON).",
        ),
        click.option("--id", "sheet_id", metavar="ID", help="Bring back the problem with this sheet ID."),
        click.option(
            "--level",
            type=click.Choice(["easy", "classic", "hard"]),
            help="Preset sizes and ranges (default: classic).",
        ),
        click.option("--tokens", type=int, help="Number of tokens n (default 4)."),
        click.option("--d-in", type=int, help="Features per token (default 6)."),
        click.option("--d-k", type=int, help="Query/key size (default 3)."),
        click.option("--d-v", type=int, help="Value size (default: d_k)."),
        click.option("--heads", type=int, help="Attention heads (default 1)."),
        click.option(
            "--queries",
            type=int,
            help="Cross-attention: this many queries from a second input Xq; "
            "keys and values from X.",
        ),
        click.option(
            "--kv-heads",
            type=int,
            help="Grouped heads: the --heads query heads share this many key/value heads "
            "(1: multi-query).",
        ),
        click.option(
            "--decode",
            is_flag=True,
            default=None,
            help="A decode step: the K and V of earlier tokens given as a cache, "
            "one new token to add.",
        ),
        click.option("--x-range", metavar="LO:HI", help="Range of X's entries, LO:HI."),
        click.option("--w-range", metavar="LO:HI", help="Range of the weights' entries, LO:HI."),
        click.option(
            "--rounding",
            type=click.Choice(["floor", "zero"]),
            help="How S/2 rounds: floor (default) or toward zero.",
        ),
        click.option(
            "--causal",
            is_flag=True,
            default=None,
            help="Causal mask: each token sees only itself and earlier tokens.",
        ),
        click.option(
            "--rope",
            is_flag=True,
            default=None,
            help="Rotary positions by quarter turns: Qr and Kr, token m turned m quarter turns "
            "(d_k even).",
        ),
        click.option(
            "--block",
            is_flag=True,
            default=None,
            help="Go on to the transformer block: R1 = X + Z, F = W1·R1 + b1, H = ReLU(F), "
            "Y = W2·H + b2, R2 = R1 + Y.",
        ),
        click.option("--d-ff", type=int, help="The block's hidden features (default 2)."),
        click.option(
            "--convention",
            type=click.Choice(["columns", "rows"]),
            help="Tokens as columns (default) or rows.",
        ),
        click.option(
            "--output-projection/--no-output-projection",
            default=None,
            help="Multi-head: end with O = WO·Zcat (default), or stop at the concatenated heads.",
        ),
        click.option(
            "--given",
            "given_steps",
            metavar="STEP[,STEP...]",
            help="Print these worked steps filled in, as givens, not graded: names (Q,K,V; S2), "
            "or a drill: scores (Q,K,V given), softmax (S,V), output (A,V).",
        ),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


_SIZE_FLAGS = (
    "tokens",
    "d_in",
    "d_k",
    "d_v",
    "heads",
    "queries",
    "kv_heads",
    "decode",
    "level",
    "x_range",
    "w_range",
    "output_projection",
    "d_ff",
)
_RULE_FLAGS = ("rounding", "causal", "convention", "given_steps", "rope", "block")


def _flag(key: str, value=None) -> str:
    """The option a user typed for one of the shared options' keys."""
    if key == "output_projection" and value is False:
        return "--no-output-projection"
    names = {"given_steps": "--given", "sheet_id": "--id", "source": "--from"}
    return names.get(key, "--" + key.replace("_", "-"))


def _steps_list(value: str | None):
    if value is None:
        return None
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    if not names:
        raise OptionError("--given takes step names separated by commas, e.g. --given Q,K,V")
    return names


def _spec(given: dict):
    from .problem import Spec

    if given["kv_heads"] is not None and given["heads"] is None:
        raise OptionError(
            "--kv-heads groups the query heads of --heads; give both (e.g. --heads 4 --kv-heads 2)"
        )
    sizes = ("tokens", "d_in", "d_k", "d_v", "heads", "output_projection")
    return Spec.for_level(
        given["level"] or "classic",
        **{
            k: given[k]
            for k in (
                *sizes,
                "queries",
                "kv_heads",
                "decode",
                "rounding",
                "causal",
                "convention",
                "rope",
                "block",
                "d_ff",
            )
        },
        given_steps=_steps_list(given["given_steps"]),
        x_range=_range(given["x_range"], "--x-range"),
        w_range=_range(given["w_range"], "--w-range"),
    )


def _take(opts: dict) -> dict:
    return {k: opts.pop(k) for k in (*_SIZE_FLAGS, *_RULE_FLAGS, "seed", "source", "sheet_id")}


def resolve_problem(opts: dict, warn: bool = True):
    """The problem the shared options describe; reports a drawn seed on stderr, and (`warn`)
    the hand-friendly rules a typed-in problem breaks.

    Pops the shared options out of `opts`, leaving the command's own."""
    from .draw import make_problem

    given = _take(opts)
    _refuse_code(given["sheet_id"])
    fixed = "--id" if given["sheet_id"] is not None else "--from" if given["source"] else None
    if fixed:
        clash = [k for k in _SIZE_FLAGS if given[k] is not None]
        if fixed == "--id":
            clash += [k for k in _RULE_FLAGS if given[k] is not None]
        if clash:
            flag = _flag(clash[0], given[clash[0]])
            raise OptionError(
                f"{fixed} fixes the sizes{' and rules' if fixed == '--id' else ''}; drop {flag}"
            )
    problem = make_problem(given["seed"], given["source"], given["sheet_id"], _spec(given))
    if given["seed"] is None and not fixed:
        click.echo(f"drew seed {problem.seed} (pass --seed {problem.seed} to repeat)", err=True)
    if fixed and warn:
        from .draw import unfriendly_line

        warning = unfriendly_line(problem)
        if warning:
            click.echo(f"note: {warning}", err=True)
    return problem


def _refuse_code(sheet_id, where: str = "") -> None:
    """A private class code names no sheet by itself: only the class's manifest maps it."""
    if sheet_id is None:
        return
    from .classset import code_error, code_key
    from .errors import AnswersError

    code = code_key(sheet_id)
    if code is not None:
        raise (AnswersError if where else OptionError)(where + code_error(code))


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP: stop and clean up exactly as for Ctrl-C."""

    WORDS = {signal.SIGTERM: "terminated", getattr(signal, "SIGHUP", None): "hung up"}

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _stop(signum, frame):
    raise Stopped(signum)


@contextlib.contextmanager
def _stoppable():
    """SIGTERM and SIGHUP raise Stopped while a command runs, so its staged files are
    removed and its workers stopped, as Ctrl-C does; the old handlers come back after."""
    wanted = [sig for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if sig]
    try:
        old = {sig: signal.signal(sig, _stop) for sig in wanted}
    except ValueError:  # not the main thread: signals stay as they are
        old = {}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def friendly(f):
    """Expected failures exit 1 with one line; Ctrl-C, SIGTERM and SIGHUP exit quietly."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            with _stoppable():
                return f(*args, **kwargs)
        except HandcalcError as e:
            raise click.ClickException(str(e)) from None
        except Stopped as e:
            click.echo(Stopped.WORDS.get(e.signum, "stopped"), err=True)
            sys.exit(128 + e.signum)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush of a full or closed
    stdout adds no second message."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


_NO_ARGS = getattr(click.exceptions, "NoArgsIsHelpError", None)


# The commands in the order of a teacher's week, each with an example for `handcalc --help`.
WEEK = (
    ("class", "handcalc class --roster class.csv -o week1"),
    ("generate", "handcalc generate --seed 2026 -o sheet.pdf"),
    ("key", "handcalc key --seed 2026 -o key.pdf"),
    ("answers", "handcalc answers --seed 2026 -o answers.json"),
    ("mark", "handcalc mark --manifest week1/manifest.json"),
    ("check", "handcalc check --manifest week1/manifest.json week1/*-answers.json"),
    ("solve", "handcalc solve --seed 2026"),
    ("problem", "handcalc problem --seed 2026 -o problem.json"),
    ("stress", "handcalc stress --draws 1000"),
)


class OneLineErrors(click.Group):
    """Every error, usage mistakes included, is one line on stderr and a non-zero exit.
    Its help lists the commands in the order of a teacher's week (WEEK), each with an
    example."""

    def list_commands(self, ctx) -> list[str]:
        known = [name for name, _ in WEEK if name in self.commands]
        return known + sorted(set(self.commands) - set(known))

    def format_commands(self, ctx, formatter) -> None:
        examples = dict(WEEK)
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            rows.append((name, command.get_short_help_str(limit=formatter.width - 12)))
            if name in examples:
                rows.append(("", f"e.g. {examples[name]}"))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
            if sys.stdout is not None:  # None when started with stdout closed (`>&-`)
                sys.stdout.flush()
        except click.UsageError as e:
            if _NO_ARGS is not None and isinstance(e, _NO_ARGS):  # bare `handcalc`: its help
                click.echo(e.ctx.get_help() if e.ctx else e.format_message())
                sys.exit(0)
            hint = f" Try '{e.ctx.command_path} --help'." if e.ctx else ""
            click.echo(_line(f"Error: {e.format_message()}{hint}"), err=True)
            sys.exit(e.exit_code)
        except click.ClickException as e:
            click.echo(_line(f"Error: {e.format_message()}"), err=True)
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except BrokenPipeError:  # `handcalc solve | head`: the reader has all it wants
            _quiet_stdout()
            sys.exit(1)
        except OSError as e:  # stdout on a full disk (or /dev/full)
            _quiet_stdout()
            click.echo(f"Error: cannot write the output: {e.strerror or e}", err=True)
            sys.exit(1)
        sys.exit(code or 0)


def _shown(path) -> str:
    from .files import shown

    return shown(path)


def _line(message: str) -> str:
    """An error as one line on stderr: printable, not too long (errors.one_line)."""
    from .errors import one_line

    return one_line(_shown(message))


def check_text(value: str | None, flag: str) -> str | None:
    """Text given on the command line must be UTF-8: a sheet cannot show other bytes."""
    if value is not None:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise OptionError(f"{flag} is not UTF-8 text; give it in UTF-8") from None
    return value


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="handcalc")
def main():
    """Self-attention by hand: worksheets, answer keys and a grader.

    The commands below come in the order of a teacher's week."""


@main.command()
@problem_options
@click.option("--json", "as_json", is_flag=True, help="Print the contract's JSON object.")
@friendly
def solve(as_json, **opts):
    """Work every step of one problem and print it."""
    from . import text
    from .solution import solve as solve_problem

    sol = solve_problem(resolve_problem(opts))
    if as_json:
        click.echo(json.dumps(sol.to_json(), ensure_ascii=False))
    else:
        click.echo(text.solution(sol), nl=False)


def json_output(what: str):
    """The -o option of the commands that write one JSON file."""
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False),
        required=True,
        help=f"Where to write the {what} (JSON).",
    )


def _write_json(output: str, data, problem) -> None:
    """Write `data` as JSON, or as given when it is already JSON text."""
    from .files import write_atomic

    text = data if isinstance(data, str) else json.dumps(data, indent=1) + "\n"
    write_atomic(output, text.encode())
    click.echo(f"wrote {_shown(output)}  (ID {problem.id})")


@main.command()
@problem_options
@json_output("problem file")
@friendly
def problem(output, **opts):
    """Save a problem's matrices as a problem file, for --from."""
    p = resolve_problem(opts)
    _write_json(output, p.file_json(), p)


# stress judges about 700 draws a second on one core: the most takes under 3 minutes, with a
# progress bar on a terminal; Ctrl-C stops it (exit 130) as any command.
MAX_DRAWS = 100_000


@main.command()
@problem_options
@click.option(
    "--draws",
    type=click.IntRange(1, MAX_DRAWS),
    help=f"How many random draws to test against the rules (default 2000, at most {MAX_DRAWS:,}).",
)
@friendly
def stress(draws, **opts):
    """How often each hand-friendly rule rejects a random draw, for these sizes; with --from
    or --id, which rules that one problem keeps and where it breaks the others."""
    from .draw import stress as run_stress

    draws_given = draws is not None

    if opts["source"] or opts["sheet_id"]:
        from .draw import problem_report

        if draws_given:
            raise OptionError("--draws is for drawn problems; --from and --id check one problem")
        opts_seed = opts["seed"]
        if opts_seed is not None:
            raise OptionError("give only one of --seed, --from and --id")
        click.echo("\n".join(problem_report(resolve_problem(opts, warn=False))))
        return
    given = _take(opts)
    draws = draws or 2000
    with _progress(draws, f"testing {draws} draws") as tick:
        report = run_stress(_spec(given), given["seed"] or 0, draws, progress=tick)
    click.echo("\n".join(report.lines()))


_FORMATS = ("html", "pdf")


def _output_format(output: str | None, fmt: str | None, fillable: bool = False) -> str:
    """The format asked for, else the one the output file's suffix names (PDF for a folder
    of split files); a fillable sheet must be a PDF."""
    fmt = _named_format(output, fmt)
    if fillable and fmt != "pdf":
        raise OptionError("--fillable makes PDF form fields; write a .pdf or use --format pdf")
    return fmt


def _named_format(output: str | None, fmt: str | None) -> str:
    if fmt:
        if fmt.lower() not in _FORMATS:
            raise OptionError(f"--format must be html or pdf, not {fmt!r}")
        return fmt.lower()
    if output is None:
        return "pdf"
    suffix = output.rsplit(".", 1)[-1].lower() if "." in output else ""
    if suffix in _FORMATS:
        return suffix
    raise OptionError(
        f"cannot tell the format of {_shown(output)}: use --format html|pdf or a .html/.pdf name"
    )


_MANIFEST_OPTION = click.option(
    "--manifest",
    type=click.Path(dir_okay=False),
    help="A class set: the class this manifest lists (by default, the manifest already in "
    "the output's folder when no --seed is given).",
)
_CLASS_OPTIONS = ("count", "roster", "split", "manifest")

# Options that mean the same wherever they appear (generate, key, answers, class), declared
# once so that their names, defaults and help cannot drift apart; `shared_options` picks them.
_SHARED = {
    "working": click.option(
        "--working/--no-working",
        default=True,
        show_default=True,
        help="The key's page of working: one dot product per product, the exact track beside.",
    ),
    "interactive": click.option(
        "--interactive",
        is_flag=True,
        help="A web page to fill in and check on screen, cell by cell (a class: one per "
        "student, NN-Name-screen.html); it prints as the blank sheet.",
    ),
    "exam": click.option(
        "--exam",
        is_flag=True,
        help="With --interactive: pages that only collect answers and save them (no checking, "
        "no hints, no key).",
    ),
    "fillable": click.option(
        "--fillable",
        is_flag=True,
        help="PDF form fields for every answer cell (a class: a form per student, NN-Name.pdf).",
    ),
    "marking_page": click.option(
        "--marking-page",
        is_flag=True,
        default=None,
        help="A class: also write mark.html beside the manifest, the page to mark the class's "
        "paper sheets on (see: handcalc mark).",
    ),
    "private": click.option(
        "--private",
        is_flag=True,
        help="A class: a short code per student in place of the sheet ID and seed, on every "
        "file; only the manifest maps codes to sheets.",
    ),
}


def shared_options(*names: str):
    """A decorator adding the shared options named, in that order."""

    def decorate(f):
        for name in reversed(names):
            f = _SHARED[name](f)
        return f

    return decorate


def sheet_options(f):
    """The options the sheet commands share: where to write, which format, paper and title."""
    opts = [
        click.option(
            "-o",
            "--output",
            type=click.Path(),
            help="Where to write the sheet, or a class set's booklet (.html or .pdf).",
        ),
        click.option(
            "--format",
            "fmt",
            metavar="[html|pdf]",
            help="html or pdf (default: from the output's suffix).",
        ),
        click.option(
            "--paper",
            type=click.Choice(["a4", "letter", "a3"]),
            default="a4",
            show_default=True,
            help="Paper size.",
        ),
        click.option("--title", help="Title printed at the top of the sheet."),
        click.option("--student", help="Name printed on the name line."),
        click.option(
            "--count",
            type=int,
            help="A class set: this many sheets, each a different problem from one --seed.",
        ),
        click.option(
            "--roster",
            type=click.Path(dir_okay=False),
            help="A class set: one sheet per name in this CSV file's 'name' column.",
        ),
        click.option(
            "--split",
            type=click.Path(file_okay=False),
            help="A class set: one file per student in this folder, instead of a booklet.",
        ),
        _MANIFEST_OPTION,
        click.option(
            "--workers",
            type=click.IntRange(1, 64),
            help="Processes rendering a class set's PDFs (default and most: one per core, "
            "and no more than the sheets).",
        ),
        _SHARED["private"],
        click.option(
            "--force",
            is_flag=True,
            help="A class set: replace filled --fillable forms in --split DIR, and a manifest "
            "in the folder that handcalc did not write or that lists another class.",
        ),
        _SHARED["marking_page"],
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _write_sheet(
    kind,
    output,
    fmt,
    paper,
    title,
    student,
    fillable,
    opts,
    interactive=False,
    working=True,
    exam=False,
):
    from .worksheet import check_name, check_title

    check_title(check_text(title, "--title"))
    check_name(check_text(student, "--student"))
    own = ("workers", "force", "private", "marking_page")
    class_opts = {k: opts.pop(k) for k in (*_CLASS_OPTIONS, *own)}
    if exam and not interactive:
        raise OptionError("--exam makes an --interactive page that only collects answers")
    _code_from_manifest(opts, class_opts)
    if any(class_opts[k] is not None for k in _CLASS_OPTIONS):
        kind = "interactive" if interactive else kind
        return _write_class(
            kind, output, fmt, paper, title, student, fillable, opts, working, exam=exam,
            **class_opts,
        )  # fmt: skip
    for flag in own:
        if class_opts[flag]:
            raise OptionError(f"--{flag.replace('_', '-')} is for class sets (--count or --roster)")
    if output is None:
        raise OptionError("Missing option '-o' / '--output'.")
    from . import worksheet
    from .files import check_target, write_atomic
    from .solution import solve as solve_problem

    check_target(output)
    fmt = _output_format(output, fmt, fillable)
    if interactive and fmt != "html":
        raise OptionError("--interactive makes a web page; write a .html or use --format html")
    problem = resolve_problem(opts)
    view = worksheet.build(
        solve_problem(problem),
        kind,
        paper=paper,
        title=title,
        student=student,
        fillable=fillable,
        interactive=interactive,
        working=working,
        exam=exam,
    )
    from . import render

    if view.fit_note:
        click.echo(view.fit_note, err=True)
    _note_slow_pdf(fmt)
    data = render.render_pdf(view) if fmt == "pdf" else render.render_html(view).encode()
    write_atomic(output, data)
    click.echo(f"wrote {_shown(output)}  (ID {view.sheet_id})")


def _code_from_manifest(opts: dict, class_opts: dict) -> None:
    """`--id CODE --manifest FILE` (no class options): the sheet the manifest gives that
    private code, for one sheet or key."""
    from .classset import code_key, read_manifest, sheet_of_code

    code = code_key(opts.get("sheet_id"))
    manifest = class_opts.get("manifest")
    if code is None or manifest is None:
        return
    if any(class_opts[k] is not None for k in ("count", "roster", "split")):
        raise OptionError("--id names one sheet; a class set takes its sheets from --manifest")
    opts["sheet_id"] = sheet_of_code(read_manifest(manifest), code, _shown(manifest))
    class_opts["manifest"] = None


@main.command()
@problem_options
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Where to write the answers file."
)
@click.option("--student", help="The name to fill in.")
@click.option("--count", type=int, help="A class: this many students, from one --seed.")
@click.option(
    "--roster",
    type=click.Path(dir_okay=False),
    help="A class: one file per name in this CSV file's 'name' column.",
)
@_MANIFEST_OPTION
@click.option(
    "--split",
    type=click.Path(file_okay=False),
    help="A class: one answers file per student in this folder.",
)
@click.option(
    "--force",
    is_flag=True,
    help="A class: replace answers files that hold typed work, and a manifest that is "
    "not this class's.",
)
@shared_options("private")
@friendly
def answers(output, student, force, private, **opts):
    """Write a blank answers file for a problem: every worked step as nulls, and its ID;
    for a class, one per student with the name filled in."""
    from .answers import blank, to_text
    from .solution import solve as solve_problem
    from .worksheet import check_name

    check_name(check_text(student, "--student"))
    class_opts = {k: opts.pop(k) for k in _CLASS_OPTIONS}
    if any(v is not None for v in class_opts.values()):
        if output is not None:
            raise OptionError("a class's answers files go one per student into --split DIR")
        class_opts.update(force=force, private=private)
        return _write_class(
            "answers",
            None,
            "json",
            "a4",
            None,
            student,
            False,
            opts,
            True,
            workers=None,
            **class_opts,
        )
    if force or private:
        flag = "--force" if force else "--private"
        raise OptionError(f"{flag} is for a class's answers files (--split DIR)")
    if output is None:
        raise OptionError("Missing option '-o' / '--output'.")
    p = resolve_problem(opts)
    solve_problem(p)  # refuse a sheet that could never be graded
    data = blank(p)
    if student is not None:
        data["student"] = " ".join(student.split()) or None
    _write_json(output, to_text(data), p)


@main.command()
@problem_options
@sheet_options
@shared_options("fillable", "interactive", "exam")
@friendly
def generate(output, fmt, paper, title, student, fillable, interactive, exam, **opts):
    """Write a blank worksheet (HTML or PDF)."""
    if fillable and interactive:
        raise OptionError("--fillable is for PDF sheets, --interactive for web pages; pick one")
    _write_sheet(
        "blank", output, fmt, paper, title, student, fillable, opts, interactive, exam=exam
    )


@main.command()
@problem_options
@sheet_options
@shared_options("working")
@friendly
def key(output, fmt, paper, title, student, working, **opts):
    """Write the answer key (HTML or PDF): every value, the working, the exact track."""
    _write_sheet("key", output, fmt, paper, title, student, False, opts, working=working)


CLASS_FILES = {"sheets": "sheets.pdf", "keys": "keys.pdf", "marking": "mark.html"}


@main.command("class")
@problem_options
@click.option(
    "-o",
    "--output",
    "folder",
    required=True,
    type=click.Path(file_okay=False),
    help="The class's folder: sheets.pdf, keys.pdf, one answers file per student and the "
    "manifest go here.",
)
@click.option("--count", type=int, help="This many students, each a different problem.")
@click.option(
    "--roster",
    type=click.Path(dir_okay=False),
    help="One student per name in this CSV file's 'name' column.",
)
@_MANIFEST_OPTION
@click.option(
    "--paper",
    type=click.Choice(["a4", "letter", "a3"]),
    default="a4",
    show_default=True,
    help="Paper size.",
)
@click.option("--title", help="Title printed at the top of every sheet.")
@shared_options("working", "interactive", "exam", "fillable", "marking_page", "private")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Processes rendering the PDFs (default and most: one per core).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace answers files and forms that hold typed work, and a manifest in the "
    "folder that handcalc did not write or that lists another class.",
)
@friendly
def class_(folder, count, roster, manifest, paper, title, working, interactive, exam,
           fillable, marking_page, private, workers, force, **opts):  # fmt: skip
    """Write a class's week: sheets, keys, answers files, manifest.

    Every student's blank sheet (sheets.pdf), key (keys.pdf) and blank answers file, and
    the manifest, each student a different problem from one --seed; all of them or none.

    Example: handcalc class --roster class.csv -o week1"""
    from .booklet import Output, write_class
    from .worksheet import check_title

    check_title(check_text(title, "--title"))
    given = _take(opts)
    for flag, k in (("--id", "sheet_id"), ("--from", "source")):
        if given[k] is not None:
            raise OptionError(f"a class draws a problem per student; drop {flag}")
    if exam and not interactive:
        raise OptionError("--exam makes the --interactive pages only collect answers")
    students, class_seed = _the_class(given, count, roster, manifest, (folder,), private)
    outputs = [
        Output("blank", "pdf", os.path.join(folder, CLASS_FILES["sheets"]), False),
        Output("key", "pdf", os.path.join(folder, CLASS_FILES["keys"]), False),
        Output("answers", "json", folder, True),
    ]
    if interactive:
        outputs.append(Output("interactive", "html", folder, True))
    if fillable:
        outputs.append(Output("blank", "pdf", folder, True, fillable=True, listed=False))
    marking = os.path.join(folder, CLASS_FILES["marking"]) if marking_page else None
    _note_slow_pdf("pdf")
    n = len(students)
    with _progress(n, f"rendering {n} students' sheets") as tick:
        written = write_class(
            students, class_seed, folder, outputs, paper=paper, title=title, working=working,
            workers=workers, progress=tick, force=force, exam=exam, marking_page=marking,
        )  # fmt: skip
    names = {"blank": "sheets", "key": "keys", "answers": "answers files",
             "interactive": "self-checking pages"}  # fmt: skip
    for o, w in zip(outputs, written):
        what = "forms" if o.fillable else names[o.kind]
        where = _shown(o.path) if not o.split else f"{len(w.files) - len(w.kept)} files"
        click.echo(f"wrote {where}  ({n} {what})")
        if w.kept:
            k = len(w.kept)
            click.echo(
                f"kept {k} filled {what} in {_shown(folder)} (different from the blank: a "
                "student's work); --force replaces them",
                err=True,
            )
    click.echo(f"wrote {_shown(written[0].manifest)}  (class seed {class_seed})")
    if marking is not None:
        click.echo(f"wrote {_shown(marking)}")


def _note_slow_pdf(fmt: str) -> None:
    """Say once, before rendering, when this machine makes PDFs the slow way."""
    if fmt == "pdf":
        from . import render

        note = render.slow_pdf_note()
        if note:
            click.echo(note, err=True)


@contextlib.contextmanager
def _progress(total: int, label: str):
    """A progress bar on a terminal's stderr; nothing at all when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update


def _class_folders(output: str | None, split: str | None) -> tuple[str, ...]:
    """Where a class's manifest may already be: beside the booklet, or in the split folder
    and the folder holding it."""
    if split is None:
        return (os.path.dirname(output) or ".",)
    return (split, os.path.dirname(os.path.normpath(split)) or ".")


def _the_class(given: dict, count, roster, manifest, folders, private) -> tuple[list, int]:
    """The students and class seed a class command writes (drawn, or a manifest's class),
    saying on stderr which it is."""
    from .classset import choose_class, with_codes

    spec_flags = [k for k in (*_SIZE_FLAGS, *_RULE_FLAGS) if given[k] is not None]
    chosen = choose_class(
        _spec(given),
        seed=given["seed"],
        count=count,
        roster=roster,
        manifest=manifest,
        folders=folders,
        spec_flag="--" + spec_flags[0].replace("_", "-") if spec_flags else None,
    )
    students, class_seed = chosen.students, chosen.class_seed
    if private:
        students = with_codes(class_seed, students)
    if chosen.drawn:
        click.echo(f"drew class seed {class_seed} (pass --seed {class_seed} to repeat)", err=True)
    elif chosen.manifest is not None:
        click.echo(f"the class of {chosen.manifest} (class seed {class_seed})", err=True)
    return students, class_seed


def _write_class(
    kind, output, fmt, paper, title, student, fillable, opts, working, exam=False, **class_opts
):
    """A class set: one different problem per student, drawn from one class seed."""
    from .booklet import write_class_set

    count, roster, split, workers = (class_opts[k] for k in ("count", "roster", "split", "workers"))
    manifest, force = class_opts["manifest"], class_opts.get("force", False)
    given = _take(opts)
    for flag, key in (("--id", "sheet_id"), ("--from", "source")):
        if given[key] is not None:
            raise OptionError(f"a class set draws a problem per student; drop {flag}")
    if student is not None:
        raise OptionError("a class set takes its names from --roster; drop --student")
    if kind in ("interactive", "answers") and split is None:
        what = "--interactive class sets" if kind == "interactive" else "a class's answers files"
        raise OptionError(f"{what} need --split DIR (one file per student)")
    if output is not None and split is not None:
        raise OptionError("give -o FILE for one booklet or --split DIR, not both")
    if output is None and split is None:
        raise OptionError("a class set needs -o FILE (one booklet) or --split DIR")
    if kind == "answers":
        fmt = "json"
    elif kind == "interactive":
        if _named_format(output, fmt or "html") != "html":
            raise OptionError("--interactive makes web pages; drop --format or use html")
        fmt = "html"
    else:
        fmt = _output_format(output, fmt, fillable)
    if fillable and split is None:  # write_class_set says so too, but only after the draw
        raise OptionError("--fillable class sets need --split DIR (one form file per student)")
    students, class_seed = _the_class(
        given, count, roster, manifest, _class_folders(output, split), class_opts.get("private")
    )
    what = {"key": "keys", "answers": "answers files", "interactive": "pages"}.get(kind, "sheets")
    _note_slow_pdf(fmt)
    with _progress(len(students), f"rendering {len(students)} {what}") as tick:
        written = write_class_set(
            students,
            kind,
            class_seed,
            output=output,
            split=split,
            fmt=fmt,
            paper=paper,
            title=title,
            fillable=fillable,
            working=working,
            workers=workers,
            progress=tick,
            force=force,
            exam=exam,
        )
    where = (
        _shown(output) if output is not None else f"{len(written.files)} files in {_shown(split)}"
    )
    if written.kept:
        n = len(written.files) - len(written.kept)
        where = f"{n} files in {_shown(split)}"
    click.echo(f"wrote {where}  ({len(students)} {what}, class seed {class_seed})")
    if written.kept:
        k = len(written.kept)
        one = k == 1
        click.echo(
            f"kept {k} filled file{'' if one else 's'} in {_shown(split)} (different from "
            f"the blank {'one' if one else 'ones'}: a student's work); "
            f"--force replaces {'it' if one else 'them'}",
            err=True,
        )
    click.echo(f"wrote {_shown(written.manifest)}")
    if class_opts.get("marking_page"):
        from . import marking

        click.echo(f"wrote {_shown(marking.write(written.manifest, paper=paper))}")


@main.command()
@problem_options
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False),
    help="Write a gradebook: one row per answers file.",
)
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False),
    help="Grade a class set: match the files to this manifest's students "
    "(the gradebook defaults to gradebook.csv beside it).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing gradebook instead of merging the new grades into it.",
)
@click.option(
    "--summary",
    is_flag=True,
    help="Only the summary table: a line per file with its score (with --json, a list).",
)
@click.option(
    "--places",
    type=click.IntRange(0, 6),
    default=2,
    show_default=True,
    help="Decimals a non-whole key below 1 needs (from 1 up: as many significant figures).",
)
@click.option(
    "--fixed-places",
    is_flag=True,
    help="A non-whole key needs --places decimals whatever its size.",
)
@click.option(
    "--weights",
    metavar="[light-copy|steps|cells][,NAME=W...]",
    help="What each step weighs: a preset (light-copy, the default: every step alike, copy "
    "steps such as KT a quarter; steps; cells: every cell alike) and/or NAME=W (KT=0.5).",
)
@click.option(
    "--accept",
    multiple=True,
    metavar="FILE:CELL=VALUE",
    help="Read a cell that needs review as VALUE (repeatable).",
)
@click.option(
    "--review",
    "review_path",
    type=click.Path(dir_okay=False),
    help='A review file: JSON {"FILE": {"CELL": "VALUE"}}, readings of cells that need review.',
)
@click.option(
    "--student",
    help="The student's name, for one answers file that has none (its gradebook row).",
)
@click.option(
    "--roster",
    type=click.Path(dir_okay=False),
    help="With --manifest: the class's roster; its other columns (email, student number, "
    "section...) go into the gradebook.",
)
@click.option(
    "--lms",
    type=click.Choice(["moodle", "canvas"]),
    multiple=True,
    help="With --manifest and --roster: also write a grade-import file for Moodle or Canvas "
    "beside the gradebook (GRADEBOOK-moodle.csv, GRADEBOOK-canvas.csv).",
)
@click.option(
    "--lms-item",
    default="Self-attention by hand",
    show_default=True,
    help="The grade item (Moodle) or assignment (Canvas) column's name in --lms files.",
)
@click.option(
    "--feedback",
    "feedback_dir",
    type=click.Path(file_okay=False),
    help="Write each graded student's feedback (HTML and PDF) into this folder.",
)
@click.option(
    "--class-report",
    type=click.Path(dir_okay=False),
    help="With --manifest: write the class report as this HTML file and a PDF beside it.",
)
@friendly
def check(
    files,
    as_json,
    csv_path,
    manifest,
    force,
    summary,
    places,
    fixed_places,
    weights,
    accept,
    review_path,
    student,
    roster,
    lms,
    lms_item,
    feedback_dir,
    class_report,
    **opts,
):
    """Grade answers files (JSON, or filled PDF sheets) cell by cell, with follow-through.

    The sheet comes from --seed, --from or --id, or else from each file's own ID, or
    with --manifest from the class set's manifest."""
    from . import grading, report
    from .answers import check_decisions, load, parse_accept, read_review

    files = _answers_only(files)
    preset, factors = grading.parse_weights(weights)
    marking = grading.Marking(places, preset, factors, relative=not fixed_places)
    decisions = read_review(review_path) if review_path else {}
    for name, cells in parse_accept(accept).items():
        decisions.setdefault(name, {}).update(cells)
    check_decisions(decisions, files)
    if manifest is not None:
        if student is not None:
            raise OptionError("--manifest names every student; drop --student")
        handback = dict(
            roster=roster, lms=lms, lms_item=lms_item, feedback=feedback_dir, report=class_report
        )
        return _check_class(
            manifest, files, as_json, csv_path, summary, opts, force, marking, decisions, handback
        )
    for flag, value in (("--roster", roster), ("--lms", lms), ("--class-report", class_report)):
        if value:
            raise OptionError(f"{flag} is for a class: give --manifest")
    if not files:
        raise OptionError("give the answers files to check (JSON, or filled PDF sheets)")
    if student is not None and len(files) != 1:
        raise OptionError('--student names one file\'s student; for several, add "student" to each')
    student = _student_name(student)

    named = any(opts[k] is not None for k in ("seed", "source", "sheet_id"))
    if not named and any(opts[k] is not None for k in (*_SIZE_FLAGS, *_RULE_FLAGS)):
        raise OptionError("check needs --seed, --from or --id with size or rule options")
    if csv_path:
        report.check_gradebook(csv_path, force)
    fixed = resolve_problem(opts) if named else None
    solved: dict = {}
    rows, failed = [], 0
    for path in files:
        sub = None
        try:
            sub = _named(load(path), student)
            if fixed is None:
                _refuse_code(sub.sheet_id, f"{sub.source}: ")
            sub = _decided(sub, path, decisions)
            rows.append(grading.check(sub, fixed, solved, marking))
        except HandcalcError as e:
            if len(files) == 1 and not csv_path:
                raise
            click.echo(_line(f"Error: {e}"), err=True)
            who = (sub.student, sub.sheet_id) if sub else (None, None)
            rows.append(report.Failed(_shown(path), str(e), *who))
            failed += 1
    reports = [r for r in rows if isinstance(r, grading.Report)]
    _show(rows, reports, as_json, summary, one=len(files) == 1)
    outputs = _handback_files(rows, None, csv_path or "", {"feedback": feedback_dir})
    if csv_path:
        book = report.write_gradebook(csv_path, rows, force)
        failed += _book_notes(book)
        graded = len(reports) - len(book.refused)
        click.echo(f"wrote {_shown(csv_path)}  ({graded} graded, {failed} failed)", err=True)
    _write_handback(outputs)
    if failed:
        sys.exit(1)


@main.command()
@click.option(
    "--manifest",
    required=True,
    type=click.Path(dir_okay=False),
    help="The class set's manifest.json: the students to mark, in roster order.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Where to write the page (default: mark.html beside the manifest).",
)
@click.option(
    "--paper",
    type=click.Choice(["a4", "letter", "a3"]),
    default="a4",
    show_default=True,
    help="The paper the sheets were printed on: the page is laid out like it.",
)
@click.option("--title", help="Title at the top of the page.")
@friendly
def mark(manifest, output, paper, title):
    """Write the marking page: one offline web page to mark the class's paper sheets.

    Every box shows what the chosen student should have written (the key, or what their own
    earlier boxes lead to); type only where the paper differs, then Export marks and grade
    the file with check --manifest."""
    from . import marking

    title = check_text(title, "--title")
    click.echo(f"wrote {_shown(marking.write(manifest, output, paper, title))}")


def _decided(answers, path, decisions):
    """An answers file with the teacher's readings of its cells that need review."""
    import dataclasses

    from .answers import decisions_for

    mine = decisions_for(decisions, path)
    return dataclasses.replace(answers, decided=mine) if mine else answers


def _student_name(name: str | None) -> str | None:
    from .worksheet import check_name

    check_name(check_text(name, "--student"))
    return " ".join(name.split()) or None if name is not None else None


def _named(sub, student: str | None):
    """The answers with check's --student as the name, when the file gives none."""
    import dataclasses

    if student is None or sub.student is None:
        return sub if student is None else dataclasses.replace(sub, student=student)
    if " ".join(sub.student.split()).casefold() != student.casefold():
        raise OptionError(f"{sub.source} names {sub.student!r}; drop --student")
    return sub


def _book_notes(book) -> int:
    """Say what the gradebook merge kept unread and refused; the number refused."""
    for note in book.notes:
        click.echo(_line(note), err=True)
    for f in book.refused:
        click.echo(_line(f"Error: {f.error}"), err=True)
    return len(book.refused)


def _answers_only(files) -> list:
    """The files to grade: a class's own manifest and gradebook, caught up in `folder/*`,
    are passed over with a note."""
    from .classset import class_file

    kept = []
    for path in files:
        what = class_file(path)
        if what is None:
            kept.append(path)
        else:
            click.echo(f"skipped {path} (the class's {what}, not answers)", err=True)
    return kept


def _show(rows, reports, as_json: bool, summary: bool, one: bool) -> None:
    """check's output: every report in full (text, or JSON: one object for one file, else a
    list), then for several files the summary table (on stderr with --json, so that stdout
    stays JSON); with --summary, the table alone."""
    from . import report

    if summary:
        if as_json:
            click.echo(json.dumps(report.summary_rows(rows), ensure_ascii=False))
        else:
            click.echo(report.summary(rows), nl=False)
        return
    if as_json:
        objs = [report.to_json(r) for r in reports]
        click.echo(json.dumps(objs[0] if one else objs, ensure_ascii=False))
    else:
        # the rule and the marking are the run's, said once after every report
        many = len(reports) > 1
        texts = [report.to_text(r, rules=not many) for r in reports]
        if many:
            texts.append("\n".join(report.rules_text(reports[0])) + "\n")
        click.echo("\n".join(texts), nl=False)
    if not one:
        click.echo(("" if as_json else "\n") + report.summary(rows), nl=False, err=as_json)


def _check_class(
    manifest,
    files,
    as_json,
    csv_path,
    summary,
    opts,
    force=False,
    marking=None,
    decisions=None,
    handback=None,
):
    """check --manifest: one gradebook row per student of a class set; with `handback`, the
    roster's columns, grade-import files, feedback files and the class report."""
    from . import report
    from .classgrade import NOTHING_HANDED_IN, grade_class

    handback = handback or {}
    if handback.get("lms") and not handback.get("roster"):
        raise OptionError("--lms matches students by the roster's email or number: give --roster")

    given = [k for k, v in opts.items() if v is not None]
    if given:
        flag = _flag(given[0], opts[given[0]])
        raise OptionError(f"--manifest names each student's sheet; drop {flag}")
    if csv_path is None:
        csv_path = os.path.join(os.path.dirname(manifest), "gradebook.csv")
    report.check_gradebook(csv_path, force)
    rows, errors, missing = grade_class(manifest, files, marking, decisions)
    roster = _roster_columns(handback.get("roster"), rows)
    outputs = _handback_files(rows, roster, csv_path, handback)
    reports = [r for r in rows if not isinstance(r, tuple)]
    for e in errors:
        click.echo(_line(f"Error: {e}"), err=True)
    for name in missing:
        click.echo(_line(f"no answers from {name}"), err=True)
    if as_json:
        shown = reports
    else:  # a student who handed nothing in has a line in the table, not a blank report
        shown = [r for r in reports if r.answers.source != NOTHING_HANDED_IN]
    _show(rows, shown, as_json, summary, one=False)
    book = report.write_gradebook(csv_path, rows, force, NOTHING_HANDED_IN, roster)
    refused = _book_notes(book)
    click.echo(
        f"wrote {_shown(csv_path)}  ({len(reports) - refused} graded, {len(missing)} missing, "
        f"{len(errors) + refused} failed)",
        err=True,
    )
    _write_handback(outputs)
    if errors or refused:
        sys.exit(1)


def _roster_columns(path, rows):
    """The roster's other columns for the gradebook, each student of the class found on it."""
    if path is None:
        return None
    from .classset import read_roster_table
    from .report import MISTAKE_COLUMNS, RosterColumns, _name_key

    columns, students = read_roster_table(path)
    names = {n for r in rows for n in getattr(r, "steps", {})}
    ours = {"student", "id", "file", "percent", "review", "status", "error", *MISTAKE_COLUMNS}
    renamed = {c: f"roster {c}" if c.lower() in ours or c in names else c for c in columns}
    by_name: dict = {}
    for name, values in students:
        by_name.setdefault(_name_key(name), {renamed[c]: v for c, v in values.items()})
    for r in rows:
        who = r.answers.student if hasattr(r, "answers") else getattr(r, "student", None)
        if who and _name_key(who) not in by_name and not hasattr(r, "error"):
            raise OptionError(f"roster {_shown(path)} has no line for {who}")
    return RosterColumns(tuple(renamed[c] for c in columns), by_name)


def _handback_files(rows, roster, csv_path, handback) -> list:
    """Every file to hand back, rendered before any is written: [(path, bytes)], and notes."""
    from . import lms

    out = []
    stem = os.path.splitext(csv_path)[0]
    for system in handback.get("lms") or ():
        data, left_out = lms.import_file(system, rows, roster, handback["lms_item"])
        note = f"; left out: {', '.join(left_out)}" if left_out else ""
        out.append((f"{stem}-{system}.csv", data, note))
    if handback.get("feedback"):
        from .feedback import feedback_files

        folder = handback["feedback"]
        for name, data in feedback_files(rows):
            out.append((os.path.join(folder, name), data, ""))
    if handback.get("report"):
        from .classreport import report_files

        for path, data in report_files(rows, handback["report"]):
            out.append((path, data, ""))
    return out


def _write_handback(outputs) -> None:
    """Write the hand-back files all together, or none of them."""
    if not outputs:
        return
    from .files import Staging

    with Staging() as out:  # committed on leaving; an error anywhere writes none
        for path, data, _ in outputs:
            if os.path.dirname(path):
                out.folder(os.path.dirname(path))
            out.write(path, data)
    for path, _, note in outputs:
        click.echo(_line(f"wrote {_shown(path)}{note}"), err=True)
