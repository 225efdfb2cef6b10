"""Run Zappa's handler in a subprocess, as the Lambda runtime would, and talk to it with API Gateway events."""

import json
import os
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from tests.deploy.lambda_driver import RESPONSE_MARKER
from tests.support import CHAT_URL, PROJECT, log_records

DRIVER = Path(__file__).with_name("lambda_driver.py")
API_HOST = "abc123defg.execute-api.us-east-1.amazonaws.com"
# The dev stage's models (zappa_settings.json), which the Lambda containers call.
CHAT_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
SCREEN_MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


class LambdaProcess:
    """One warm Lambda container: a process that keeps one LambdaHandler across the events it is given."""

    def __init__(self, *, app_root: Path, settings_dir: Path, handler_module: str, env: dict[str, str]) -> None:
        # An unpacked zip runs without site-packages (-S): only what the zip holds can be imported.
        isolated = handler_module == "handler"
        command = [sys.executable, *(["-S"] if isolated else []), str(DRIVER)]
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self._process = subprocess.Popen(
            [*command, str(app_root), str(settings_dir), handler_module],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self.manage_logs: list[str] = []  # what the first-deploy `manage` events printed
        self.snapstart_logs: list[str] = []  # what the last SnapStart step printed
        self.startup_logs, ready = self._read_answer()
        self.handler_file = ready["ready"]

    def invoke(self, event: dict[str, Any], *, request_id: str | None = None) -> tuple[Any, list[str]]:
        """Send one event; return the handler's answer and the stdout lines (CloudWatch's view) it printed."""
        request = {"event": event, "request_id": request_id or str(uuid.uuid4())}
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        logs, answer = self._read_answer()
        if "exception" in answer:
            raise AssertionError(f"the handler raised:\n{answer['exception']}")
        return answer["response"], logs

    def snapstart(self, step: str) -> Any:
        """Play one step of Lambda SnapStart in the container (lambda_driver.SNAPSTART_STEPS); return its answer."""
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"snapstart": step}) + "\n")
        self._process.stdin.flush()
        self.snapstart_logs, answer = self._read_answer()  # after `exit`: the parent's answer to `fork`
        if "exception" in answer:
            raise AssertionError(f"the SnapStart step {step} raised:\n{answer['exception']}")
        return answer["response"]

    def _read_answer(self) -> tuple[list[str], dict[str, Any]]:
        logs: list[str] = []
        assert self._process.stdout is not None
        while line := self._process.stdout.readline():
            if line.startswith(RESPONSE_MARKER):
                return logs, json.loads(line[len(RESPONSE_MARKER) :])
            logs.append(line.rstrip("\n"))
        self._stderr.seek(0)
        raise RuntimeError(f"the Lambda process exited:\n{''.join(logs)}\n{self._stderr.read()[-5000:]}")

    def stop(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        self._process.wait(timeout=20)
        self._stderr.close()


def lambda_environment(*, dynamodb_url: str, bedrock_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    """Return the environment of a Lambda container: the runtime's variables plus what DEPLOY.md sets."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only
        "AWS_LAMBDA_FUNCTION_NAME": "chatapp-dev",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock_url,
        "DJANGO_SECRET_KEY": "lambda-test-secret-key",
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "HOME": str(workdir),
    }
    env.update(extra)
    return env


def save_python_settings(stage: str, directory: Path) -> Path:
    """Write the zappa_settings.py that Zappa would put in the zip, from the real zappa_settings.json."""
    directory.mkdir(parents=True, exist_ok=True)
    zappa = Path(sys.executable).with_name("zappa")
    subprocess.run(
        [str(zappa), "save-python-settings-file", stage, "--output_path", str(directory / "zappa_settings.py")],
        cwd=PROJECT,
        check=True,
        capture_output=True,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
    )
    return directory


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str
    set_cookies: list[str]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class LambdaClient:
    """A browser-like client (keeps cookies, sends the CSRF token and Origin) that speaks in API Gateway events."""

    process: LambdaProcess
    version: str = "v2"  # "v2" = HTTP API, "v1" = REST API
    stage: str = "dev"
    host: str = API_HOST
    custom_domain: bool = False  # a custom domain's mapping strips the stage from the path
    cookies: dict[str, str] = field(default_factory=dict)
    logs: list[str] = field(default_factory=list)

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post_json(self, path: str, body: Any, **kwargs: Any) -> Response:
        return self.request("POST", path, body=json.dumps(body), content_type="application/json", **kwargs)

    def chat(self, message: str, token: str, **fields: Any) -> Response:
        """Post a chat message as the page does: with the CSRF token, from the API's own origin."""
        headers = {"x-csrftoken": token, "origin": f"https://{self.host}"}
        return self.post_json(CHAT_URL, {"message": message, **fields}, headers=headers)

    def session(self) -> str:
        """Start a session like the page does; return the CSRF token."""
        response = self.get("/api/v1/session")
        assert response.status == 200, response.body
        return response.json()["csrf_token"]

    def request(
        self,
        method: str,
        path: str,
        *,
        body: str | None = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
        request_id: str | None = None,
    ) -> Response:
        all_headers = {"host": self.host, "x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.7"}
        if content_type:
            all_headers["content-type"] = content_type
        all_headers.update(headers or {})
        build = self._v2_event if self.version == "v2" else self._v1_event
        answer, self.logs = self.process.invoke(build(method, path, all_headers, body), request_id=request_id)
        return self._response(answer)

    def _cookie_list(self) -> list[str]:
        return [f"{name}={value}" for name, value in self.cookies.items()]

    def _v2_event(self, method: str, path: str, headers: dict[str, str], body: str | None) -> dict[str, Any]:
        raw_path = path if self.custom_domain else f"/{self.stage}{path}"
        return {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": raw_path.split("?")[0],
            "rawQueryString": path.partition("?")[2],
            "cookies": self._cookie_list(),
            "headers": {name.lower(): value for name, value in headers.items()},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abc123defg",
                "domainName": self.host,
                "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7"},
                "requestId": str(uuid.uuid4()),
                "routeKey": "$default",
                "stage": self.stage,
                "timeEpoch": 1795000000000,
            },
            "body": body,
            "isBase64Encoded": False,
        }

    def _v1_event(self, method: str, path: str, headers: dict[str, str], body: str | None) -> dict[str, Any]:
        titled = {name.title(): value for name, value in headers.items()}
        if self.cookies:
            titled["Cookie"] = "; ".join(self._cookie_list())
        return {
            "resource": "/{proxy+}",
            "path": path.split("?")[0],
            "httpMethod": method,
            "headers": titled,
            "multiValueHeaders": {name: [value] for name, value in titled.items()},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": {"proxy": path.lstrip("/")},
            "requestContext": {"stage": self.stage, "httpMethod": method, "requestId": str(uuid.uuid4())},
            "body": body,
            "isBase64Encoded": False,
        }

    def _response(self, answer: dict[str, Any]) -> Response:
        headers = {name.lower(): value for name, value in (answer.get("headers") or {}).items()}
        if self.version == "v2":
            set_cookies = answer.get("cookies") or []
        else:
            multi = {name.lower(): values for name, values in (answer.get("multiValueHeaders") or {}).items()}
            set_cookies = multi.get("set-cookie", [])
        for header in set_cookies:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        body = answer.get("body") or ""
        if answer.get("isBase64Encoded"):
            import base64

            body = base64.b64decode(body).decode()
        return Response(answer["statusCode"], headers, body, set_cookies)

    def json_logs(self) -> list[dict[str, Any]]:
        """Return the JSON log lines the last request printed."""
        return log_records(self.logs)
