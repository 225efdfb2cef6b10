"""Screening models: Claude Haiku on Bedrock through langchain-aws, or an offline stand-in.

Both return a `ModelVerdict` or raise `ScreeningUnavailable`; the caller never sees a half-parsed answer.
"""

import functools
import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings

from core import observability
from core.aws import (
    bedrock_control_client,
    bedrock_runtime_client,
    converse_answer,
    converse_stubbed,
    llm_backend,
    message_usage,
)
from security.exceptions import ScreeningUnavailable
from security.policy import CATEGORIES, SCREEN_SYSTEM_PROMPT, VERDICT_TOOL


@dataclass(frozen=True)
class ModelVerdict:
    verdict: str
    category: str
    reason: str


class ScreeningModel(Protocol):
    model_id: str

    def classify(self, normalised: str) -> ModelVerdict:
        """Return the verdict on `normalised`; raise ScreeningUnavailable if there is none to trust."""
        ...

    def warm(self) -> None:
        """Load now (during init) everything the first verdict would load; call no model."""
        ...


def parse_verdict(answer: Any) -> ModelVerdict:
    """Return the verdict in a model's answer (tool arguments or a JSON object); raise ValueError otherwise."""
    if isinstance(answer, str):
        answer = json.loads(answer)
    if not isinstance(answer, dict):
        raise ValueError("verdict is not an object")
    verdict, category, reason = answer.get("verdict"), answer.get("category"), answer.get("reason")
    if verdict not in ("safe", "malicious") or not isinstance(category, str) or not isinstance(reason, str):
        raise ValueError(f"verdict does not match the contract: {answer!r}"[:300])
    if category not in CATEGORIES:
        category = "other"
    if verdict == "safe":
        category = "none"
    return ModelVerdict(verdict=verdict, category=category, reason=reason[:500])


def screening_message(normalised: str) -> str:
    """Return the user turn: the message as a JSON string, so it reads as data with clear bounds."""
    return "Classify this message (a JSON string):\n" + json.dumps({"message": normalised}, ensure_ascii=False)


class BedrockScreeningModel:
    """Screening through Bedrock Converse with the verdict tool forced."""

    def __init__(self, model_id: str) -> None:
        from langchain_aws import ChatBedrockConverse  # heavy import, paid on first use only

        self.model_id = model_id
        client = bedrock_runtime_client(
            read_timeout=settings.SCREEN_MODEL_READ_TIMEOUT, max_attempts=settings.SCREEN_MODEL_MAX_ATTEMPTS
        )
        llm = ChatBedrockConverse(
            model=model_id, client=client, bedrock_client=bedrock_control_client(), temperature=0, max_tokens=200
        )
        self._client = client
        self._llm = llm.bind_tools([VERDICT_TOOL], tool_choice="record_verdict")

    def warm(self) -> None:
        """Screen one message through langchain-aws against a stubbed client: a first verdict's loading, no call."""
        verdict = {"verdict": "safe", "category": "none", "reason": "warm-up"}
        tool_use = {"toolUse": {"toolUseId": "warm-up", "name": VERDICT_TOOL["name"], "input": verdict}}
        with converse_stubbed(self._client, converse_answer([tool_use], "tool_use")):
            self.classify("Warm-up: load everything a verdict needs.")

    def classify(self, normalised: str) -> ModelVerdict:
        messages = [("system", SCREEN_SYSTEM_PROMPT), ("human", screening_message(normalised))]
        try:
            answer = self._llm.invoke(messages)
        except Exception as exc:  # botocore, network and langchain errors alike: fail closed
            raise ScreeningUnavailable(cause=exc) from exc
        observability.add_usage("screen", message_usage(answer))
        try:
            if answer.tool_calls:
                return parse_verdict(answer.tool_calls[0]["args"])
            return parse_verdict(answer.text if hasattr(answer, "text") else str(answer.content))
        except (ValueError, TypeError, KeyError) as exc:
            raise ScreeningUnavailable(cause=exc) from exc


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

    def classify(self, normalised: str) -> ModelVerdict:
        for category, pattern in _OFFLINE_PATTERNS:
            if re.search(pattern, normalised):
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
