"""Interchangeable step engines for the synthetic world: reference (plain torch autograd, the
paper's equations step by step), fast (compiled sparse loop) and batched (many runs stepping
together in torch, on CPU or GPU). The fast and batched engines are tested against reference."""
