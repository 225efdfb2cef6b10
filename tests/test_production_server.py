"""Through a production-like server (gunicorn, production settings): body limits and a small load run."""

import subprocess
import sys
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parents[1]


def test_oversized_bodies_are_refused_before_parsing_declared_or_chunked():
    from scripts.load import ChatClient, stack

    with stack(workers=1, threads=4) as base_url:
        client = ChatClient(base_url)
        url = f"{base_url}/api/v1/ai/chat"
        headers = {"Content-Type": "application/json"}
        declared = client.http.post(url, data=b'{"message": "' + b"x" * 100_000 + b'"}', headers=headers, timeout=30)
        assert declared.status_code == 413
        assert declared.json()["error"]["code"] == "payload_too_large"

        def chunks():
            yield b'{"message": "'
            for _ in range(100):
                yield b"y" * 1000
            yield b'"}'

        chunked = client.http.post(url, data=chunks(), headers=headers, timeout=30)
        assert chunked.request.headers.get("Transfer-Encoding") == "chunked"
        # Django reads no body without a Content-Length (WSGI), so a chunked body is never parsed: the message
        # is missing. On Lambda, API Gateway hands over whole bodies with their length, and 413 applies.
        assert chunked.status_code == 400, chunked.text
        assert chunked.json()["error"]["fields"] == {"message": ["This field is required."]}
        # gunicorn closes a connection whose body it did not read: ask on a new one
        listing = requests.get(f"{base_url}/api/v1/conversations", cookies=client.http.cookies, timeout=30)
        assert listing.json() == {"conversations": [], "next": None}


def test_load_script_loses_and_duplicates_nothing():
    run = subprocess.run(
        [
            sys.executable,
            "scripts/load.py",
            "--clients",
            "6",
            "--messages",
            "3",
            "--workers",
            "2",
            "--time-limit",
            "60",
        ],  # noqa: E501
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("lost=0 duplicated=0 broken_pairs=0 unexpected_5xx=0") == 2, run.stdout
