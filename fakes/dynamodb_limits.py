"""What DynamoDB refuses and moto lets through: key values that are empty or over DynamoDB's size limit.

A request with such a key fails on AWS with ValidationException (HTTP 400). moto stores or looks it up, so a
test on moto alone would never see a junk cookie turn into a 503. `enforce_key_limits` makes the client answer
those requests as DynamoDB does, before they are sent.
"""

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse

# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html: a partition key value is
# at most 2,048 bytes, a sort key value at most 1,024. Only the larger bound is checked, on every key attribute
# (which of a key's attributes is the sort key is the table's business): no false refusals.
KEY_VALUE_MAX_BYTES = 2048


def key_violation(params: dict[str, Any]) -> str | None:
    """Return DynamoDB's ValidationException message for a request whose key values it refuses, else None."""
    for key in _keys(params):
        for name, value in key.items():
            size = _size(value)
            if size == 0:
                return (
                    "One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                    f"contain an empty string value. Key: {name}"
                )
            if size > KEY_VALUE_MAX_BYTES:
                return (
                    "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size "
                    f"limit of {KEY_VALUE_MAX_BYTES} bytes"
                )
    return None


def _keys(params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield every primary key a request names (GetItem, DeleteItem, UpdateItem, batches, transactions)."""
    if "Key" in params:
        yield params["Key"]
    for table_request in (params.get("RequestItems") or {}).values():
        if isinstance(table_request, dict):  # BatchGetItem
            yield from table_request.get("Keys", [])
        else:  # BatchWriteItem
            yield from (write["DeleteRequest"]["Key"] for write in table_request if "DeleteRequest" in write)
    for action in params.get("TransactItems") or []:
        for operation in action.values():
            if "Key" in operation:
                yield operation["Key"]


def _size(value: dict[str, Any]) -> int | None:
    if "S" in value:
        return len(value["S"].encode("utf-8", "surrogatepass"))
    if "B" in value:
        raw = value["B"]
        return len(raw if isinstance(raw, bytes) else base64.b64decode(raw))
    return None  # a number: its own limits, not a key-length concern


@contextmanager
def enforce_key_limits(client: Any) -> Iterator[None]:
    """Make `client` answer a request with an empty or oversized key value as DynamoDB does: ValidationException."""

    def refuse(params: dict[str, Any], **kwargs: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        message = key_violation(json.loads(params["body"] or b"{}"))  # the request as sent: DynamoDB's JSON
        if message is None:
            return None
        metadata = {"HTTPStatusCode": 400, "HTTPHeaders": {}, "RequestId": "key-limits", "RetryAttempts": 0}
        error = {"Code": "ValidationException", "Message": message}
        return AWSResponse("https://dynamodb", 400, {}, None), {"Error": error, "ResponseMetadata": metadata}

    client.meta.events.register("before-call.dynamodb", refuse, unique_id="tests-dynamodb-key-limits")
    try:
        yield
    finally:
        client.meta.events.unregister("before-call.dynamodb", unique_id="tests-dynamodb-key-limits")
