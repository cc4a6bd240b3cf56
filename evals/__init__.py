"""Evaluation: divergence scorers, metrics and reliability over transcripts (simulated or imported)."""
