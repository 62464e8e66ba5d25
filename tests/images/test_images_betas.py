"""`adamlab reproduce images-betas --quick` on generated Fashion-MNIST-format files: the paper's
(beta1, beta2) robustness grid on real images, its section, figure, scale-down table and its
finding under the ledger's claim images.betas; run only when named."""
import re

from adamlab.cli import main
from adamlab.report.items import IMAGE_DEFAULT_ITEMS, ITEMS, ON_REQUEST
from adamlab.sweep.spec import load_spec

from image_files import write_idx_set


def test_images_betas_preset_is_the_papers_grid():
    spec = load_spec("images-betas")
    pairs = {(c.beta1, c.beta2) for c in spec.configs}
    grid = {(b1, b2) for b1 in (0.0, 0.5, 0.9) for b2 in (0.5, 0.9, 0.95) if b1 ** 2 < b2}
    assert pairs == grid | {(0.9, 0.99)} and len(pairs) == 9
    assert {c.optimizer for c in spec.configs} == {"adam"}
    assert {c.batch_size for c in spec.configs} == {16, 128}
    # the reference pair's runs are images-fig1's (same run ids): they run once
    fig1 = {c.run_id() for c in load_spec("images-fig1").configs}
    assert sum(c.run_id() in fig1 for c in spec.configs) == 6
    assert "images-betas" in ON_REQUEST and "images-betas" not in IMAGE_DEFAULT_ITEMS
    assert not ITEMS["images-betas"].default


def test_images_betas_quick_report(tmp_path):
    data = tmp_path / "fmnist"
    write_idx_set(data, n_train=300, n_test=520, side=28, gz=True, seed=3)
    out = tmp_path / "report"
    assert main(["reproduce", "images-betas", "--quick", "--data-dir", str(data), "--out",
                 str(out), "--workers", "2", "--no-progress"]) == 0
    md = (out / "report.md").read_text()
    assert "## Real images: the batch-size gap across (β1, β2) (robustness)" in md
    assert (out / "figures" / "images-betas.png").stat().st_size > 5000
    protocol = (out / "data" / "images-betas-protocol.csv").read_text().splitlines()
    assert protocol[0] == "quantity,paper,this run,kept"
    table = (out / "data" / "images-betas-table.csv").read_text().splitlines()
    assert len(table) == 1 + 2 and "gap holds" in table[0]
    row = re.search(r"^\| Real images \(Adam\): the batch-size effect .* \(`images\.betas`\) \| "
                    r"[^|]+ \| reproduction \| \*\*([a-zA-Z ]+)\*\* \| — \|", md, re.M)
    # random images: nothing is learned, and the finding says so; on a CPU scale-down that is
    # "not observed at CPU scale", never "not reproduced"
    assert row and row[1] == "not observed at CPU scale"
    assert "nothing learned at the smaller batch" in md
