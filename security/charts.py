"""The moderation overview's chart: blocked prompts per day, one colour per category."""

from datetime import date

from core import charts
from core.charts import DailyChart

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
CATEGORY_COLOURS = {
    "prompt_injection": "#D55E00",
    "jailbreak": "#E69F00",
    "prompt_extraction": "#0072B2",
    "harmful_content": "#CC79A7",
    "other": charts.OTHER_COLOUR,
}


def daily_chart(counts: dict[date, dict[str, int]]) -> DailyChart:
    """Return the stacked bar chart of blocked prompts (day → category → count)."""
    return charts.daily_chart(counts, colours=CATEGORY_COLOURS, nouns=("blocked prompt", "blocked prompts"), labels={})
