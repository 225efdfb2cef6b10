"""Prices: reported usage priced per model with cache reads and writes apart, overrides, and no free model."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from billing.prices import UnpricedModel, usage_cost, worst_cost
from tests.support import CHAT, SCREEN


def test_reported_usage_is_priced_with_cache_reads_and_writes_apart():
    # langchain-aws counts cache reads and writes inside input_tokens: 1,000 plain + 4,000 read + 2,000 written.
    usage = {"input_tokens": 7000, "output_tokens": 500, "cache_read_tokens": 4000, "cache_write_tokens": 2000}
    assert usage_cost(CHAT, usage) == 1000 * 3.3 + 4000 * 0.33 + 2000 * 4.125 + 500 * 16.5
    assert usage_cost(SCREEN, {"input_tokens": 120, "output_tokens": 30}) == 120 * 1.1 + 30 * 5.5


def test_the_worst_case_prices_every_input_token_as_a_cache_write():
    assert worst_cost(CHAT, input_tokens=1000, output_tokens=1024) == 1000 * 4.125 + 1024 * 16.5


def test_bedrock_prices_json_overrides_a_default_and_prices_another_model(settings):
    settings.BEDROCK_PRICES_JSON = {CHAT: {"input": 1, "output": 2}, "my.model": {"input": 0.5, "output": 1}}
    assert usage_cost(CHAT, {"input_tokens": 1000, "output_tokens": 1000, "cache_read_tokens": 500}) == 500 + 50 + 2000
    assert usage_cost("my.model", {"input_tokens": 2, "output_tokens": 2}) == 3


def test_a_model_without_a_price_is_refused_not_free():
    with pytest.raises(UnpricedModel):
        usage_cost("unknown.model", {"input_tokens": 1})


def test_check_fails_for_a_budgeted_model_without_a_price(settings):
    settings.BEDROCK_CHAT_MODEL_ID = "eu.anthropic.claude-sonnet-4-5-20250929-v1:0"
    with pytest.raises(SystemCheckError, match="BEDROCK_CHAT_MODEL_ID .* has no price"):
        call_command("check")
    settings.BEDROCK_PRICES_JSON = {settings.BEDROCK_CHAT_MODEL_ID: {"input": 3.3, "output": 16.5}}
    call_command("check")


def test_check_passes_an_unpriced_model_when_every_ceiling_is_off(settings):
    settings.BEDROCK_CHAT_MODEL_ID = "eu.anthropic.claude-sonnet-4-5-20250929-v1:0"
    for name in ("ANONYMOUS", "USER", "IP", "SERVICE"):
        setattr(settings, f"BUDGET_{name}_DAILY_USD", "0")
    call_command("check")


@pytest.mark.parametrize(
    ("prices", "ceiling", "error"),
    [
        ([1, 2], "1", "must be a JSON object"),
        ({"m": {"input": 1}}, "1", "needs at least"),
        ({"m": {"input": "cheap", "output": 1}}, "1", "must be numbers"),
        ({}, "lots", "BUDGET_SERVICE_DAILY_USD must be an amount"),
    ],
)
def test_check_reports_malformed_prices_and_ceilings(settings, prices, ceiling, error):
    settings.BEDROCK_PRICES_JSON = prices
    settings.BUDGET_SERVICE_DAILY_USD = ceiling
    with pytest.raises(SystemCheckError, match=error):
        call_command("check")
