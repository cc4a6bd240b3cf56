"""The model layer: one ChatModel interface over OpenAI-compatible backends.

Import from the modules themselves: :mod:`~harness.llm.base` (the interface, replies, errors),
:mod:`~harness.llm.client` (``OpenAIChatModel``, ``build_chat_model``), :mod:`~harness.llm.config`
(``BackendConfig``, ``resolve_backend``), :mod:`~harness.llm.profiles`, :mod:`~harness.llm.cache`,
:mod:`~harness.llm.retry`, :mod:`~harness.llm.embedded` and :mod:`~harness.llm.fake` (``ScriptedModel``).
This package imports none of them, so that a light part (the interface, the configuration) does not
import the OpenAI SDK with the client (start-up time: docs/style.md).
"""
