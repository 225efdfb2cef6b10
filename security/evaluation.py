"""Scoring the configured screening model on a labelled file (`python manage.py screen_eval`).

Every case goes to the model: no intent cache is read or written and nothing is queued for moderators, so
the numbers are the model's and the prompt's, not the cache's. A case is screened as production would
screen it: its text and context cleaned (security.policy.screened_text) and the context cut to the last
SCREENING_CONTEXT_TURNS turns, so running with SCREENING_CONTEXT_TURNS=0 measures screening without context.
"""

import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from security.clients import ModelVerdict, ScreeningModel
from security.exceptions import ScreeningUnavailable
from security.policy import screened_text
from security.services.screening import screening_context

LABELS = ("safe", "malicious")
UNCATEGORISED = "uncategorised"


class MalformedCase(ValueError):
    """A line of the labelled file that is not a case; the message names its line number."""


@dataclass(frozen=True)
class Case:
    line: int
    text: str
    label: str
    context: tuple[str, ...]
    category: str


@dataclass(frozen=True)
class Outcome:
    case: Case
    verdict: ModelVerdict | None  # None: the model call failed
    latency_ms: float
    error: str = ""


def eval_cases_parse(lines: Iterable[str]) -> list[Case]:
    """Return the cases of a JSON Lines file (blank lines skipped); raise MalformedCase at the first bad line."""
    cases = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            cases.append(_case(number, line))
    return cases


def _case(number: int, line: str) -> Case:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise MalformedCase(f"line {number}: not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise MalformedCase(f"line {number}: not a JSON object")
    text, label, context = data.get("text"), data.get("label"), data.get("context", [])
    category = data.get("category", UNCATEGORISED)
    if not isinstance(text, str):
        raise MalformedCase(f"line {number}: 'text' is missing or not a string")
    if label not in LABELS:
        raise MalformedCase(f"line {number}: 'label' is missing or not one of {', '.join(LABELS)}")
    if not isinstance(context, list) or not all(isinstance(turn, str) for turn in context):
        raise MalformedCase(f"line {number}: 'context' is not a list of strings")
    if not isinstance(category, str):
        raise MalformedCase(f"line {number}: 'category' is not a string")
    return Case(number, text, label, tuple(context), category)


def eval_run(
    *, model: ScreeningModel, cases: list[Case], concurrency: int, progress: Callable[[int, int], None]
) -> list[Outcome]:
    """Screen every case with `model`, `concurrency` at a time; `progress(done, errors)` after each one."""
    outcomes: list[Outcome] = []
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="screen-eval") as pool:
        for outcome in pool.map(lambda case: _screen(model, case), cases):
            outcomes.append(outcome)
            progress(len(outcomes), sum(o.verdict is None for o in outcomes))
    return outcomes


def _screen(model: ScreeningModel, case: Case) -> Outcome:
    context = screening_context([screened_text(turn) for turn in case.context])
    started = time.perf_counter()
    try:
        verdict = model.classify(screened_text(case.text), context=context)
    except ScreeningUnavailable as exc:
        error = f"{type(exc.__cause__ or exc).__name__}: {exc.__cause__ or exc}"[:300]
        return Outcome(case, None, (time.perf_counter() - started) * 1000, error)
    return Outcome(case, verdict, (time.perf_counter() - started) * 1000)


def eval_score(*, outcomes: list[Outcome], model_id: str) -> dict[str, Any]:
    """Return the scores (malicious is the positive class; a rate is None when its denominator is 0)."""
    judged = [o for o in outcomes if o.verdict is not None]
    counts = _confusion(judged)
    tp, fp, tn, fn = (counts[k] for k in ("tp", "fp", "tn", "fn"))
    latencies = [o.latency_ms for o in judged]
    input_tokens = sum(o.verdict.input_tokens for o in judged if o.verdict)
    output_tokens = sum(o.verdict.output_tokens for o in judged if o.verdict)
    prices, categories = settings.BEDROCK_PRICES.get(model_id), _by_category(judged)
    return {
        "model_id": model_id,
        "context_turns": settings.SCREENING_CONTEXT_TURNS,
        "n": len(judged),
        **counts,
        "precision": _rate(tp, tp + fp),
        "recall": _rate(tp, tp + fn),
        "false_positive_rate": _rate(fp, fp + tn),
        "latency_ms": {"p50": _percentile(latencies, 0.50), "p95": _percentile(latencies, 0.95)},
        "tokens": {"input": input_tokens, "output": output_tokens},
        "cost_usd": round((input_tokens * prices[0] + output_tokens * prices[1]) / 1e6, 6) if prices else None,
        "recall_by_category": {name: score["recall"] for name, score in categories.items()},
        "categories": categories,
        "errors": [{"line": o.case.line, "error": o.error} for o in outcomes if o.verdict is None],
    }


def _confusion(judged: list[Outcome]) -> dict[str, int]:
    counts = dict.fromkeys(("tp", "fp", "tn", "fn"), 0)
    for outcome in judged:
        flagged = outcome.verdict is not None and outcome.verdict.verdict == "malicious"
        if outcome.case.label == "malicious":
            counts["tp" if flagged else "fn"] += 1
        else:
            counts["fp" if flagged else "tn"] += 1
    return counts


def _by_category(judged: list[Outcome]) -> dict[str, dict[str, Any]]:
    """Return, per category, the counts and recall (its malicious cases) and false-positive rate (its safe ones)."""
    groups: dict[str, list[Outcome]] = {}
    for outcome in judged:
        groups.setdefault(outcome.case.category, []).append(outcome)
    scores = {}
    for category, members in sorted(groups.items()):
        counts = _confusion(members)
        scores[category] = {
            "n": len(members),
            **counts,
            "recall": _rate(counts["tp"], counts["tp"] + counts["fn"]),
            "false_positive_rate": _rate(counts["fp"], counts["fp"] + counts["tn"]),
        }
    return scores


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _percentile(samples: list[float], fraction: float) -> float | None:
    """Return the nearest-rank percentile of `samples` (None for no samples)."""
    if not samples:
        return None
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 1)
