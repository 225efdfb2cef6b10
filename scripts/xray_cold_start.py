"""Measure what X-Ray's SDK adds to a cold start: the app's init with and without `patch_all()`.

    .venv/bin/python scripts/xray_cold_start.py [ROUNDS]

Each round starts two fresh processes that do what a Lambda init does here (Django, the URLconf,
langchain-aws), one of them after `aws_xray_sdk.core.patch_all()` (aws-xray-sdk comes with moto[server] in
the dev venv; it is not a runtime dependency). Reports the median CPU time (user + system: steadier than
wall time on a shared machine) and wall time of each. Measures only; DEPLOY.md section 12 has the figures.
"""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def init(with_xray: bool) -> None:
    if with_xray:
        from aws_xray_sdk.core import patch_all

        patch_all()
    from django.core.wsgi import get_wsgi_application

    get_wsgi_application()
    from langchain_aws import ChatBedrockConverse  # noqa: F401  WARM_MODELS_AT_STARTUP on Lambda

    import chatapp.urls  # noqa: F401  PREPARE_AT_STARTUP on Lambda


def child_run(with_xray: bool) -> tuple[int, int]:
    """Return (CPU ms, wall ms) of one fresh process's init."""
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT),
        "DJANGO_SETTINGS_MODULE": "chatapp.settings.base",
        "DJANGO_SECRET_KEY": "measure-only-" + "x" * 40,
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",  # no Lambda segment here
    }
    started = time.perf_counter()
    argv = [sys.executable, __file__, "--child", "xray" if with_xray else "plain"]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)  # noqa: S603
    _pid, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise RuntimeError(f"child failed: {status}")
    return round((usage.ru_utime + usage.ru_stime) * 1000), round((time.perf_counter() - started) * 1000)


def main(rounds: int) -> None:
    samples: dict[bool, list[tuple[int, int]]] = {False: [], True: []}
    child_run(False), child_run(True)  # bytecode caches written once, as the Lambda zip ships them
    for _ in range(rounds):
        for with_xray in (False, True):
            samples[with_xray].append(child_run(with_xray))
    for with_xray, runs in samples.items():
        cpu, wall = [run[0] for run in runs], [run[1] for run in runs]
        label = "with patch_all()" if with_xray else "without X-Ray  "
        print(f"{label}: CPU median {statistics.median(cpu)} ms {cpu}; wall median {statistics.median(wall)} ms")  # noqa: T201


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        init(sys.argv[2] == "xray")
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 11)
