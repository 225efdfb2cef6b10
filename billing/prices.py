"""What a model call costs: Bedrock prices per model id, and the cost of reported or worst-case token usage.

Amounts are whole micro-dollars (µUSD, 1e-6 USD), rounded up, so a ledger never holds a float.
"""

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings

from core.exceptions import ApplicationError

MICRO = 1_000_000
# The offline stand-ins call no model and cost nothing.
FREE_MODELS = frozenset({"offline-chat", "offline-screen"})


class UnpricedModel(ApplicationError):
    """A budgeted model has no price: refused rather than treated as free (`manage.py check` reports it first)."""

    status_code = 503
    code = "model_unavailable"
    default_message = "The model is not available right now."
    retry_after = True


@dataclass(frozen=True)
class Price:
    """USD per million tokens (exact decimals); cache reads and writes default to Bedrock's ratios to input."""

    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal

    @classmethod
    def parse(cls, raw: Any) -> "Price":
        """Return the price in a BEDROCK_PRICES_JSON entry; ValueError when it is not one."""
        if not isinstance(raw, dict) or not {"input", "output"} <= raw.keys():
            raise ValueError('needs at least {"input": USD, "output": USD} per million tokens')
        values = {name: raw.get(name) for name in ("input", "output", "cache_read", "cache_write") if name in raw}
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in values.values()):
            raise ValueError("prices must be numbers of USD per million tokens, 0 or more")
        exact = {name: Decimal(str(value)) for name, value in values.items()}
        exact.setdefault("cache_read", exact["input"] * Decimal("0.1"))
        exact.setdefault("cache_write", exact["input"] * Decimal("1.25"))
        return cls(**exact)

    @property
    def dearest_input(self) -> Decimal:
        """The most an input token can cost (a cache write costs more than plain input)."""
        return max(self.input, self.cache_read, self.cache_write)


def model_prices() -> dict[str, Price]:
    """Return every known price: the shipped defaults with BEDROCK_PRICES_JSON merged over them."""
    merged = {**settings.BEDROCK_DEFAULT_PRICES, **settings.BEDROCK_PRICES_JSON}
    return {model_id: Price.parse(raw) for model_id, raw in merged.items()}


def model_price(model_id: str) -> Price:
    """Return the price of `model_id`; raise UnpricedModel when it has none (never free)."""
    if model_id in FREE_MODELS:
        return Price(Decimal(0), Decimal(0), Decimal(0), Decimal(0))
    price = model_prices().get(model_id)
    if price is None:
        raise UnpricedModel(cause=LookupError(f"no price for {model_id}"))
    return price


def usage_cost(model_id: str, usage: dict[str, int]) -> int:
    """Return the µUSD a call cost from its reported usage (`core.aws.message_usage`'s names)."""
    price = model_price(model_id)
    cache_read, cache_write = usage.get("cache_read_tokens", 0), usage.get("cache_write_tokens", 0)
    # langchain-aws counts cache reads and writes inside `input_tokens`.
    plain_input = max(0, usage.get("input_tokens", 0) - cache_read - cache_write)
    dollars_per_million = (
        plain_input * price.input
        + cache_read * price.cache_read
        + cache_write * price.cache_write
        + usage.get("output_tokens", 0) * price.output
    )
    return math.ceil(dollars_per_million)  # USD per million tokens × tokens = µUSD


def worst_cost(model_id: str, *, input_tokens: int, output_tokens: int) -> int:
    """Return the most a call with at most these tokens can cost, every input token at its dearest, in µUSD."""
    price = model_price(model_id)
    return math.ceil(input_tokens * price.dearest_input + output_tokens * price.output)


def usd(micro: int) -> float:
    """Return µUSD as dollars."""
    return round(micro / MICRO, 6)
