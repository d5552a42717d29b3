"""The worker: a scheduler that records a tick in the database every TICK_SECONDS, until stopped."""
import os
import signal
import threading

from notes.db import connect

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())


def main() -> None:
    every = float(os.environ.get("TICK_SECONDS", "60"))
    env = os.environ.get("APP_ENV", "unknown")
    print(f"worker for {env}: a tick every {every:g}s", flush=True)
    with connect() as conn:
        while not stop.is_set():
            conn.execute("INSERT INTO ticks DEFAULT VALUES")
            stop.wait(every)


if __name__ == "__main__":
    main()
