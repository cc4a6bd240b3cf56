"""The model layer: one ChatModel interface over OpenAI-compatible backends."""

from __future__ import annotations

from harness.llm.base import (
    BackendRequestError,
    BackendUnavailable,
    CallUsage,
    ChatModel,
    InvalidReply,
    LLMError,
    Message,
    Reply,
    RunUsage,
)
from harness.llm.cache import CachedReply, ResponseCache
from harness.llm.client import OpenAIChatModel, build_chat_model
from harness.llm.config import BackendConfig, resolve_backend
from harness.llm.embedded import EmbeddedServer
from harness.llm.fake import ScriptedModel
from harness.llm.profiles import DUMMY_KEY, PROFILES, BackendProfile, Dialect, get_profile
from harness.llm.retry import RetryPolicy

__all__ = [
    "DUMMY_KEY",
    "PROFILES",
    "BackendConfig",
    "BackendProfile",
    "BackendRequestError",
    "BackendUnavailable",
    "CachedReply",
    "CallUsage",
    "ChatModel",
    "Dialect",
    "EmbeddedServer",
    "InvalidReply",
    "LLMError",
    "Message",
    "OpenAIChatModel",
    "Reply",
    "ResponseCache",
    "RetryPolicy",
    "RunUsage",
    "ScriptedModel",
    "build_chat_model",
    "get_profile",
    "resolve_backend",
]
