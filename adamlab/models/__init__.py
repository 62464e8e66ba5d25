"""Models: the paper's two-layer CNN, written densely for autograd (cnn.py) and sparsely for the
compiled paths (kernels.py), with its activation from one registry (activations.py); and,
separately, real-image networks (vision.py)."""
