"""Spending ceilings: each message's worst case is reserved against every ceiling before any model call, and
settled to what its model calls cost once the reply ends, however it ends (README "Spending ceilings").

A reservation is one atomic ADD per ceiling's scope (owner, client IP, service) on the day's ledger items,
conditional on staying within the ceiling, so no number of messages arriving at once can pass it: each ADD sees
every earlier one. A person's own ceiling (set in the admin) is read beside the ADDs, so theirs is checked on
the total the ADD returns instead, which holds for the same reason. One ceiling refusing undoes the others.
A hold item records the reservation until it is settled; if the invocation dies first, a sweep refunds it.
"""

import logging
import time
import uuid
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta

from django.conf import settings

from billing import repositories
from billing.exceptions import BudgetExhausted
from billing.prices import usage_cost, usd, worst_cost
from billing.services.ceilings import (
    LEDGER_KEEP_DAYS,
    SERVICE_KEY,
    daily_ceiling,
    holds_release_overdue,
    ip_key,
    ledger_submit,
    model_ids,
    owner_key,
    period_end,
    period_of,
    refund,
    spending_ceilings_on,
)
from core import concurrency, observability
from security.services.output import chat_system_prompt
from security.services.screening import prompt_screened_text, screening_call_bound, screening_context

logger = logging.getLogger("billing")

# What a call reads besides the text counted in bytes: the request's framing and the tool-use instructions.
CALL_OVERHEAD_TOKENS = 500
TURN_OVERHEAD_TOKENS = 10
SCOPES = ("owner", "ip", "service")  # in the order of MessageSpend._keys; a refusal names the first


class MessageSpend:
    """One message's money, in call order: `reserve_start`, `admitted`, `settle_start`, then `settle` in any case."""

    def __init__(self, *, owner: str, ip: str, raw: str, conversation_id: str | None) -> None:
        self._owner, self._ip, self._raw, self._conversation_id = owner, ip, raw, conversation_id
        self.period = period_of(datetime.now(tz=UTC))
        self.resets_at = period_end(self.period)
        self._hold_id = uuid.uuid4().hex
        self.reserved = 0  # µUSD added to each key in `_keys` while the message runs
        self._keys = [owner_key(owner), ip_key(ip), SERVICE_KEY]
        self._worst = {"screen": 0, "chat": 0}
        self._reservation: Future[None] | None = None
        self._settling: Future[None] | None = None

    def reserve_start(self) -> Future[None] | None:
        """Start reserving the worst case in the request pool, beside the request's reads (None: no ceiling is on)."""
        if spending_ceilings_on():
            self._reservation = concurrency.submit(self._reserve)
        return self._reservation

    def admitted(self) -> None:
        """Return once the reservation holds (before any model call); raise BudgetExhausted or the ledger's error."""
        if self._reservation is not None:
            self._reservation.result()

    def settle_start(self) -> None:
        """Start settling to the cost of the calls made so far (the reply is complete): beside the reply's storage."""
        if self.reserved and self._settling is None:
            self._settling = concurrency.submit(self._settle)

    def settle(self) -> None:
        """Settle (or finish settling) to what the calls cost, however the reply ended; log a failure, never raise."""
        if self._reservation is not None:
            concurrency.settle([self._reservation])
        if not self.reserved:
            return
        self.settle_start()
        try:
            self._settling.result()  # type: ignore[union-attr]
        except Exception as exc:  # noqa: BLE001 - the reply is over; the hold stays for the sweep to refund
            logger.error("spend not settled: %s", exc, extra={"event": "spend_settle_error"})
        self.reserved = 0

    def _reserve(self) -> None:
        with observability.stage("spend_reserve"):  # beside the reads: its time overlaps theirs
            self._reserve_worst_case()

    def _reserve_worst_case(self) -> None:
        self._worst = self.worst_case()
        amount = self._worst["screen"] + self._worst["chat"]
        refused = self._try_reserve(amount)
        if refused and holds_release_overdue(period=self.period):
            refused = self._try_reserve(amount)
        if refused:
            raise BudgetExhausted(scope=refused, resets_at=self.resets_at)
        self.reserved = amount
        observability.record(spend_reserved_usd=usd(amount))

    def worst_case(self) -> dict[str, int]:
        """Return the most each call can cost (µUSD): input bytes plus framing, max_tokens out, dearest price."""
        screened = prompt_screened_text(raw=self._raw)
        turns = self._history_turns()
        context = screening_context([content for role, content in turns if role == "user"])
        screen_in, screen_out = screening_call_bound(screened, context)
        system = chat_system_prompt(instructions=_chat_instructions())
        # A token is at least one byte of UTF-8, so bytes bound tokens; worst_cost prices each as a cache write.
        chat_in = sum(len(text.encode()) for text in [system, screened, *(content for _, content in turns)])
        chat_in += CALL_OVERHEAD_TOKENS + TURN_OVERHEAD_TOKENS * (len(turns) + 2)
        screen_model, chat_model = model_ids()
        return {
            "screen": worst_cost(
                screen_model, input_tokens=screen_in + CALL_OVERHEAD_TOKENS, output_tokens=screen_out
            ),
            "chat": worst_cost(chat_model, input_tokens=chat_in, output_tokens=settings.CHAT_MAX_TOKENS),
        }

    def _history_turns(self) -> list[tuple[str, str]]:
        """Return a follow-up's stored turns (what the chat model is shown is at most these), read here."""
        if not self._conversation_id:
            return []
        from chatapp.repositories import conversation_history  # the pipeline's own read, made beside it

        limit = settings.HISTORY_MESSAGES - settings.HISTORY_MESSAGES % 2
        _meta, messages = conversation_history(self._conversation_id, limit=limit)
        return [(message.role, message.content) for message in messages]

    def _try_reserve(self, amount: int) -> str | None:
        """Add `amount` to every scope at once; return the first scope that refused it (all undone), or None."""
        person = self._owner if self._owner.startswith("user:") else None
        writes, hold = self._reserving_writes(amount, person=person)
        limit = ledger_submit(repositories.ledger_item, repositories.LIMITS_PERIOD, person) if person else None
        futures = [*writes, hold, *([limit] if limit else [])]
        concurrency.settle(futures)
        failure = next((future.exception() for future in futures if future.exception()), None)
        totals = [None if write.exception() else write.result() for write in writes]
        added = [key for key, total in zip(self._keys, totals, strict=True) if total is not None]
        if person and totals[0] is not None and failure is None:
            item = limit.result() if limit else None
            ceiling = int(item.limit) if item is not None and item.limit is not None else daily_ceiling("user")
            totals[0] = None if ceiling is not None and totals[0] > ceiling else totals[0]
        refused = next((scope for scope, total in zip(SCOPES, totals, strict=True) if total is None), None)
        if failure is not None or refused is not None:
            self._undo(amount, added, hold_written=hold.exception() is None)
        if failure is not None:
            raise failure
        return refused

    def _reserving_writes(self, amount: int, *, person: str | None) -> tuple[list[Future[int | None]], Future[None]]:
        """Start the ADD on each scope's key (conditional on its ceiling, but a person's) and the hold's put."""
        ceilings = [None if person else daily_ceiling("anonymous"), daily_ceiling("ip"), daily_ceiling("service")]
        expires_at = self.resets_at + timedelta(days=LEDGER_KEEP_DAYS)
        writes = [
            ledger_submit(repositories.spend_reserve, self.period, k, amount, ceiling=c, expires_at=expires_at)
            for k, c in zip(self._keys, ceilings, strict=True)
        ]
        release_after = int(time.time()) + settings.BUDGET_HOLD_SECONDS
        hold = ledger_submit(
            repositories.hold_put,
            self.period,
            self._hold_id,
            amount=amount,
            keys=set(self._keys),
            release_after=release_after,
            expires_at=expires_at,
        )
        return writes, hold

    def _undo(self, amount: int, added: list[str], *, hold_written: bool) -> None:
        """Take back a reservation that was refused or half made: its hold first, so no sweep refunds it twice."""
        try:
            if hold_written and not repositories.hold_take(self.period, self._hold_id):
                return  # a sweep took it, and refunded it
            refund(self.period, added, amount)
        except Exception as exc:  # noqa: BLE001 - the refusal (or the failure) stands; the hold is swept later
            logger.error("reservation not undone: %s", exc, extra={"event": "spend_undo_error"})

    def _settle(self) -> None:
        with observability.stage("spend_settle"):  # beside the pair's write
            self._settle_to_cost()

    def _settle_to_cost(self) -> None:
        cost, tokens = self._cost()
        observability.record(spend_usd=usd(cost))
        messages = 1 if cost else 0  # a message that reached no model (a replay, a refusal) is not counted
        adds = [
            ledger_submit(
                repositories.spend_add, self.period, key, cost - self.reserved, messages=messages, tokens=tokens
            )
            for key in self._keys
        ]
        taken = ledger_submit(repositories.hold_take, self.period, self._hold_id)
        concurrency.settle([*adds, taken])
        for future in [*adds, taken]:
            future.result()
        if not taken.result():  # a sweep refunded the reservation meanwhile: put it back, the settle assumed it
            refund(self.period, self._keys, -self.reserved)

    def _cost(self) -> tuple[int, tuple[int, int]]:
        """Return what the message's model calls cost (µUSD) and their (input, output) tokens, from its record."""
        record = observability.recorded()
        if record is None:
            return self.reserved, (0, 0)
        usage, screen_model, chat_model = record.get("usage", {}), *model_ids()
        # A call whose usage never came (a reply stopped or failed before the model's last event, a screening call that
        # failed) is charged its worst case: Bedrock bills what the model wrote, which nothing here saw.
        cost = 0
        if usage.get("screen"):
            cost += usage_cost(screen_model, usage["screen"])
        elif "screening" in record.get("timings_ms", {}):
            cost += self._worst["screen"]
        if usage.get("chat", {}).get("input_tokens"):
            cost += usage_cost(chat_model, usage["chat"])
        elif "chat_model" in record:
            cost += self._worst["chat"]
        if usage.get("discarded"):
            cost += usage_cost(chat_model, usage["discarded"])
        elif record.get("speculative_reply") == "cancelled":
            cost += self._worst["chat"]
        calls = [usage.get(name, {}) for name in ("screen", "chat", "discarded")]
        return cost, (sum(c.get("input_tokens", 0) for c in calls), sum(c.get("output_tokens", 0) for c in calls))


def _chat_instructions() -> str:
    from chatapp.clients import CHAT_SYSTEM_PROMPT

    return CHAT_SYSTEM_PROMPT
