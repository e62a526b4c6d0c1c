"""A tiny SMTP server for development: it accepts every message and keeps it in a folder.

    python smtp_sink.py                        # 127.0.0.1:8025, messages in ./outbox/
    python smtp_sink.py --port 2525 --folder /tmp/mail

Nothing is relayed anywhere. Each message is saved as ``outbox/<n>-<time>.eml`` (open it with any
mail client) and summed up on stdout. The tests start the same `Sink` with their own callback.
"""

from __future__ import annotations

import argparse
import itertools
import threading
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class Sink:
    """An aiosmtpd handler that passes each message it receives to ``deliver``."""

    def __init__(self, deliver: Callable[[EmailMessage], None]) -> None:
        self.deliver = deliver

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # SMTP lines end in CRLF; stored and handed on, the message uses the local "\n".
        content = envelope.content.replace(b"\r\n", b"\n")
        message = message_from_bytes(content, policy=policy.default)
        self.deliver(message)
        return "250 Message accepted for delivery"


def start(deliver: Callable[[EmailMessage], None], host: str, port: int) -> Controller:
    """Serve SMTP on ``host:port`` from a background thread; ``.stop()`` the result to end."""
    controller = Controller(Sink(deliver), hostname=host, port=port)
    controller.start()
    return controller


def save_to(folder: Path) -> Callable[[EmailMessage], None]:
    """A ``deliver`` callback that writes each message to ``folder`` and prints a summary."""
    folder.mkdir(parents=True, exist_ok=True)
    numbers = itertools.count(len(list(folder.glob("*.eml"))) + 1)

    def deliver(message: EmailMessage) -> None:
        path = folder / f"{next(numbers):04d}-{time.strftime('%Y%m%d-%H%M%S')}.eml"
        path.write_bytes(message.as_bytes())
        print(f"{path.name}: {message['Subject']!s} (to {message['To']!s})", flush=True)

    return deliver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--folder", type=Path, default=Path(__file__).parent / "outbox")
    args = parser.parse_args()
    controller = start(save_to(args.folder), args.host, args.port)
    print(f"SMTP sink on {args.host}:{args.port}, saving to {args.folder}/ (Ctrl-C stops)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
