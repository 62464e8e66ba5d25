"""adamlab: how batch size and weight decay decide whether Adam and AdamW generalise.

    import adamlab
    result = adamlab.train(adamlab.SyntheticConfig(optimizer="adamw", batch_size=2, epochs=100))
    result.summary["test_error"]

Layout (the pipeline): data/ -> models/ -> optim/ -> engine/ -> sweep/ -> report/, with cli.py on
top and theory.py beside. The study: Tang, Zhang, Cao, Zou (NeurIPS 2025, arXiv 2510.11354).
"""
from .config import ConfigError, ImageConfig, SyntheticConfig, config_from_dict
from .engine.result import Result
from .engine.train import train
from .optim import list_optimizers

__version__ = "0.1.0"
__all__ = ["ConfigError", "ImageConfig", "SyntheticConfig", "Result", "config_from_dict",
           "list_optimizers", "train"]
