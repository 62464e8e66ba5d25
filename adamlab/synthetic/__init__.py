"""The paper's synthetic world (docs/paper.md): the signal / feature-noise patch data (data), the
two-layer ReLU^q CNN written densely for autograd (model) and sparsely for the compiled paths
(kernels, jit), its activation registry (activations), the step engines (engines/), the batch
samplers, the paper's metrics, the theory calculator (theory), the regime of a run (regimes) and
the training loop (train)."""
