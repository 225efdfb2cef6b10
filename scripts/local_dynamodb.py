"""A local DynamoDB for `make run`: moto's server, with its tables kept on disk across restarts.

moto_server keeps everything in memory; this wraps it and snapshots the DynamoDB backend's tables to
a pickle file every few seconds when they changed, and once more on exit, then loads them on start.
Development only: it is not a database, and a crash loses at most the last couple of seconds.
"""

import argparse
import hashlib
import os
import pickle
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.server import ThreadedMotoServer


def snapshot() -> bytes:
    tables = {
        (account, region): backend.tables
        for account, regions in list(dynamodb_backends.items())
        for region, backend in list(regions.items())
        if backend.tables
    }
    for _attempt in range(5):
        try:
            return pickle.dumps(tables)
        except RuntimeError:  # a request changed a table mid-dump; try again
            continue
    return pickle.dumps(tables)


def restore(path: Path) -> int:
    if not path.exists():
        return 0
    tables: dict[tuple[str, str], Any] = pickle.loads(path.read_bytes())  # noqa: S301 - our own file
    for (account, region), region_tables in tables.items():
        dynamodb_backends[account][region].tables = region_tables
    return sum(len(region_tables) for region_tables in tables.values())


def save(path: Path, data: bytes) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--data", type=Path, default=Path(".local/dynamodb.pickle"))
    parser.add_argument("--every", type=float, default=2.0, help="seconds between snapshots")
    args = parser.parse_args()
    args.data.parent.mkdir(parents=True, exist_ok=True)

    restored = restore(args.data)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    print(f"local DynamoDB on http://127.0.0.1:{args.port} ({restored} tables restored from {args.data})", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    last_digest = hashlib.sha256(snapshot()).digest()
    while not stop.wait(args.every):
        data = snapshot()
        if (digest := hashlib.sha256(data).digest()) != last_digest:
            save(args.data, data)
            last_digest = digest
    save(args.data, snapshot())
    server.stop()
    print("local DynamoDB stopped, tables saved", file=sys.stderr)


if __name__ == "__main__":
    main()
