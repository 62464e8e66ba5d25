"""A synthetic run saved after N epochs and continued to 2N equals the run trained for 2N epochs
at once, bit for bit (weights, optimiser state, summary, metrics after the start), on the fast
engine (float64 and float32), the reference engine and the batched engine; what cannot continue
exactly is refused with one line; states round-trip through state.npz, the results store and the
command line."""
import json
import zipfile

import numpy as np
import pytest
import torch

from adamlab import ConfigError, SyntheticConfig, train
from adamlab.cli import main
from adamlab.core.state import StateError, read_state, write_state
from adamlab.sweep.store import Store
from adamlab.synthetic.sampler import BatchSampler

# Tiny but moving: after 50 epochs Adam's weights and losses are still changing (train loss
# 5e-3 at 50 epochs, 1e-3 at 100), so a wrong continuation shows in every number.
BASE = SyntheticConfig(d=100, n=20, s=10, width=5, n_test=200, sigma0=0.05, lr=3e-3,
                       weight_decay=1e-3, log_every=10, epochs=100)
HALF = 50

CASES = {
    "adam": {},
    "adamw": {"optimizer": "adamw", "weight_decay": 0.05},
    "signsgd": {"optimizer": "signsgd"},
    "sgd-momentum": {"optimizer": "sgd", "lr": 0.5, "momentum": 0.9},
    "adam-float32": {"dtype": "float32"},
    "adam-reference": {"engine": "reference"},
    "adam-batched": {"engine": "batched"},
    # a warm-up fits in its run (warmup_epochs <= epochs), so it ends at the split at the latest
    "adam-warmup": {"warmup_epochs": 50},
    "adamw-step-schedule": {"optimizer": "adamw", "weight_decay": 0.05, "schedule": "step",
                            "step_epochs": 30},   # a decay at epoch 30, 60 and 90
    "adam-cyclic-b5": {"sampler": "cyclic", "batch_size": 5},
}


def _runs(cfg, half=HALF):
    """(uninterrupted run, first half, its continuation), all keeping their final state."""
    full = train(cfg, save_state=True)
    first = train(cfg.replace(epochs=half), save_state=True)
    cont = train(cfg, start_from=first.state, save_state=True)
    return full, first, cont


def _assert_same_state(a, b):
    assert a.step == b.step and a.epochs == b.epochs and a.run_id == b.run_id
    assert a.weights.dtype == b.weights.dtype and a.weights.shape == b.weights.shape
    assert np.array_equal(a.weights, b.weights)  # exact, not close
    assert a.optimizer.keys() == b.optimizer.keys()
    for k in a.optimizer:
        assert np.array_equal(a.optimizer[k], b.optimizer[k]), k
    assert a.sampler.keys() == b.sampler.keys()
    for k in a.sampler:  # arrays (shuffle-carry's carried examples) compared exactly
        assert np.array_equal(a.sampler[k], b.sampler[k]) if isinstance(a.sampler[k], np.ndarray) \
            else a.sampler[k] == b.sampler[k], k


def test_the_carry_sampler_continues_bit_for_bit():
    """shuffle-carry holds examples drawn but not yet batched: they travel in the state."""
    cfg = BASE.replace(sampler="shuffle-carry", batch_size=3)
    full, first, cont = _runs(cfg)
    assert len(first.state.sampler["carry"]) > 0  # the split falls inside a pass
    _assert_same_state(cont.state, full.state)
    assert cont.summary == full.summary
    assert cont.steps == full.steps == cfg.total_steps
    assert cont.metrics == [row for row in full.metrics if row[0] > first.steps]


@pytest.mark.parametrize("case", CASES)
def test_two_halves_equal_the_whole_run_bit_for_bit(case):
    cfg = BASE.replace(**CASES[case])
    full, first, cont = _runs(cfg)
    assert full.status == first.status == cont.status == "ok"
    # the second half did real work: the weights moved after the start epoch
    assert not np.allclose(first.state.weights, full.state.weights)
    _assert_same_state(cont.state, full.state)
    assert cont.summary == full.summary
    after = [row for row in full.metrics if row[1] > HALF]
    assert sorted({row[1] for row in after}) == [60, 70, 80, 90, 100]
    assert cont.metrics == after
    assert cont.run_id == full.run_id == cfg.run_id() != first.run_id
    assert cont.steps == full.steps == cfg.total_steps and cont.epochs == cfg.epochs
    assert cont.meta["continued_from"] == {"run_id": first.run_id, "epochs": HALF}
    assert "continued_from" not in full.meta


def test_the_sampler_state_matters():
    """Continuing with the sampler's generator at its start gives other batches, other weights:
    the bit-for-bit test above would catch a continuation that forgot it."""
    full, first, _ = _runs(BASE)
    fresh = BatchSampler(BASE.n, BASE.batch_size, BASE.sampler, BASE.seed).state()
    first.state.sampler = fresh
    cont = train(BASE, start_from=first.state, save_state=True)
    assert not np.array_equal(cont.state.weights, full.state.weights)


def test_every_engine_saves_the_same_layout():
    states = {e: train(BASE.replace(epochs=3, engine=e), save_state=True).state
              for e in ("fast", "reference", "batched")}
    ref = states["reference"]
    assert ref.weights.shape == (2, BASE.width, BASE.d) and set(ref.optimizer) == {"m", "v"}
    for st in states.values():
        assert st.step == 3 * BASE.steps_per_epoch and st.epochs == 3
        assert set(st.optimizer) == set(ref.optimizer)
        assert all(st.optimizer[k].shape == ref.optimizer[k].shape for k in ref.optimizer)
        np.testing.assert_allclose(st.weights, ref.weights, rtol=1e-9, atol=1e-12)


def test_nadam_keeps_its_scalar_state():
    """NAdam's running product of momentum coefficients is a scalar of the state (0-d array)."""
    cfg = BASE.replace(optimizer="nadam", eps=1e-4, epochs=20)
    full, first, cont = _runs(cfg, half=10)
    assert first.state.optimizer["mu_product"].shape == ()
    assert 0 < first.state.optimizer["mu_product"] < 1
    _assert_same_state(cont.state, full.state)


def test_a_run_continued_at_its_own_end_logs_its_last_epoch():
    first = train(BASE.replace(epochs=HALF), save_state=True)
    again = train(BASE.replace(epochs=HALF), start_from=first.state)
    assert again.summary == first.summary and again.steps == first.steps
    assert again.metrics == [row for row in first.metrics if row[1] == HALF]


def test_bookkeeping_may_differ():
    """engine and log_every are bookkeeping: a fast state continues on the reference engine
    (same maths, other summation order, so close, not equal) with another log cadence."""
    full = train(BASE, save_state=True)
    first = train(BASE.replace(epochs=HALF, log_every=0), save_state=True)
    cont = train(BASE.replace(engine="reference", log_every=25), start_from=first.state)
    assert [row[1] for row in cont.metrics if row[3] == "loss" and row[2] == "train"] == [75, 100]
    assert cont.run_id == full.run_id
    np.testing.assert_allclose(cont.summary["train_loss"], full.summary["train_loss"], rtol=1e-6)


@pytest.mark.parametrize("change, message", [
    ({"batch_size": 5}, "start_from: its config differs in batch_size (2 vs 5)"),
    ({"weight_decay": 0.01}, "start_from: its config differs in weight_decay (0.001 vs 0.01)"),
    ({"optimizer": "adamw"}, "start_from: its config differs in optimizer ('adam' vs 'adamw')"),
    ({"seed": 1}, "start_from: its config differs in seed (0 vs 1)"),
    ({"dtype": "float32"}, "start_from: its config differs in dtype ('float64' vs 'float32')"),
    ({"epochs": 40}, "start_from: the state is at epoch 50, past this run's epochs=40"),
])
def test_a_different_run_is_refused_with_one_line(change, message):
    first = train(BASE.replace(epochs=HALF), save_state=True)
    with pytest.raises(ConfigError) as err:
        train(BASE.replace(**change), start_from=first.state)
    assert str(err.value) == message


def test_a_schedule_that_reads_the_total_length_is_refused():
    """Cosine's rate at step t depends on the total steps T: halves of 50 + 50 epochs follow the
    50-epoch curve, not the 100-epoch one, so no continuation can equal the whole run."""
    cosine = BASE.replace(schedule="cosine")
    whole = train(cosine, save_state=True)
    first = train(cosine.replace(epochs=HALF), save_state=True)
    with pytest.raises(ConfigError, match=r"^start_from: schedule 'cosine' reads the run's total "
                                          r"steps, so a run continued from epochs=50 to 100"):
        train(cosine, start_from=first.state)
    # at its own length it continues: nothing to run, the same end
    again = train(cosine, start_from=whole.state, save_state=True)
    _assert_same_state(again.state, whole.state)


def test_a_torch_optimiser_cannot_save_or_continue():
    with pytest.raises(ConfigError, match="^save_state: a run with a torch optimiser"):
        train(BASE.replace(epochs=2, engine="reference"), optimizer=torch.optim.Adam,
              save_state=True)


def test_state_npz_round_trip_and_continue_from_the_folder(tmp_path):
    full = train(BASE, save_state=True)
    first = train(BASE.replace(epochs=HALF), out=tmp_path / "half", save_state=True)
    assert sorted(p.name for p in (tmp_path / "half").iterdir()) == [
        "config.json", "meta.json", "metrics.csv", "state.npz", "summary.json"]
    back = read_state(tmp_path / "half")  # the folder, or the file itself
    _assert_same_state(back, first.state)
    assert back.config == first.config
    _assert_same_state(read_state(tmp_path / "half" / "state.npz"), first.state)
    cont = train(BASE, start_from=tmp_path / "half", save_state=True)
    _assert_same_state(cont.state, full.state)
    assert cont.summary == full.summary
    # without save_state no state is kept or written
    plain = train(BASE.replace(epochs=2), out=tmp_path / "plain")
    assert plain.state is None and not (tmp_path / "plain" / "state.npz").exists()


def test_everything_the_sampler_holds_is_carried(tmp_path):
    """A sampler mode's extra attributes (e.g. an epoch's unseen remainder) travel with the
    state without the state's code knowing them: arrays as arrays, the rest as JSON."""
    smp = BatchSampler(20, 3, "shuffle", 0)
    smp.epochs(2)
    smp.rest = np.array([7, 3], dtype=np.int64)
    smp.carried = 2
    st = train(BASE.replace(epochs=1), save_state=True).state
    st.sampler = smp.state()
    back = read_state(write_state(st, tmp_path / "s.npz"))
    assert back.sampler["rest"].dtype == np.int64 and list(back.sampler["rest"]) == [7, 3]
    other = BatchSampler(20, 3, "shuffle", 0)
    other.rest, other.carried = None, 0
    other.set_state(back.sampler)
    assert other.carried == 2 and list(other.rest) == [7, 3]
    assert np.array_equal(other.epochs(3), smp.epochs(3))
    with pytest.raises(ValueError, match="sampler state: batch_size is 3, this sampler's 4"):
        BatchSampler(20, 4, "shuffle", 0).set_state(BatchSampler(20, 3, "shuffle", 0).state())


def test_store_keeps_states_beside_the_database(tmp_path):
    db = tmp_path / "runs.db"
    first = train(BASE.replace(epochs=HALF), save_state=True)
    with Store(db) as store:
        assert store.state(first.run_id) is None
        store.put(first)  # a result with a state keeps it
        folder = tmp_path / "runs.db.states"
        assert [p.name for p in folder.iterdir()] == [f"{first.run_id}.npz"]  # no temp files
        _assert_same_state(store.state(first.run_id), first.state)
        other = train(BASE.replace(epochs=3), save_state=True)
        store.put_state("abc-1", other.state)
        _assert_same_state(store.state("abc-1"), other.state)
        with pytest.raises(ValueError, match="run_id: must be"):
            store.put_state("../x", other.state)
        (folder / "bad.npz").write_bytes(b"not a state")
        with pytest.raises(StateError) as err:
            store.state("bad")
        text = str(err.value)
        assert "\n" not in text and "bad.npz is not a readable run state" in text
    full = train(BASE, save_state=True)
    with Store(db) as store:
        cont = train(BASE, start_from=store.state(first.run_id), save_state=True)
    _assert_same_state(cont.state, full.state)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "missing", "no-head", "format"])
def test_a_bad_state_file_is_one_line(tmp_path, damage):
    st = train(BASE.replace(epochs=2), save_state=True).state
    path = write_state(st, tmp_path / "state.npz")
    raw = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"\x00" * 100)
    elif damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "missing":
        path.unlink()
    else:
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        if damage == "no-head":
            del arrays["head"]
        else:
            head = json.loads(str(arrays["head"]))
            arrays["head"] = np.array(json.dumps({**head, "format": 99}))
        with zipfile.ZipFile(path, "w") as zf:  # rewritten as a valid .npz
            for k, v in arrays.items():
                with zf.open(k + ".npy", "w") as f:
                    np.lib.format.write_array(f, v)
    with pytest.raises(StateError) as err:
        train(BASE, start_from=path)
    text = str(err.value)
    assert text.startswith("start_from: ") and str(path) in text and "\n" not in text
    assert isinstance(err.value, ConfigError)


TINY = ["--d", "100", "--n", "20", "--s", "10", "--width", "5", "--n-test", "200",
        "--sigma0", "0.05", "--lr", "3e-3", "--weight-decay", "1e-3", "--log-every", "10"]


def test_cli_saves_and_continues(tmp_path, capsys):
    half, cont, whole = tmp_path / "half", tmp_path / "cont", tmp_path / "whole"
    assert main(["train", *TINY, "--epochs", "50", "--save-state", "--out", str(half),
                 "--json", "--no-progress"]) == 0
    assert (half / "state.npz").is_file()
    # settings not given are the saved run's
    assert main(["train", "--start-from", str(half), "--epochs", "100", "--save-state",
                 "--out", str(cont), "--json", "--no-progress"]) == 0
    assert main(["train", *TINY, "--epochs", "100", "--save-state", "--out", str(whole),
                 "--json", "--no-progress"]) == 0
    capsys.readouterr()
    a, b = (json.loads((p / "summary.json").read_text()) for p in (cont, whole))
    for timing in ("seconds", "compile_seconds"):  # wall clock, not the run's numbers
        a.pop(timing), b.pop(timing)
    assert a == b
    _assert_same_state(read_state(cont), read_state(whole))
    meta = json.loads((cont / "meta.json").read_text())
    assert meta["continued_from"]["epochs"] == 50


@pytest.mark.parametrize("args, message", [
    (["--start-from", "{tmp}/nowhere", "--epochs", "10"], "start-from: no run state at"),
    (["--start-from", "{tmp}/junk.npz", "--epochs", "10"], "start-from: {tmp}/junk.npz is not "
                                                            "a readable run state"),
    (["--epochs", "10", "--save-state"], "save-state: needs --out"),
])
def test_cli_errors_are_one_line(tmp_path, capsys, args, message):
    (tmp_path / "junk.npz").write_text("junk")
    args = [a.format(tmp=tmp_path) for a in args]
    assert main(["train", *args, "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("adamlab: error: " + message.format(tmp=tmp_path))
    assert "\n" not in err


def test_a_failed_write_leaves_the_old_state_whole(tmp_path, monkeypatch):
    """States are written to a temporary file and renamed into place: a write that dies midway
    leaves the previous state readable and no temporary file behind."""
    old = train(BASE.replace(epochs=2), save_state=True).state
    new = train(BASE.replace(epochs=3), save_state=True).state
    path = write_state(old, tmp_path / "state.npz")

    def dies(f, **arrays):
        f.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", dies)
    with pytest.raises(OSError):
        write_state(new, path)
    assert [p.name for p in tmp_path.iterdir()] == ["state.npz"]
    _assert_same_state(read_state(path), old)
