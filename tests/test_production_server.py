"""Through a production-like server (gunicorn, production settings): body limits and a small load run."""

import subprocess
import sys

import pytest
import requests

from tests.support import PROJECT

pytestmark = pytest.mark.slow


def test_oversized_chunked_and_hostile_bodies_are_4xx_never_5xx():
    from scripts.load import ChatClient, stack

    with stack(workers=1, threads=4) as base_url:
        client = ChatClient(base_url)
        url = f"{base_url}/api/v1/ai/chat"
        headers = {"Content-Type": "application/json", **client.http.headers}

        def post(body, **kwargs):
            # A new connection each time: gunicorn closes one whose body the app did not read.
            return requests.post(url, data=body, headers=headers, cookies=client.http.cookies, timeout=60, **kwargs)

        # From just over MAX_REQUEST_BYTES to Lambda's 6 MB, across Django's DATA_UPLOAD_MAX_MEMORY_SIZE default
        # (2.5 MiB), where RequestDataTooBig used to make it a 500.
        for size in (100_000, 2 * 1024 * 1024, 3 * 1024 * 1024, 6_000_000):
            declared = post(b'{"message": "' + b"x" * size + b'"}')
            assert declared.status_code == 413, (size, declared.text)
            assert declared.json()["error"]["code"] == "payload_too_large"

        def chunks():
            yield b'{"message": "'
            for _ in range(100):
                yield b"y" * 1000
            yield b'"}'

        chunked = post(chunks())
        assert chunked.request.headers.get("Transfer-Encoding") == "chunked"
        # A chunked body declares no length and WSGI hands Django nothing to read: refused, not taken for empty.
        assert chunked.status_code == 413, chunked.text
        assert chunked.json()["error"]["code"] == "payload_too_large"

        hostile = [
            b"[" * 13_000 + b"]" * 13_000,
            b'{"message": "a", "message": "b"}',
            b'{"message": "\\ud800"}',
            b'{"message": "\xff"}',
            b'{"message": ' + b"9" * 5_000 + b"}",
        ]
        for body in hostile:
            answer = post(body)
            assert answer.status_code == 400, (body[:40], answer.text)
            assert answer.json()["error"]["code"] == "invalid_request"
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
