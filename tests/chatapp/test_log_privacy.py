"""Logs never carry message text unless LOG_MESSAGE_CONTENT is on, even when a model quotes the message."""

import json
import logging

import pytest

from fakes.bedrock import text_answer, verdict_answer
from tests.support import SCREEN, request_log_records

SECRET = "my account number is 7731-PLUM-0042"


@pytest.mark.parametrize(
    "answer",
    [
        verdict_answer("probably fine", "none", f"The user wrote: {SECRET}"),  # a verdict outside the contract
        text_answer(f"I think the message '{SECRET}' is safe."),  # no tool call, and not JSON
        text_answer(json.dumps([SECRET])),  # JSON, but not an object
    ],
)
def test_an_unreadable_screening_answer_is_logged_by_its_shape_only(api, bedrock, settings, capsys, caplog, answer):
    settings.LOG_MESSAGE_CONTENT = False
    bedrock.then(SCREEN, answer)
    capsys.readouterr()
    with caplog.at_level(logging.INFO):  # the level the app logs at (botocore DEBUG logs bodies, by design)
        response = api.chat(f"Please check: {SECRET}")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "screening_unavailable"
    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert "7731-PLUM-0042" not in logged
    line = request_log_records(captured.out)[-1]
    assert line["error"] == "screening_unavailable"
    assert "(len=" in line["cause"]  # what was wrong is still visible: the shape of the answer
