"""Imports the modules that register non-synthetic tasks (their configs and trainers)."""
from .engine import images  # noqa: F401  (task "images": ImageConfig lives in config.py)
