"""Drive a Zappa `lambda_handler` in this process the way the Lambda runtime does, one event per stdin line.

Usage: python lambda_driver.py <app root> <directory holding zappa_settings.py> <handler module>
The handler module is `handler` for an unpacked zip (Zappa's copy at the zip root) or `zappa.handler`.
Each stdin line is `{"event": {...}, "request_id": "..."}`; the answer is printed as one stdout line starting
with RESPONSE_MARKER. Everything else on stdout is what CloudWatch would receive.
"""

import importlib
import json
import os
import sys
import traceback

RESPONSE_MARKER = "@@lambda-response@@ "


class Context:
    """The attributes of Lambda's context object that Zappa and the app read."""

    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "chatapp-dev")
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.memory_limit_in_mb = 1024
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "2026/11/26/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def main() -> None:
    app_root, settings_dir, handler_module = sys.argv[1:4]
    os.chdir(app_root)
    sys.path[:0] = [settings_dir, app_root]
    handler = importlib.import_module(handler_module)
    print(f"{RESPONSE_MARKER}{json.dumps({'ready': handler.__file__})}", flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = {"response": handler.lambda_handler(request["event"], Context(request["request_id"]))}
        except Exception:
            answer = {"exception": traceback.format_exc()}
        print(f"{RESPONSE_MARKER}{json.dumps(answer, default=str)}", flush=True)


if __name__ == "__main__":
    main()
