"""Fixtures for the Python `signalrcore` interop tests.

`chat_server` starts the `chat` example binary on a free port and yields its base URL
(`http://127.0.0.1:<port>`); the hub is at `<base>/hubs/chat`. The binary is taken from
`$HUBS_BIN_DIR/chat`, by default `<repo>/target/debug/chat` (build it with
`cargo build -p examples --bins`).
"""

import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("HUBS_BIN_DIR") or REPO_ROOT / "target" / "debug")
START_TIMEOUT_S = 30.0
LOG_TAIL_CHARS = 20_000


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _tail(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        return f"<cannot read server log: {err}>"
    if len(text) > LOG_TAIL_CHARS:
        return f"[... {len(text) - LOG_TAIL_CHARS} earlier chars omitted ...]\n" + text[-LOG_TAIL_CHARS:]
    return text


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attaches the server's output to the report of a failed test."""
    outcome = yield
    report = outcome.get_result()
    log_path = getattr(item, "_hubs_server_log", None)
    if log_path is not None and report.failed:
        report.sections.append((f"chat server output ({report.when})", _tail(log_path)))


@pytest.fixture
def chat_server(request, tmp_path):
    """Starts `chat` with PORT=<free port>, waits until it accepts TCP connections, yields
    the base URL and kills the server afterwards."""
    binary = BIN_DIR / "chat"
    if not binary.is_file():
        pytest.fail(
            f"server binary not found: {binary} "
            "(run `cargo build -p examples --bins` or set HUBS_BIN_DIR)"
        )
    port = _free_port()
    log_path = tmp_path / "chat.log"
    request.node._hubs_server_log = log_path
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(binary)],
            cwd=REPO_ROOT,
            env={**os.environ, "PORT": str(port)},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _accepts_connections(port):
            if proc.poll() is not None:
                pytest.fail(
                    f"chat exited with code {proc.returncode} before accepting connections\n"
                    + _tail(log_path)
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"chat did not accept connections on port {port} within "
                    f"{START_TIMEOUT_S} s\n" + _tail(log_path)
                )
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        if proc.returncode not in (0, -9):
            # Anything but our SIGKILL means the server died on its own during the test.
            print(f"chat exited with code {proc.returncode}\n{_tail(log_path)}")


@pytest.fixture(autouse=True)
def thread_exceptions():
    """Records exceptions that escape signalrcore's background threads (its long-polling
    thread, for instance, dies with the HTTP error of a failed POST), so that test failures
    can show them. The previous hook (pytest's) still runs."""
    seen = []
    previous = threading.excepthook

    def hook(args):
        seen.append(f"{args.thread.name if args.thread else '?'}: "
                    f"{type(args.exc_value).__name__}: {args.exc_value}")
        previous(args)

    threading.excepthook = hook
    try:
        yield seen
    finally:
        threading.excepthook = previous
