"""adamlab: how batch size and weight decay decide whether Adam and AdamW generalise.

    import adamlab
    result = adamlab.train(adamlab.SyntheticConfig(optimizer="adamw", batch_size=2, epochs=100))
    result.summary["test_error"]

Layout (imports point down; docs/contributing.md "Layout"): core/ <- optim/ <- synthetic/ and
images/ <- tasks.py (adamlab.train) <- sweep/ <- report/ <- commands/ <- cli.py. The study: Tang, Zhang, Cao, Zou (NeurIPS 2025, arXiv 2510.11354).
"""
from .core.errors import ConfigError
from .core.result import Result
from .images.config import ImageConfig
from .optim import list_optimizers
from .synthetic.config import SyntheticConfig
from .tasks import config_from_dict, train

__version__ = "0.1.0"
__all__ = ["ConfigError", "ImageConfig", "SyntheticConfig", "Result", "config_from_dict",
           "list_optimizers", "train"]
