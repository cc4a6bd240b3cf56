"""Delegation role-play harness: LLM persona agents for national delegations in crisis simulations."""

from __future__ import annotations

__version__ = "0.1.0"
