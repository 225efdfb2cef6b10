"""Screening models: Claude Haiku on Bedrock through langchain-aws, or an offline stand-in.

Both return a `ModelVerdict` or raise `ScreeningUnavailable`; the caller never sees a half-parsed answer.
"""

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from django.conf import settings

from core import observability
from core.aws import (
    answered_before_send,
    bedrock_control_client,
    bedrock_runtime_client,
    converse_answer,
    llm_backend,
    message_usage,
)
from security.exceptions import ScreeningUnavailable
from security.policy import CATEGORIES, SCREEN_SYSTEM_PROMPT, VERDICT_TOOL

SCREEN_MAX_TOKENS = 200  # a verdict is a few dozen tokens; this bounds what a screening call can write


@dataclass(frozen=True)
class ModelVerdict:
    verdict: str
    category: str
    reason: str
    input_tokens: int = 0  # what the call cost (zero offline), for `screen_eval`
    output_tokens: int = 0


class ScreeningModel(Protocol):
    model_id: str

    def classify(self, screened: str, *, context: Sequence[str] = ()) -> ModelVerdict:
        """Return the verdict on the `screened` text read after the earlier user turns `context` (oldest first).

        Raise ScreeningUnavailable if there is no verdict to trust.
        """
        ...

    def warm(self) -> None:
        """Load now (during init) everything the first verdict would load; call no model."""
        ...


def parse_verdict(answer: Any) -> ModelVerdict:
    """Return the verdict in a model's answer (tool arguments or a JSON object); raise ValueError otherwise."""
    # Each error describes the answer by its shape only (`answer_shape`): its values may quote the message.
    if isinstance(answer, str):
        try:
            answer = json.loads(answer)
        except ValueError:
            raise ValueError(f"verdict is not JSON: {answer_shape(answer)}") from None
    if not isinstance(answer, dict):
        raise ValueError(f"verdict is not an object: {answer_shape(answer)}")
    verdict, category, reason = answer.get("verdict"), answer.get("category"), answer.get("reason")
    if verdict not in ("safe", "malicious") or not isinstance(category, str) or not isinstance(reason, str):
        raise ValueError(f"verdict does not match the contract: {answer_shape(answer)}")
    if category not in CATEGORIES:
        category = "other"
    if verdict == "safe":
        category = "none"
    return ModelVerdict(verdict=verdict, category=category, reason=reason[:500])


_CONTRACT_FIELDS = ("verdict", "category", "reason")


def answer_shape(answer: Any) -> str:
    """Describe a model's answer by field names, types and lengths, never a value (a value may quote the message)."""
    if not isinstance(answer, dict):
        return _value_shape(answer)
    # Names outside the contract are model-chosen text too, so they are shown by length only.
    fields = [
        f"{name if name in _CONTRACT_FIELDS else f'<name of {len(str(name))} chars>'}: {_value_shape(value)}"
        for name, value in list(answer.items())[:12]
    ]
    more = [f"... {len(answer) - 12} more"] if len(answer) > 12 else []
    return "{" + ", ".join(fields + more) + "}"


def _value_shape(value: Any) -> str:
    kind = type(value).__name__
    if value in ("safe", "malicious") or value in CATEGORIES:
        return f"{kind} {value!r}"  # a contract value, not the model's own words
    return f"{kind}(len={len(value)})" if isinstance(value, str | list | dict) else kind


def screening_message(screened: str, context: Sequence[str] = ()) -> str:
    """Return the user turn: the message (and any earlier turns) as JSON strings, so they read as data with bounds."""
    # The instructions stay in the system prompt; nothing a user wrote is ever spliced into them.
    if not context:
        return "Classify this message (a JSON string):\n" + json.dumps({"message": screened}, ensure_ascii=False)
    data = json.dumps({"earlier_turns": list(context), "message": screened}, ensure_ascii=False)
    return "Classify the message, read after the earlier turns (JSON strings):\n" + data


def screening_call_bound(screened: str, context: Sequence[str] = ()) -> tuple[int, int]:
    """Return the most tokens a screening call on `screened` after `context` reads and writes: (input, output)."""
    # A token is at least one byte of UTF-8, so the bytes of all the model reads bound its input.
    read = SCREEN_SYSTEM_PROMPT + json.dumps(VERDICT_TOOL) + screening_message(screened, context)
    return len(read.encode()), SCREEN_MAX_TOKENS


class BedrockScreeningModel:
    """Screening through Bedrock Converse with the verdict tool forced."""

    def __init__(self, model_id: str) -> None:
        from langchain_aws import ChatBedrockConverse  # heavy import, paid on first use only

        self.model_id = model_id
        client = bedrock_runtime_client(
            read_timeout=settings.SCREEN_MODEL_READ_TIMEOUT, max_attempts=settings.SCREEN_MODEL_MAX_ATTEMPTS
        )
        llm = ChatBedrockConverse(
            model=model_id,
            client=client,
            bedrock_client=bedrock_control_client(),
            temperature=0,
            max_tokens=SCREEN_MAX_TOKENS,
        )
        self._client = client
        self._llm = llm.bind_tools([VERDICT_TOOL], tool_choice="record_verdict")

    def warm(self) -> None:
        """Screen one message through langchain-aws, answered just before the socket: a first verdict's loading."""
        verdict = {"verdict": "safe", "category": "none", "reason": "warm-up"}
        tool_use = {"toolUse": {"toolUseId": "warm-up", "name": VERDICT_TOOL["name"], "input": verdict}}
        answer = json.dumps(converse_answer([tool_use], "tool_use")).encode()
        with answered_before_send(self._client, answer, content_type="application/json"):
            self.classify("Warm-up: load everything a verdict needs.")

    def classify(self, screened: str, *, context: Sequence[str] = ()) -> ModelVerdict:
        messages = [("system", SCREEN_SYSTEM_PROMPT), ("human", screening_message(screened, context))]
        try:
            answer = self._llm.invoke(messages)
        except Exception as exc:  # botocore, network and langchain errors alike: fail closed
            raise ScreeningUnavailable(cause=exc) from exc
        usage = message_usage(answer)
        observability.add_usage("screen", usage)
        try:
            if answer.tool_calls:
                verdict = parse_verdict(answer.tool_calls[0]["args"])
            else:
                verdict = parse_verdict(answer.text if hasattr(answer, "text") else str(answer.content))
        except (ValueError, TypeError, KeyError) as exc:
            raise ScreeningUnavailable(cause=exc) from exc
        return replace(verdict, input_tokens=usage["input_tokens"], output_tokens=usage["output_tokens"])


_OFFLINE_PATTERNS = [
    ("prompt_injection", r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions|rules|prompt)\b"),
    ("prompt_extraction", r"\b(reveal|show|print|repeat)\b.{0,40}\bsystem prompt\b"),
    ("jailbreak", r"\b(jailbreak|developer mode|dan mode|do anything now)\b"),
    ("harmful_content", r"\b(build|make)\b.{0,20}\b(bomb|bioweapon|nerve agent)\b"),
]


class OfflineScreeningModel:
    """A deterministic stand-in for development without AWS: a few well-known attack phrasings."""

    model_id = "offline-screen"

    def warm(self) -> None:
        """Nothing to load."""

    def classify(self, screened: str, *, context: Sequence[str] = ()) -> ModelVerdict:
        conversation = "\n".join([*context, screened])
        message_starts = len(conversation) - len(screened)
        for category, pattern in _OFFLINE_PATTERNS:
            for match in re.finditer(pattern, conversation, flags=re.IGNORECASE | re.DOTALL):
                # A follow-up is read after its earlier turns, one line each, and is malicious when a phrasing ends
                # in it: a phrasing split over turns is caught, one wholly inside earlier turns does not condemn it.
                if match.end() > message_starts:
                    return ModelVerdict("malicious", category, "Matched a known attack phrasing (offline screening).")
        return ModelVerdict("safe", "none", "No known attack phrasing (offline screening).")


def screening_model_id() -> str:
    """Return the id of the screening model in use without building it: a cache hit needs no model client."""
    return OfflineScreeningModel.model_id if llm_backend() == "offline" else settings.BEDROCK_SCREEN_MODEL_ID


@functools.cache
def screening_model() -> ScreeningModel:
    """Return the process's screening model, built once."""
    if llm_backend() == "offline":
        return OfflineScreeningModel()
    return BedrockScreeningModel(settings.BEDROCK_SCREEN_MODEL_ID)
