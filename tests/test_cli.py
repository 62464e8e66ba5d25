"""The command line: --json keys, one-line errors with exit status 2, `reproduce table`."""
import json
import subprocess
import sys
import time

import pytest

from adamlab.cli import main
from adamlab.optim import list_optimizers

TINY = ["--d", "60", "--n", "12", "--s", "6", "--n-test", "50", "--width", "3", "--epochs", "4"]


def test_train_json(capsys):
    assert main(["train", *TINY, "--batch-size", "3", "--optimizer", "adamw", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-1])
    for key in ("train_error", "test_error", "feature_learning", "noise_memorisation", "steps",
                "seconds", "status", "config"):
        assert key in result
    assert result["steps"] == 16 and result["status"] == "ok"
    assert result["config"]["optimizer"] == "adamw" and result["config"]["weight_decay"] == 0.01


def test_kernel_compile_time_is_kept_out_of_seconds(tmp_path, capsys, monkeypatch):
    """The first kernel call (numba's compile: ~4 s on a fresh install) is `compile_seconds`
    in the --json result and meta.json, not part of the steps' `seconds`."""
    from adamlab.synthetic.engines import fast

    compile_s, real, calls = 1.0, fast.run_steps, []

    def compiles_first(*args):  # a stand-in for numba compiling on the first call
        if not calls:
            time.sleep(compile_s)
        calls.append(len(args[3]))  # batches run in this call
        return real(*args)

    monkeypatch.setattr(fast, "run_steps", compiles_first)
    assert main(["train", *TINY, "--json", "--out", str(tmp_path)]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert calls[0] == 0 and sum(calls) == result["steps"]  # the compile call steps nothing
    assert result["compile_seconds"] >= compile_s and result["seconds"] < compile_s / 2
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["compile_seconds"] == result["compile_seconds"]
    assert meta["wall_seconds"] >= compile_s + result["seconds"]  # wall time still counts it


def test_every_config_field_has_a_flag(capsys):
    from adamlab.synthetic.config import SyntheticConfig
    from adamlab.core.fields import field_help

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for name, (_, meta) in field_help(SyntheticConfig).items():
        assert ("--" + name.replace("_", "-") in text) == meta["cli"], name
    assert "--no-bias-correction" in text and "--nesterov" in text
    assert "--custom-optimizer" not in text  # set by adamlab.train(config, optimizer=...) only


def test_flags_reach_the_config(capsys):
    args = [*TINY, "--batch-size", "4", "--no-bias-correction", "--sampler", "cyclic",
            "--beta1", "0.5", "--beta2", "0.9", "--eps", "1e-6", "--lr", "1e-3", "--seed", "3",
            "--sigma-p", "0.2", "--alpha", "0.1", "--sigma0", "0.02", "--power", "4",
            "--log-every", "2", "--weight-decay", "0.1", "--activation", "smooth-relu",
            "--rho", "0.05", "--json"]
    assert main(["train", *args]) == 0
    cfg = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["config"]
    assert cfg["bias_correction"] is False and cfg["sampler"] == "cyclic"
    assert (cfg["beta1"], cfg["beta2"], cfg["eps"], cfg["lr"]) == (0.5, 0.9, 1e-6, 1e-3)
    assert (cfg["seed"], cfg["sigma_p"], cfg["alpha"], cfg["sigma0"]) == (3, 0.2, 0.1, 0.02)
    assert (cfg["power"], cfg["log_every"], cfg["weight_decay"]) == (4.0, 2, 0.1)
    assert (cfg["activation"], cfg["rho"]) == ("smooth-relu", 0.05)


@pytest.mark.parametrize("args, message", [
    (["--batch-size", "0"], "batch_size: must be in [1, n=200], got 0"),
    (["--batch-size", "201"], "batch_size: must be in [1, n=200], got 201"),
    (["--s", "1000"], "s: must be in [1, d-1=999]"),
    (["--sigma-p", "-0.1"], "sigma_p: must be >= 0.0, got -0.1"),
    (["--optimizer", "adamax2"], "optimizer: must be one of " + ", ".join(list_optimizers())),
    (["--schedule", "linear"], "schedule: must be one of constant, cosine, step, got 'linear'"),
    (["--schedule", "step"], "step_epochs: schedule 'step' needs the epochs between two decays"),
    (["--warmup-epochs", "20000"], "warmup_epochs: must be in [0, epochs=10000], got 20000"),
    (["--clip-norm", "0"], "clip_norm: must be > 0.0, got 0.0"),
    (["--nesterov"], "nesterov: adam has no Nesterov option"),
    (["--optimizer", "sgd", "--nesterov"], "nesterov: needs momentum > 0"),
    (["--lr", "0"], "lr: must be > 0.0, got 0.0"),
    (["--lr", "fast"], "lr: must be a number, got 'fast'"),
    (["--epochs", "2.5"], "epochs: must be an integer >= 1, got 2.5"),
    (["--sampler", "random"], "sampler: must be one of shuffle, cyclic"),
    (["--activation", "tanh"],
     "activation: must be one of relu-power, relu, gelu, smooth-relu, got 'tanh'"),
    (["--rho", "-1"], "rho: must be > 0.0, got -1.0"),
    (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, args, message):
    assert main(["train", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("adamlab: error: ") and message in err


def test_console_script_exit_status():
    proc = subprocess.run([sys.executable, "-m", "adamlab.cli", "train", "--batch-size", "0"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "batch_size" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("extra, shown", [([], True), (["--json"], False),
                                          (["--json", "--progress"], True)])
def test_progress_bar_on_stderr(capsys, monkeypatch, extra, shown):
    import adamlab.synthetic.train as tr

    monkeypatch.setattr(tr, "PROGRESS_DELAY_S", 0.0)  # as if the run were long
    assert main(["train", *TINY, "--batch-size", "3", *extra]) == 0
    err = capsys.readouterr().err
    assert ("step" in err and "B=3 seed=0" in err) == shown


def test_module_entry_point_gives_one_line_errors_from_commands():
    proc = subprocess.run([sys.executable, "-m", "adamlab.cli", "reproduce", "nonsense"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("adamlab: error: items: unknown item 'nonsense'")


def test_output_into_a_closed_pipe_is_not_a_traceback():
    proc = subprocess.run(f"{sys.executable} -m adamlab.cli train --help | head -1", shell=True,
                          capture_output=True, text=True)
    assert proc.stdout.startswith("usage: adamlab train") and "Traceback" not in proc.stderr
    # a command's own output (not argparse's): theory prints ~25 lines into a pipe closed after 1
    proc = subprocess.run(f"{sys.executable} -m adamlab.cli theory --batch-size 100 | head -1",
                          shell=True, capture_output=True, text=True)
    assert proc.stdout.startswith("optimizer adam") and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["train", "--threads", "0"], "threads: must be an integer >= 1, got 0"),
    (["train", *TINY, "--out", "{file}"], "exists and is not a folder"),
    (["train", *TINY, "--out", "{file}/sub"], "Not a directory"),
    (["reproduce", "table", "--quick", "--out", "{file}"], "File exists"),
])
def test_bad_paths_and_threads_are_one_line_errors(tmp_path, capsys, args, message):
    target = tmp_path / "a-file"
    target.write_text("not a folder")
    assert main([a.replace("{file}", str(target)) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("adamlab: error: ") and message in err and err.count("\n") == 1
