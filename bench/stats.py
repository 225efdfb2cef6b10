"""Small statistics for benchmark samples."""

import statistics


def median(samples: list[float]) -> float:
    return round(statistics.median(samples), 1)


def percentile(samples: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile (`fraction` 0..1) of `samples`."""
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 1)


def ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 2)
