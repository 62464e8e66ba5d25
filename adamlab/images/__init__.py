"""The real-image world (docs/paper.md "Experiments", App. D.1): the image config (config), the
datasets and their download (datasets/), the networks (models), the trainer (trainer), the rule
that scales the paper's protocol down to a CPU (scaledown) and the image verdict rules (rules)."""
