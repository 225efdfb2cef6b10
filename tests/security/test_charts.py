"""The overview chart's geometry: stacked bars that a reader can compare at a glance."""

from datetime import date, timedelta

from security.charts import CATEGORY_COLOURS, daily_chart

DAY = date(2026, 11, 1)


def counts(*per_day: dict[str, int]) -> dict[date, dict[str, int]]:
    return {DAY + timedelta(days=n): by_category for n, by_category in enumerate(per_day)}


def test_bars_stack_categories_and_the_tallest_day_reaches_the_top():
    chart = daily_chart(counts({"jailbreak": 2, "prompt_injection": 6}, {}, {"other": 4}))
    assert len(chart.segments) == 3
    injection, jailbreak, other = chart.segments
    assert injection.colour == CATEGORY_COLOURS["prompt_injection"]  # fixed order: injection at the bottom
    assert injection.y + injection.height == chart.baseline
    assert jailbreak.y + jailbreak.height == injection.y  # stacked on top
    assert abs(jailbreak.height * 3 - injection.height) < 1e-6
    assert abs(other.height * 2 - (injection.height + jailbreak.height)) < 1e-6
    assert other.x > injection.x
    assert chart.y_ticks[-1].label == "8" and jailbreak.y == chart.y_ticks[-1].position
    assert "2 jailbreak" in jailbreak.title
    assert chart.total == 12 and chart.summary.startswith("12 blocked prompts from 01 Nov to 03 Nov")
    assert [label for label, _ in chart.legend] == ["prompt injection", "jailbreak", "other"]


def test_an_empty_window_draws_axes_and_no_bars():
    chart = daily_chart(counts(*[{}] * 30))
    assert chart.segments == [] and chart.legend == []
    assert [tick.label for tick in chart.y_ticks] == ["0", "1"]
    assert chart.x_ticks[-1].label == "30 Nov"  # the last day is always labelled


def test_unknown_categories_are_drawn_in_the_other_colour():
    chart = daily_chart(counts({"brand_new": 1}))
    assert chart.segments[0].colour == CATEGORY_COLOURS["other"]
