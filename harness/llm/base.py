"""The one model interface every node and scorer uses.

``ChatModel.complete`` (sync) and ``ChatModel.acomplete`` (async) take OpenAI-style chat messages and
return a :class:`Reply`: the text, or the parsed pydantic object when ``response_model`` is given, with
token usage, latency and which backend/model answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, runtime_checkable

from harness.errors import HarnessError

if TYPE_CHECKING:  # not imported at run time: the CLI imports this module before parsing its arguments
    from pydantic import BaseModel

Message = dict[str, str]
"""``{"role": "system" | "user" | "assistant", "content": "..."}``."""

T = TypeVar("T", bound="BaseModel")


@dataclass(frozen=True)
class CallUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    model: str = ""


@dataclass
class Reply(Generic[T]):
    text: str
    parsed: T | None
    usage: CallUsage
    backend: str
    model: str
    cached: bool = False
    attempts: int = 1


@dataclass
class RunUsage:
    """Usage summed over a run (thread-safe enough: updated from one event loop or under the GIL)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    by_model: dict[str, int] = field(default_factory=dict)

    def add(self, usage: CallUsage) -> None:
        self.calls += 1
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.latency_ms += usage.latency_ms
        self.by_model[usage.model] = self.by_model.get(usage.model, 0) + 1


class LLMError(HarnessError):
    """Base of model-layer errors."""


class BackendUnavailable(LLMError):
    """The endpoint stayed unreachable (connection errors, 5xx, 429) after the retry budget."""


class BackendRequestError(LLMError):
    """The endpoint refused the request (400/401/403/404…): retrying cannot help."""


class InvalidReply(LLMError):
    """A structured reply still failed validation after the bounded re-asks."""

    def __init__(self, message: str, *, last_text: str = "") -> None:
        super().__init__(message)
        self.last_text = last_text


@runtime_checkable
class ChatModel(Protocol):
    """What every caller depends on. Implementations: ``OpenAIChatModel``, ``ScriptedModel`` (tests)."""

    backend: str
    model: str

    def complete(
        self,
        messages: list[Message],
        *,
        response_model: type[T] | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        max_tokens: int | None = None,
        sample: int = 0,
    ) -> Reply[Any]: ...

    async def acomplete(
        self,
        messages: list[Message],
        *,
        response_model: type[T] | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        max_tokens: int | None = None,
        sample: int = 0,
    ) -> Reply[Any]: ...
