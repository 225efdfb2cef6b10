"""The output check's CPU cost on long replies: a reply fed to ReplyGate in 4-character pieces, as the stream does.

    .venv/bin/python scripts/output_check_cost.py [--root DIR]

`--root` runs the check of another checkout (main, say) for a before/after comparison. Each reply is released
after every piece (a slow stream: the worst case) and after every 64 pieces (a fast one, frames every 0.25 s).
Prints CPU seconds per reply; nothing is asserted (timings belong in reports, not tests).
"""

import argparse
import os
import re
import sys
import time
from pathlib import Path

ENGLISH = "Paris is the capital of France; about two million people live there, by the Seine. "
REPLIES = {
    "1,024 tokens of English (4,096 chars)": (ENGLISH * 60)[:4096],
    "72,000 chars of English": (ENGLISH * 900)[:72000],
    "U+FDFA x 4,000 as the models read it (72,000 chars)": "\ufdfa" * 4000,
}


def cost(reply: str, *, pieces_per_release: int) -> float:
    """Return the CPU seconds ReplyGate takes to pass `reply`, releasing after every `pieces_per_release` pieces."""
    from chatapp.clients import CHAT_SYSTEM_PROMPT
    from security.policy import screened_text
    from security.services.output import ReplyGate, chat_system_prompt

    pieces = re.findall(".{1,4}", screened_text(reply), re.S)
    gate = ReplyGate(system_prompt=chat_system_prompt(instructions=CHAT_SYSTEM_PROMPT), model_id="m", owner="o")
    started = time.process_time()
    for number, piece in enumerate(pieces, 1):
        gate.add(piece)
        if number % pieces_per_release == 0:
            gate.release()
    gate.release(final=True)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    root = parser.parse_args().root.resolve()
    sys.path.insert(0, str(root))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatapp.settings.test")
    import django

    django.setup()
    from security.policy import screened_text as clean

    print(f"output check of {root}")
    for name, reply in REPLIES.items():
        slow, fast = cost(reply, pieces_per_release=1), cost(reply, pieces_per_release=64)
        per_char = fast / len(clean(reply)) * 1e6
        print(f"  {name}: {slow:.3f} s CPU releasing after every piece, {fast:.3f} s after every 64", end=" ")
        print(f"({per_char:.2f} µs a character)")


if __name__ == "__main__":
    main()
