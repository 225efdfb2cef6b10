"""System checks (`manage.py check`, and every management command): a budgeted model must have a price."""

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from billing.prices import FREE_MODELS, Price
from billing.services import CEILING_SETTINGS, daily_ceiling


@register()
def prices_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Report malformed prices or ceilings, and a configured model without a price while a ceiling is on."""
    errors = _ceiling_errors()
    if not isinstance(settings.BEDROCK_PRICES_JSON, dict):
        return [*errors, Error("BEDROCK_PRICES_JSON must be a JSON object: model id → prices", id="billing.E001")]
    prices: dict[str, Price] = {}
    for model_id, raw in {**settings.BEDROCK_DEFAULT_PRICES, **settings.BEDROCK_PRICES_JSON}.items():
        try:
            prices[model_id] = Price.parse(raw)
        except ValueError as exc:
            errors.append(Error(f"BEDROCK_PRICES_JSON[{model_id!r}]: {exc}", id="billing.E002"))
    if errors or not any(daily_ceiling(kind) for kind in CEILING_SETTINGS):
        return errors
    for setting in ("BEDROCK_SCREEN_MODEL_ID", "BEDROCK_CHAT_MODEL_ID"):
        model_id = getattr(settings, setting)
        if model_id not in prices and model_id not in FREE_MODELS:
            hint = f'Add it to BEDROCK_PRICES_JSON, e.g. {{"{model_id}": {{"input": 3.0, "output": 15.0}}}}.'
            errors.append(
                Error(
                    f"{setting} {model_id!r} has no price, and a spending ceiling is on", hint=hint, id="billing.E003"
                )
            )
    return errors


def _ceiling_errors() -> list[Error]:
    errors = []
    for setting in CEILING_SETTINGS.values():
        try:
            if float(str(getattr(settings, setting) or "0").strip() or "0") < 0:
                raise ValueError
        except ValueError:
            errors.append(Error(f"{setting} must be an amount of USD (empty or 0: off)", id="billing.E004"))
    return errors
