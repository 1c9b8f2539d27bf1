"""Real parts for the on-call tests and bench: an SMTP server (aiosmtpd) and an HTTP receiver
(http.server) on loopback, each in its own thread, recording what arrives."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mailbox:
    """aiosmtpd handler: every message received, parsed, with its envelope recipients."""

    def __init__(self, hold: threading.Event | None = None) -> None:
        self.messages: list[tuple[list[str], Message, str]] = []
        self.arriving = 0  # messages whose DATA has begun (held ones included)
        self.arrived = threading.Condition()
        self._hold = hold

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.arrived:
            self.arriving += 1
            self.arrived.notify_all()
        if self._hold is not None:  # a slow server: answer only once the test lets it
            await asyncio.get_running_loop().run_in_executor(None, self._hold.wait, 20)
        parsed = message_from_bytes(envelope.content)
        body = parsed.get_payload(decode=True).decode()
        with self.arrived:
            self.messages.append((list(envelope.rcpt_tos), parsed, body))
            self.arrived.notify_all()
        return "250 OK"

    def to(self, address: str) -> list[tuple[Message, str]]:
        return [(m, b) for rcpt, m, b in self.messages if address in rcpt]

    def wait_for(self, count: int, timeout: float = 10) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.messages) >= count, timeout)

    def wait_for_arriving(self, count: int, timeout: float = 10) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: self.arriving >= count, timeout)


@contextmanager
def smtp_server(hold: threading.Event | None = None) -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox(hold)
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


class Receiver:
    """What the webhook receiver got: (headers, body) per request; answers ``statuses`` in
    turn (then 200)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()


@contextmanager
def http_receiver() -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.requests.append((dict(self.headers.items()), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()
