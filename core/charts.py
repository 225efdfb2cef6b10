"""Server-rendered SVG geometry for the admin's charts: a stacked bar per day, one colour per category."""

import math
from dataclasses import dataclass, field
from datetime import date

OTHER_COLOUR = "#999999"
WIDTH, HEIGHT = 760, 240
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 12, 28


@dataclass(frozen=True)
class Segment:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass
class DailyChart:
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: int = HEIGHT - BOTTOM
    right_edge: int = WIDTH - RIGHT
    segments: list[Segment] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    total: int = 0
    summary: str = ""


def daily_chart(
    counts: dict[date, dict[str, int]], *, colours: dict[str, str], nouns: tuple[str, str], labels: dict[str, str]
) -> DailyChart:
    """Return the bars, axes and legend of a stacked bar chart of `counts` (day → category → count)."""
    # Categories stack in the order of `colours` (unknown ones last, in OTHER_COLOUR), named by `labels` (else
    # their name with spaces); `nouns` (one, many) name what is counted in the summary.
    order = _Order(colours, labels)
    chart = DailyChart()
    days = list(counts)
    totals = [sum(by_category.values()) for by_category in counts.values()]
    step, top = _scale(max(totals, default=0))
    plot_height, slot = chart.baseline - TOP, (chart.right_edge - LEFT) / max(len(days), 1)
    for index, (day, by_category) in enumerate(counts.items()):
        stacked = 0
        for category in sorted(by_category, key=order.key):
            count = by_category[category]
            height = count / top * plot_height
            y = chart.baseline - (stacked + count) / top * plot_height
            title = f"{day:%d %b}: {count} {order.label(category)}"
            chart.segments.append(Segment(LEFT + index * slot + 1, y, slot - 2, height, order.colour(category), title))
            stacked += count
        if index % 7 == (len(days) - 1) % 7:  # label every 7th day, ending on today
            chart.x_ticks.append(Tick(LEFT + (index + 0.5) * slot, f"{day:%d %b}"))
    chart.y_ticks = [Tick(chart.baseline - v / top * plot_height, str(v)) for v in range(0, top + 1, step)]
    seen = {category for by_category in counts.values() for category in by_category}
    chart.legend = [(order.label(c), order.colour(c)) for c in sorted(seen, key=order.key)]
    chart.total = sum(totals)
    if days:
        noun = nouns[0] if chart.total == 1 else nouns[1]
        chart.summary = f"{chart.total} {noun} from {days[0]:%d %b} to {days[-1]:%d %b}"
    return chart


def _scale(highest: int) -> tuple[int, int]:
    """Return a round tick step and the axis top (a multiple of it) for values up to `highest`."""
    rough = max(highest, 1) / 4
    magnitude = 10 ** math.floor(math.log10(rough)) if rough >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    return step, step * max(math.ceil(highest / step), 1)


@dataclass(frozen=True)
class _Order:
    colours: dict[str, str]
    labels: dict[str, str]

    def key(self, category: str) -> tuple[int, str]:
        order = list(self.colours)
        return (order.index(category) if category in order else len(order), category)

    def colour(self, category: str) -> str:
        return self.colours.get(category, OTHER_COLOUR)

    def label(self, category: str) -> str:
        return self.labels.get(category, category.replace("_", " "))
