"""`python manage.py screen_eval FILE.jsonl [--json OUT] [--concurrency N] [--limit N]`: score the screening model."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from security.clients import screening_model
from security.evaluation import MalformedCase, eval_cases_parse, eval_run, eval_score

PROGRESS_EVERY = 25  # lines; a file shorter than this shows no progress


class Command(BaseCommand):
    help = (
        "Score the configured screening model on a labelled JSON Lines file ({text, label, context?, category?} "
        "a line). Every line is a model call: no intent cache, nothing queued for moderators."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the labelled cases, one JSON object a line")
        parser.add_argument("--json", type=Path, dest="json_out", help="also write the scores to this file")
        parser.add_argument("--concurrency", type=int, default=4, help="model calls at once (default 4)")
        parser.add_argument("--limit", type=int, help="score only the first N cases")

    def handle(self, *args: Any, file: Path, json_out: Path | None, concurrency: int, limit: int | None, **_: Any):
        if concurrency < 1 or (limit is not None and limit < 1):
            raise CommandError("--concurrency and --limit must be at least 1")
        try:
            with file.open(encoding="utf-8") as lines:
                cases = eval_cases_parse(lines)
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}") from None
        except (MalformedCase, UnicodeDecodeError) as exc:
            raise CommandError(f"{file}: {exc}") from None
        cases = cases[:limit] if limit else cases
        model = screening_model()
        outcomes = eval_run(model=model, cases=cases, concurrency=concurrency, progress=self._progress(len(cases)))
        scores = eval_score(outcomes=outcomes, model_id=model.model_id)
        self.stdout.write(report(scores, file))
        if json_out is not None:
            json_out.write_text(json.dumps(scores, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    def _progress(self, total: int):
        def show(done: int, errors: int) -> None:
            if total >= PROGRESS_EVERY and (done % PROGRESS_EVERY == 0 or done == total):
                self.stderr.write(f"screen_eval: {done}/{total} screened, {errors} error(s)")
                self.stderr.flush()

        return show


def report(scores: dict[str, Any], file: Path) -> str:
    """Return the scores as text tables: the totals, then one row per category."""
    latency, tokens = scores["latency_ms"], scores["tokens"]
    cost = "n/a (model not in BEDROCK_PRICES)" if scores["cost_usd"] is None else f"${scores['cost_usd']:.4f}"
    lines = [
        f"{file}: {scores['n']} judged, {len(scores['errors'])} error(s); model {scores['model_id']}, "
        f"context turns {scores['context_turns']}",
        f"  tp {scores['tp']}  fp {scores['fp']}  tn {scores['tn']}  fn {scores['fn']}",
        f"  precision {_fraction(scores['precision'])}  recall {_fraction(scores['recall'])}  "
        f"false-positive rate {_fraction(scores['false_positive_rate'])}",
        f"  latency p50 {latency['p50']} ms, p95 {latency['p95']} ms; tokens in {tokens['input']}, "
        f"out {tokens['output']}; cost {cost}",
        "",
    ]
    rows = [("category", "n", "tp", "fn", "recall", "fp", "tn", "fp rate")]
    for name, score in scores["categories"].items():
        counts = (str(score[key]) for key in ("n", "tp", "fn"))
        rows.append(
            (
                name,
                *counts,
                _fraction(score["recall"]),
                str(score["fp"]),
                str(score["tn"]),
                _fraction(score["false_positive_rate"]),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines += [f"error: line {error['line']}: {error['error']}" for error in scores["errors"]]
    return "\n".join(lines)


def _fraction(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
