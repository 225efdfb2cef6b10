"""The fake models' behaviour in benchmarks: token counts near real ones, optional delays, a usage ledger."""

import json
from dataclasses import dataclass, field
from typing import Any

from fakes.bedrock import Answer, Call, screens_malicious, text_answer, verdict_answer

CHARS_PER_TOKEN = 4  # the usual rule of thumb for English text with Claude's tokenizer
REPLY = " ".join(["Here is a short, considered answer to your question, with an example."] * 8)
VERDICT_OUTPUT_TOKENS = 40  # a forced record_verdict tool call with a one-sentence reason


def tokens(text: str) -> int:
    """Return an estimate of the tokens in `text`."""
    return max(1, len(text) // CHARS_PER_TOKEN)


def prompt_text(body: dict[str, Any]) -> str:
    """Return everything a Converse request puts before the model: system, messages and tool schema."""
    parts = [block.get("text", "") for block in body.get("system", [])]
    for message in body.get("messages", []):
        parts.extend(block.get("text", "") for block in message["content"])
    if "toolConfig" in body:
        parts.append(json.dumps(body["toolConfig"]))
    return "\n".join(parts)


def is_screening(call: Call) -> bool:
    """Return True for a call to the screening model (it alone forces a tool)."""
    return "toolConfig" in call.body


@dataclass
class ModelScript:
    """A `FakeBedrock.default`: the fake's verdicts and an echo-free reply, delayed, with usage recorded."""

    screen_delay: float = 0.0
    chat_delay: float = 0.0
    chat_first_token: float = 0.0  # ConverseStream: seconds to the first text, then this many tokens a second
    chat_tokens_per_second: float = 0.0
    reply: str = REPLY
    usage: list[tuple[str, int, int]] = field(default_factory=list)  # (model id, input, output) per call
    prompt_caching: int = 0  # calls whose request carried a cachePoint block

    def __call__(self, model_id: str, call: Call) -> Answer:
        if is_screening(call):
            malicious = screens_malicious(call)
            answer = (
                verdict_answer("malicious", "prompt_injection", "asks to ignore")
                if malicious
                else verdict_answer("safe")
            )
            output, answer.delay = VERDICT_OUTPUT_TOKENS, self.screen_delay
        else:
            answer, output = text_answer(self.reply), tokens(self.reply)
            answer.delay = self.chat_delay
            answer.first_token_delay, answer.tokens_per_second = self.chat_first_token, self.chat_tokens_per_second
        input_tokens = tokens(prompt_text(call.body))
        answer.body["usage"] = {
            "inputTokens": input_tokens,
            "outputTokens": output,
            "totalTokens": input_tokens + output,
        }
        self.usage.append((model_id, input_tokens, output))
        self.prompt_caching += "cachePoint" in json.dumps(call.body)
        return answer
