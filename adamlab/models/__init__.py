"""Models: the paper's two-layer ReLU^q CNN (cnn.py) and, separately, real-image networks."""
