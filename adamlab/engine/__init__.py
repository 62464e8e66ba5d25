"""Engines: the training loop (train.py) over interchangeable step engines (reference, fast,
batched), the batch samplers and the paper's metrics."""
