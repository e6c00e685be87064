"""`python -m engine gradcheck` and `sanity` (engine/debugging/cli.py): the per-tensor table and its exit code,
the planted-bug line before any number, and bad input named with exit code 2."""

from __future__ import annotations

from engine.cli import main

SMALL = ["--set", "hidden=6,5", "--set", "samples=100"]


def test_gradcheck_prints_every_tensor_and_exits_0_when_all_is_right(capsys):
    assert main(["gradcheck", *SMALL]) == 0
    out = capsys.readouterr().out
    assert "Planted bug" not in out and "No tensor checks wrong." in out
    for tensor in ("h1.weight", "h2.weight", "out.weight", "h1.bias", "h2.bias", "out.bias"):
        line = next(line for line in out.splitlines() if line.strip().startswith(tensor + " "))
        assert line.rstrip().endswith("right"), line


def test_gradcheck_names_the_wrong_tensors_and_exits_1(capsys):
    assert main(["gradcheck", *SMALL, "--set", "bug=weight_grad_scale"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("*** Planted bug in run a: bug=weight_grad_scale.")
    wrong = [line.split()[0] for line in out.splitlines() if line.rstrip().endswith(" wrong")]
    assert wrong == ["h1.weight", "h2.weight", "out.weight"]
    assert "a:h1.weight (fast)" in out and "a:out.weight (autograd)" in out


def test_gradcheck_in_float32_shows_the_false_alarm(capsys):
    assert main(["gradcheck", *SMALL, "--dtype", "float32"]) == 1
    assert "Gradient check in float32" in capsys.readouterr().out


def test_sanity_prints_the_three_checks_and_exits_1_on_a_finding(capsys):
    quick = ["--overfit-steps", "200", "--validation-steps", "300"]
    digits = ["--set", "dataset=digits", "--set", "hidden=32", "--set", "optimizer=adam", "--set", "lr=0.01"]
    assert main(["sanity", *digits, *quick]) == 0
    out = capsys.readouterr().out
    assert "initial loss" in out and "overfit 20" in out and "validation" in out and "No findings." in out
    assert main(["sanity", *digits, *quick, "--set", "bug=softmax_twice"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("*** Planted bug") and "overfit loss_floor" in out


def test_run_says_a_bug_is_planted_before_anything_else(capsys, tmp_path):
    assert main(["run", *SMALL, "--set", "b.bug=slope", "--steps", "3", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("*** Planted bug in run b: bug=slope.")


def test_bad_input_names_the_option_or_key_and_exits_2(capsys):
    assert main(["gradcheck", "--h", "0", "--set", "bug=typo"]) == 2
    err = capsys.readouterr().err
    assert "--h: got 0.0" in err and "bug: got 'typo'" in err and "slope" in err
    assert main(["sanity", "--overfit", "0"]) == 2
    assert "--overfit: got 0" in capsys.readouterr().err
