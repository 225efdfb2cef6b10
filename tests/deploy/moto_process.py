"""Run moto's server in its own process on an ephemeral 127.0.0.1 port and print `port <n>` once it listens.

A separate process keeps its state apart from the in-process `mock_aws` that every other test resets.
"""

import signal
import sys
import threading

from moto.server import ThreadedMotoServer

if __name__ == "__main__":
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(f"port {server.get_host_and_port()[1]}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop()
    sys.exit(0)
