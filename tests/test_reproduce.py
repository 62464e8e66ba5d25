"""`adamlab reproduce --quick`: the report with every section and figure, findings generated from
the numbers, and a second call that reuses the stored runs."""
import json
from html import unescape
import re
import sqlite3

import pytest

from adamlab.cli import main
from adamlab.report.items import SYNTHETIC_ITEMS
from adamlab.report.ledger import KIND_WORDS, load_ledger
from adamlab.report.reproduce import ITEMS, majority, observed_regime
from adamlab.sweep.extend import setting_key
from adamlab.sweep.spec import load_spec, preset_names


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp:  # the synthetic items alone, data or not
        mp.setattr("adamlab.commands.reproduce.default_items", lambda data_dir=None: (
            SYNTHETIC_ITEMS, "no real-image items in this test"))
        # --no-end-state: the end state quadruples this report's time (2 min against 30 s on
        # two cores); tests/test_end_horizon.py judges these items at the end state, smaller
        assert main(["reproduce", "--quick", "--out", str(out), "--workers", "2",
                     "--no-progress", "--no-end-state"]) == 0
    return out


def _run_count(path):
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]


def _settings_count(path):
    """Distinct settings in the store: the budget's runs, not their end-state continuations
    (the same settings with more epochs)."""
    with sqlite3.connect(path) as conn:
        configs = [json.loads(c) for (c,) in conn.execute("SELECT config FROM runs")]
    return len({setting_key(c) for c in configs})


def test_quick_report_has_every_section_and_figure(quick_report):
    html = unescape((quick_report / "index.html").read_text())
    md = (quick_report / "report.md").read_text()
    for title in ("What we found", "The paper's synthetic table", "Trajectories",
                  "Adam with weight decay 0.05", "AdamW with weight decay 0.5",
                  "Phase diagram: Adam", "Phase diagram: AdamW"):
        assert title in html and title in md
    figures = {p.name for p in (quick_report / "figures").iterdir()}
    for stem in ("table-errors", "trajectories", "trajectories-log", "adam-large-wd",
                 "adamw-large-wd", "phase-adam", "phase-adamw"):
        assert f"{stem}.png" in figures and f"{stem}.svg" in figures
    # Self-contained: every figure embedded, no external resources.
    assert html.count("data:image/png;base64") + html.count("<svg") >= 9
    # (Plotly's inlined bundle holds link strings of features the report never draws, such as map
    # attributions; tests/test_report_interactive.py checks in Chromium that nothing is fetched.)
    page = re.sub(r"<script>.*?</script>", "<script></script>", html, flags=re.S)
    assert not re.search(r'(src|href)="https?://', page)
    assert not re.search(r"<script[^>]*\bsrc=", html)
    # Captions carry the command that produced the figure.
    assert "adamlab reproduce --quick" in html
    assert (quick_report / "data" / "table.csv").read_text().count("\n") >= 5


def test_findings_are_generated_from_the_numbers(quick_report):
    md = (quick_report / "report.md").read_text()
    found = md.split("## What we found")[1].split("\n## ")[0]
    # One row per claim of the synthetic items, its verdict in its kind's words; the end state
    # is not judged in this report (--no-end-state).
    rows = re.findall(r"^\| .* \(`([^`]+)`\) \| [^|]+ \| (reproduction|extension) \| "
                      r"\*\*([^*]+)\*\* \| \*\*([^*]+)\*\* \|", found, re.M)
    assert [cid for cid, *_ in rows] == [c.id for c in load_ledger().values()
                                         if c.item in SYNTHETIC_ITEMS]
    assert len(rows) >= 11
    for cid, kind, paper, end in rows:
        assert paper in KIND_WORDS[kind] and paper != "not measured"
        assert end == "not measured"
    kinds = dict((cid, kind) for cid, kind, *_ in rows)
    assert kinds["phase.adam"] == "extension" and "betas" not in kinds  # betas: only when named
    # The table's numbers in the findings are the stored runs' numbers (the table preset's own
    # runs: the store also holds other presets' runs continued to their end states).
    ids = set(load_spec("table", variant="quick").run_ids())
    with sqlite3.connect(quick_report / "runs.sqlite") as conn:
        rows = conn.execute("SELECT id, config, final FROM runs").fetchall()
    table = [(json.loads(c), json.loads(f)) for i, c, f in rows if i in ids]
    mini_adam = sorted(f["test_error"] for c, f in table if c["optimizer"] == "adam"
                       and c["batch_size"] == 2)
    assert len(mini_adam) == 2
    assert f"per seed: {', '.join(f'{v:.3f}' for v in mini_adam)}" in md \
        or f"per seed: {', '.join(f'{v:.3f}' for v in reversed(mini_adam))}" in md


def test_quick_report_counts_still_moving_runs_apart(quick_report):
    """At 60-300 epochs many runs are still moving: the report says so everywhere it matters."""
    md = (quick_report / "report.md").read_text()
    found = md.split("## What we found")[1].split("\n## ")[0]
    m = re.search(r"Of the (\d+) finished synthetic runs, (\d+) settled by the paper's budget "
                  r"and (\d+) were still moving there", found)
    assert m and int(m[1]) == _settings_count(quick_report / "runs.sqlite") == \
        _run_count(quick_report / "runs.sqlite")  # nothing continued without the end state
    assert int(m[2]) + int(m[3]) == int(m[1]) and int(m[3]) > 0
    assert "still moving, counted neither for nor against" in found
    # a claim with no settled run at all
    assert re.search(r"\| (reproduction|extension) \| \*\*still moving\*\* \|", found)
    # Statistics in the findings: two seeds a cell give a range, not a 95% interval (fewer than
    # 10 seeds), and k of n seeds its exact Clopper-Pearson interval.
    assert "(range " in found and "(95% CI " not in found and "Wilson" not in found
    assert "Clopper-Pearson 95% CI" in found and "one seed" in found
    # The phase sections quote the settled fraction; the phase diagram hatches.
    phase = md.split("## Phase diagram: Adam\n")[1].split("\n## ")[0]
    assert re.search(r"\d+ of 9 runs settled", phase) and re.search(
        r"hatched: still moving \([1-9]\d* cells", phase)
    assert "| settled |" in phase  # the per-cell table says how many seeds settled
    # beside the theory, the best batch-size threshold that ignores weight decay, and the cells
    # near a boundary, shown rather than dropped
    assert "Baseline: " in phase and "the best rule that ignores weight decay" in phase
    assert re.search(r"near a theory boundary \(\d+ cells, shown, counted in no claim\)", phase)
    # Cor 4.6 read from the two brackets
    assert re.search(r"Adam (learns up to|learns nowhere)[^;]*; AdamW (learns up to|learns "
                     r"nowhere)", found)


def _expected_verdict(runs: list[dict], agrees, settling: dict) -> tuple[str, int, int, int]:
    """(verdict, agreeing, judged, still moving) of a claim over `runs`, recomputed here: a
    finished run whose logged trajectories still moved is left out; every other run is judged
    and agrees when it finished and `agrees(train_error, test_error)`."""
    moving = [r for r in runs if r["status"] == "ok" and not settling[r["id"]].settled]
    judged = [r for r in runs if r not in moving]
    k = sum(r["status"] == "ok" and bool(agrees(r["final"]["train_error"],
                                                r["final"]["test_error"])) for r in judged)
    if not judged:
        return ("still moving" if moving else "not measured"), k, 0, len(moving)
    word = ("reproduced" if k == len(judged) else
            "partly reproduced" if k else "not reproduced")
    return word, k, len(judged), len(moving)


def test_verdicts_follow_from_the_stored_runs(quick_report):
    """The table's four claims and the two large-weight-decay claims carry the verdict their
    stored runs give, recomputed from the store with the thresholds restated: memorises noise =
    train error <= 0.05 and test error >= 0.3; learns the feature = train error <= 0.25 and test
    error < 0.1; stuck = train error > 0.25. Settled or not comes from the run's logged
    trajectories (`settling`, tested on made-up trajectories in tests/test_settling.py)."""
    from adamlab.sweep import Store
    from adamlab.synthetic.regimes import settling

    memorises = lambda tr, te: tr <= 0.05 and te >= 0.3  # noqa: E731
    learns = lambda tr, te: tr <= 0.25 and te < 0.1  # noqa: E731
    stuck = lambda tr, te: tr > 0.25  # noqa: E731
    md = (quick_report / "report.md").read_text()
    found = md.split("## What we found")[1].split("\n## ")[0].splitlines()
    with Store(quick_report / "runs.sqlite") as store:
        def preset_runs(name):
            ids = set(load_spec(name, quick=True).run_ids())
            runs = [r for r in store.runs() if r["id"] in ids]
            assert len(runs) == len(ids)
            return runs

        claims = []
        table = preset_runs("table")
        for opt, name in (("adam", "Adam"), ("adamw", "AdamW")):
            for large in (True, False):
                rs = [r for r in table if r["config"]["optimizer"] == opt
                      and (r["config"]["batch_size"] > 10) == large]
                claims.append((f"table.{opt}.{'large' if large else 'mini'}", rs,
                               memorises if large else learns, "seeds"))
        adam_wd = preset_runs("adam-large-wd")
        claims.append(("adam-large-wd", adam_wd, stuck, "runs"))
        adamw_wd = [r for r in preset_runs("adamw-large-wd") if r["config"]["batch_size"] <= 10]
        claims.append(("adamw-large-wd", adamw_wd, learns, "runs"))
        traj = {}
        for r in table + adam_wd + adamw_wd:
            for _, epoch, split, metric, value in store.metrics(r["id"]):
                key = f"{split}_{metric}" if metric in ("error", "loss") else metric
                traj.setdefault(r["id"], {}).setdefault(key, []).append((epoch, value))
        settled = {rid: settling(t) for rid, t in traj.items()}
    verdicts = set()
    for claim, runs, agrees, unit in claims:
        want, k, n, moving = _expected_verdict(runs, agrees, settled)
        line = next(line for line in found if f"(`{claim}`)" in line)  # its ledger id
        # its row of the findings table: these are reproductions, judged at the paper's budget
        assert f"| reproduction | **{want}** |" in line, (line, want)
        verdicts.add(want)
        if n:
            assert f"{k} of {n} {unit} as claimed" in line, (line, k, n)
        if moving:
            assert f"({moving} run{'s' if moving > 1 else ''} still moving" in line, line
    assert len(verdicts) >= 2  # the quick runs do not all give one verdict


def test_quick_report_states_its_budget_on_every_item(quick_report):
    md = (quick_report / "report.md").read_text()
    for title, epochs in (("The paper's synthetic table", 300),
                          ("Phase diagram: AdamW", 60),
                          ("Adam with weight decay 0.05 (Fig 5)", 300)):
        section = md.split(f"## {title}")[1].split("\n## ")[0]
        first = section.strip().split("\n\n")[0]
        assert first.startswith(f"**Budget cut: {epochs} epochs per run instead of the paper's "
                                f"10,000**"), first
        assert "| epochs | 10,000 | " + str(epochs) + " |" in section
    intro = md.split("## Contents")[0]
    assert re.search(r"Wall time per item .*: table \d+ s, trajectories \d+ s", intro)


def test_each_figure_names_the_command_that_rebuilds_its_item_alone(quick_report):
    # Before test_second_call_reuses_the_stored_runs, which rewrites the report with one item.
    md = (quick_report / "report.md").read_text()
    commands = set(re.findall(r"^Command: `(adamlab reproduce [^`]*)`$", md, flags=re.M))
    assert "adamlab reproduce phase --quick --no-end-state" in commands
    for command in commands:  # one item, then this call's flags
        words = command.split()
        assert words[2] in ITEMS and all(w.startswith("--") for w in words[3:4]), command


def test_second_call_reuses_the_stored_runs(quick_report, capsys):
    before = _run_count(quick_report / "runs.sqlite")
    assert main(["reproduce", "table", "--quick", "--out", str(quick_report),
                 "--no-progress", "--no-end-state"]) == 0
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
    # 2 optimisers x (B = 100 x 20 seeds + B = 2 x 10 seeds): seeds where they are cheap
    table = load_spec("table")
    assert len(table) == 2 * (20 + 10)
    assert sorted({c.seed for c in table.configs if c.batch_size == 100}) == list(range(20))
    assert sorted({c.seed for c in table.configs if c.batch_size == 2}) == list(range(10))
    for name in ("adam-large-wd", "adamw-large-wd"):
        spec = load_spec(name)
        assert sum(c.batch_size == 100 for c in spec.configs) == 20
        assert sum(c.batch_size == 2 for c in spec.configs) == 10
    # (Adam, AdamW) x 6 beta2 + SignSGD(W), x 5 batch sizes x 3 seeds
    assert len(load_spec("betas")) == (2 * 6 + 2) * 5 * 3
    # Cor 4.6 on grids where both optimisers can break
    assert max(c.weight_decay for c in load_spec("phase-adam").configs) == 1.0
    assert max(c.weight_decay for c in load_spec("phase-adamw").configs) == 100.0
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


@pytest.mark.parametrize("args,message", [
    (["--budget", "long"], "budget: must be one of paper, short, got 'long'"),
    (["--budget", "short", "--quick"], "budget: --quick already runs the reduced presets"),
])
def test_bad_budget_is_a_one_line_error(capsys, args, message):
    assert main(["reproduce", "table", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"adamlab: error: {message}") and err.count("\n") == 1


def test_short_budget_runs_the_short_variants(tmp_path):
    from adamlab.report.context import Context

    ctx = Context(None, tmp_path, False, 1, "adamlab reproduce --budget short", budget="short")
    for preset in ("table", "betas", "phase-adam", "phase-adamw", "adam-large-wd"):
        spec = ctx.spec(preset)
        assert spec.name == f"{preset}:short" and {c.epochs for c in spec.configs} == {2000}
        full = load_spec(preset)
        assert {c.epochs for c in full.configs} == {10_000}  # the paper's budget by default
        assert len(spec) == len(full)  # the same grid and seeds, only the epochs cut
    assert Context(None, tmp_path, False, 1, "c").spec("betas").name == "betas"


def test_budget_rows_show_the_arithmetic():
    from adamlab.report.context import budget_note, budget_rows

    def run(b, wd, epochs):
        return {"status": "ok", "config": {"batch_size": b, "weight_decay": wd, "lr": 5e-5,
                                           "n": 200, "epochs": epochs}}

    cut = [run(100, 0.01, 2000), run(2, 0.01, 2000), run(100, 0.5, 2000)]
    rows = {r["quantity"]: (r["paper"], r["this run"]) for r in budget_rows(cut)}
    assert rows["epochs"] == ("10,000", "2,000")
    assert rows["steps at the largest batch B = 100 (2 per epoch)"] == ("20,000", "4,000")
    assert rows["lr × steps (how far weights can travel)"] == ("1", "0.2")
    # 5e-5 x 0.01 x 4000 = 0.002 up to 5e-5 x 0.5 x 4000 = 0.1 (paper: x5)
    assert rows["lr × λ × steps (how much decay acts)"] == ("0.01–0.5", "0.002–0.1")
    assert budget_note(cut).startswith("**Budget cut: 2,000 epochs per run instead of the "
                                       "paper's 10,000**")
    paper = [run(100, 0.01, 10_000)]
    assert budget_note(paper).startswith("**Budget: the paper's**, 10,000 epochs per run")


def test_unknown_item_is_a_one_line_error(capsys):
    assert main(["reproduce", "tabel"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("adamlab: error: items: unknown item 'tabel'") and err.count("\n") == 1
    assert set(ITEMS) >= {"table", "trajectories", "phase"}


def test_item_command_keeps_the_flags_and_drops_the_other_items():
    from adamlab.report.context import Context

    ctx = Context(store=None, out=None, quick=False, workers=None,
                  command="adamlab reproduce table betas --budget short --seeds 0 1")
    assert ctx.item_command("betas") == "adamlab reproduce betas --budget short --seeds 0 1"
    assert Context(None, None, False, None, "adamlab reproduce").item_command("phase") == \
        "adamlab reproduce phase"
