"""The research instrument: sensitivity experiments (identity swap, persona and brief ablation, model
changes), fidelity to the human exercise's findings and the harmony index.

Modules are imported where used (``harness.batch.spec`` imports :mod:`harness.research.spec`)."""
