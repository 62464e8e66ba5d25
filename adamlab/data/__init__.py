"""Data: the paper's synthetic patches (synthetic.py) and, separately, real image datasets."""
