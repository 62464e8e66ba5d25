"""`adamlab reproduce --quick`: the report with every section and figure, findings generated from
the numbers, and a second call that reuses the stored runs."""
import json
from html import unescape
import re
import sqlite3

import pytest

from adamlab.cli import main
from adamlab.report.items import SYNTHETIC_ITEMS
from adamlab.report.reproduce import ITEMS, majority, observed_regime
from adamlab.sweep.spec import load_spec, preset_names


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp:  # the synthetic items alone, data or not
        mp.setattr("adamlab.report.items.default_items", lambda data_dir=None: (
            SYNTHETIC_ITEMS, "no real-image items in this test"))
        assert main(["reproduce", "--quick", "--out", str(out), "--workers", "2",
                     "--no-progress"]) == 0
    return out


def _run_count(path):
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]


def test_quick_report_has_every_section_and_figure(quick_report):
    html = unescape((quick_report / "index.html").read_text())
    md = (quick_report / "report.md").read_text()
    for title in ("What we found", "The paper's synthetic table", "Trajectories",
                  "Adam with weight decay 0.05", "AdamW with weight decay 0.5",
                  "Robustness to (β1, β2)", "Phase diagram: Adam", "Phase diagram: AdamW"):
        assert title in html and title in md
    figures = {p.name for p in (quick_report / "figures").iterdir()}
    for stem in ("table-errors", "trajectories", "trajectories-log", "adam-large-wd",
                 "adamw-large-wd", "betas-adam", "betas-adamw", "phase-adam", "phase-adamw"):
        assert f"{stem}.png" in figures and f"{stem}.svg" in figures
    # Self-contained: every figure embedded, no external resources.
    assert html.count("data:image/png;base64") + html.count("<svg") >= 11
    assert not re.search(r'(src|href)="https?://', html)
    # Captions carry the command that produced the figure.
    assert "adamlab reproduce --quick" in html
    assert (quick_report / "data" / "table.csv").read_text().count("\n") >= 5


def test_findings_are_generated_from_the_numbers(quick_report):
    md = (quick_report / "report.md").read_text()
    verdicts = re.findall(r"\*\*(reproduced|partly reproduced|not reproduced)\*\*", md)
    assert len(verdicts) >= 10
    # The table's numbers in the findings are the stored runs' numbers.
    with sqlite3.connect(quick_report / "runs.sqlite") as conn:
        rows = conn.execute("SELECT config, final FROM runs").fetchall()
    table = [(json.loads(c), json.loads(f)) for c, f in rows]
    mini_adam = sorted(f["test_error"] for c, f in table if c["optimizer"] == "adam"
                       and c["batch_size"] == 2 and c["weight_decay"] == 1e-5
                       and c["beta1"] == 0.9 and c["beta2"] == 0.999 and c["epochs"] == 300)
    assert len(mini_adam) == 2
    assert f"per seed: {', '.join(f'{v:.3f}' for v in mini_adam)}" in md \
        or f"per seed: {', '.join(f'{v:.3f}' for v in reversed(mini_adam))}" in md


def test_second_call_reuses_the_stored_runs(quick_report, capsys):
    before = _run_count(quick_report / "runs.sqlite")
    assert main(["reproduce", "table", "--quick", "--out", str(quick_report),
                 "--no-progress"]) == 0
    assert _run_count(quick_report / "runs.sqlite") == before
    out = capsys.readouterr()
    assert "| Adam | 1e-5 | 100 |" in out.out  # the table is printed to stdout
    assert "sweep table:quick: 8 runs, 8 already in the store, 0 ran" in out.err


def test_every_preset_parses_and_validates():
    names = preset_names()
    for needed in ("table", "adam-large-wd", "adamw-large-wd", "betas", "phase-adam",
                   "phase-adamw"):
        assert needed in names
    for name in names:
        spec = load_spec(name)
        assert len(spec) > 0
        if "quick" in spec.variants:
            assert len(load_spec(name, quick=True)) > 0
    assert len(load_spec("table")) == 20  # 2 optimisers x 2 batch sizes x 5 seeds
    assert len(load_spec("betas")) == 9 * 2 * 2 * 3
    full = {c.run_id() for c in load_spec("table").configs}
    assert not full & {c.run_id() for c in load_spec("table", quick=True).configs}


def test_observed_regime_thresholds():
    run = lambda tr, te, status="ok": {"status": status,  # noqa: E731
                                       "final": {"train_error": tr, "test_error": te}}
    assert observed_regime(run(0.0, 0.02)) == "learns_feature"
    assert observed_regime(run(0.0, 0.6)) == "memorises_noise"
    assert observed_regime(run(0.5, 0.5)) == "stuck_at_init"
    assert observed_regime(run(0.0, 0.2)) == "mixed"
    assert observed_regime(run(None, None, "diverged")) == "diverged"
    assert majority(["a", "a", "b"]) == "a" and majority(["a", "b"]) == "mixed"


def test_unknown_item_is_a_one_line_error(capsys):
    assert main(["reproduce", "tabel"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("adamlab: error: items: unknown item 'tabel'") and err.count("\n") == 1
    assert set(ITEMS) >= {"table", "trajectories", "phase"}
