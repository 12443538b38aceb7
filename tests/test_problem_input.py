"""Problem files, sheet IDs and options: good input works, bad input gets one clear line."""

from __future__ import annotations

import json

import pytest

from handcalc.errors import ProblemFileError
from handcalc.problem import Spec, decode_id, from_matrices

from .test_hand_worked import GIVEN


def write(tmp_path, data, name="p.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def assert_one_line_error(result, *needles):
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1, result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_solve_from_file_matches_the_hand_example(cli, tmp_path):
    out = cli("solve", "--from", write(tmp_path, GIVEN), "--json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["steps"]["Z"] == [["6/5", "14/13", "32/31"], ["3/5", "11/13", "29/31"]]
    assert data["seed"] is None


@pytest.mark.parametrize(
    "data, needle",
    [
        ({**GIVEN, "X": [[1, 0, 1], [0, 1]]}, "ragged"),
        ({**GIVEN, "WQ": [[1, 0, 0.5, 0], [0, 1, 0, 1]]}, "integers"),
        ({**GIVEN, "WQ": [[1, 0, "1", 0], [0, 1, 0, 1]]}, "integers"),
        ({**GIVEN, "WK": [[1, 0, 1], [0, 1, 0]]}, "WK is 2×3 but must be 2×4"),
        ({**GIVEN, "WV": [[1, 0, 1, 0]] * 2 + [[0, 0, 0]]}, "ragged"),
        ({k: v for k, v in GIVEN.items() if k != "WK"}, "no WK"),
        ({**GIVEN, "X": [[1] * 40] * 4}, "X is 4×40: 40 tokens, but a typed problem has 1 to 16"),
        ({**GIVEN, "X": [[1, 0, 1]] * 17}, "X is 17×3: 17 features per token (d_in)"),
        ({**GIVEN, "X": [[1000, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 1]]}, "±60"),
        ({**GIVEN, "Y": [[1]]}, "unexpected matrix Y"),
        ([[1, 2]], "JSON object"),
        ({**GIVEN, "X": "abc"}, "rows"),
        ({**GIVEN, "X": []}, "rows"),
    ],
)
def test_bad_problem_files(cli, tmp_path, data, needle):
    assert_one_line_error(cli("solve", "--from", write(tmp_path, data)), needle)


def test_unreadable_problem_files(cli, tmp_path):
    assert_one_line_error(cli("solve", "--from", write(tmp_path, "{oops")), "not valid JSON")
    assert_one_line_error(cli("solve", "--from", tmp_path / "missing.json"), "cannot read")
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert_one_line_error(cli("solve", "--from", binary), "UTF-8")


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--tokens", "0"], "--tokens must be a whole number from 1 to 10"),
        (["--tokens", "500"], "--tokens"),
        (["--d-k", "-3"], "--d-k"),
        (["--heads", "9"], "--heads"),
        (["--x-range", "3:1"], "empty"),
        (["--w-range", "a:b"], "LO:HI"),
        (["--w-range", "-50:50"], "too wide"),
        (["--seed", "1", "--id", "ABCDE"], "only one of"),
        (["--id", "ZZZZZ-ZZZZZ"], "does not check out"),
        (["--id", "hello world!"], "not a handcalc sheet ID"),
        (["--seed", "-4"], "--seed"),
    ],
)
def test_bad_options(cli, args, needle):
    assert_one_line_error(cli("solve", *args), needle)


def test_id_fixes_sizes_and_rules(cli):
    sheet_id = json.loads(cli("solve", "--seed", "3", "--json").output)["id"]
    assert_one_line_error(cli("solve", "--id", sheet_id, "--tokens", "3"), "drop --tokens")
    assert_one_line_error(cli("solve", "--id", sheet_id, "--causal"), "drop --causal")


def test_id_round_trips_on_the_command_line(cli):
    first = json.loads(cli("solve", "--seed", "11", "--causal", "--json").output)
    again = json.loads(cli("solve", "--id", first["id"], "--json").output)
    assert again["problem"] == first["problem"]
    assert again["steps"] == first["steps"]
    assert again["exact"] == first["exact"]
    # lower case, spaces and O-for-0 typos are forgiven; a changed character is not
    loose = first["id"].lower().replace("-", " ").replace("0", "o")
    assert json.loads(cli("solve", "--id", loose, "--json").output)["problem"] == first["problem"]


def test_id_detects_a_changed_character():
    sol_id = from_matrices(GIVEN).id
    for i, ch in enumerate(sol_id):
        if ch == "-":
            continue
        typo = sol_id[:i] + ("7" if ch != "7" else "8") + sol_id[i + 1 :]
        with pytest.raises(ProblemFileError):
            decode_id(typo)


def test_id_encodes_rules_and_sizes():
    for spec in (Spec(causal=True), Spec(convention="rows"), Spec(rounding="zero")):
        given = (
            GIVEN
            if spec.convention == "columns"
            else {k: [list(r) for r in zip(*m)] for k, m in GIVEN.items()}
        )
        p = from_matrices(given, spec)
        back = decode_id(p.id)
        assert (back.spec.causal, back.spec.convention, back.spec.rounding) == (
            spec.causal,
            spec.convention,
            spec.rounding,
        )
        assert back.given == p.given


def test_drawn_seed_is_reported_and_repeatable(cli):
    out = cli("solve", "--json")
    assert out.exit_code == 0
    seed = json.loads(out.stdout)["seed"]
    assert f"drew seed {seed}" in out.stderr
    again = json.loads(cli("solve", "--seed", seed, "--json").stdout)
    assert again["problem"] == json.loads(out.stdout)["problem"]


def test_problem_command_saves_a_file_that_solves_the_same(cli, tmp_path):
    path = tmp_path / "saved.json"
    assert cli("problem", "--seed", "5", "-o", path).exit_code == 0
    by_seed = json.loads(cli("solve", "--seed", "5", "--json").output)
    by_file = json.loads(cli("solve", "--from", path, "--json").output)
    assert by_file["steps"] == by_seed["steps"]
    assert by_file["id"] == by_seed["id"]


def test_unwritable_output_leaves_nothing(cli, tmp_path):
    assert_one_line_error(
        cli("problem", "--seed", "5", "-o", tmp_path / "no" / "p.json"), "cannot write"
    )
    assert_one_line_error(cli("problem", "--seed", "5", "-o", tmp_path), "is a directory")
    assert list(tmp_path.iterdir()) == []


def test_stress_reports_every_rule(cli):
    out = cli("stress", "--draws", "200", "--seed", "1")
    assert out.exit_code == 0
    from handcalc.draw import BLOCK_RULES, RULES

    for rule in RULES:
        assert (rule.name in out.output) == (rule.name not in BLOCK_RULES)
    assert "200 draws" in out.output
    block = cli("stress", "--draws", "50", "--seed", "1", "--block")
    assert all(rule.name in block.output for rule in RULES)


@pytest.mark.parametrize("command", ["solve", "key", "answers", "check"])
def test_a_legal_file_too_big_to_work_is_refused_in_one_line(cli, tmp_path, command):
    """Entries of 5 are legal, but they make scaled scores of 50 and more: 3^50 is no hand
    work, and e^x of such scores once overflowed the exact track with a traceback."""
    big = {
        "X": [[5, -5], [5, 5]],
        "WQ": [[5, 5], [5, 5]],
        "WK": [[5, 5], [5, 5]],
        "WV": [[1, 0], [0, 1]],
    }
    source = write(tmp_path, big)
    args = {
        "solve": [],
        "key": ["-o", tmp_path / "k.pdf"],
        "answers": ["-o", tmp_path / "a.json"],
        "check": [write(tmp_path, {"Q": [[1, 2], [3, 4]]}, "answers.json")],
    }[command]
    assert_one_line_error(cli(command, "--from", source, *args), "beyond ±60")
    assert not (tmp_path / "k.pdf").exists() and not (tmp_path / "a.json").exists()


def test_output_never_destroys_a_pipe_and_writes_through_a_symlink(cli, tmp_path):
    import os

    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    assert_one_line_error(cli("problem", "--seed", "5", "-o", pipe), "not a regular file")
    assert pipe.is_fifo()
    target, link = tmp_path / "target.json", tmp_path / "link.json"
    target.write_text("old")
    link.symlink_to(target)
    assert cli("problem", "--seed", "5", "-o", link).exit_code == 0
    assert link.is_symlink() and json.loads(target.read_text())["X"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "pipe.json", "target.json"]
