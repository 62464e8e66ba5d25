"""The small core every part of adamlab may import: the error type (errors), the config-field
machinery (fields), the registry base (registry), statistics over seeds (stats), number
formatting (formatting), verdict words (verdicts), the run record (result) and a run's saved
state (state). It imports nothing else from adamlab."""
