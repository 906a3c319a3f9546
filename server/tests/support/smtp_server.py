"""A small SMTP server for Portico's tests (aiosmtpd).

Writes each message it accepts to MAILDIR as NNNNNN.eml (written aside, then
renamed, so a reader never sees half a message). Optionally offers STARTTLS with
a certificate and requires it, requires AUTH with a user and password, and for
tests of crashes, stalls: at RCPT for the first recipient matching a pattern it
creates a signal file and then holds the connection without ever answering.
Prints "ready" once it accepts connections; stops on SIGTERM or SIGINT.
"""

import argparse
import asyncio
import os
import re
import signal
import ssl

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, maildir, stall, stall_signal):
        self.maildir = maildir
        self.stall = re.compile(stall) if stall else None
        self.stall_signal = stall_signal
        self.stalled = False
        names = [f for f in os.listdir(maildir) if f.endswith(".eml")]
        self.count = max((int(f[:-4]) for f in names), default=0)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.stall and not self.stalled and self.stall.search(address):
            self.stalled = True
            with open(self.stall_signal, "w"):
                pass
            # Hold the connection, answering nothing, until the client goes.
            await asyncio.Event().wait()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = os.path.join(self.maildir, f"{self.count:06}.eml")
        aside = os.path.join(self.maildir, f".{self.count:06}.partial")
        with open(aside, "wb") as f:
            f.write(envelope.original_content or envelope.content)
            f.flush()
            os.fsync(f.fileno())
        os.rename(aside, name)
        return "250 Message accepted for delivery"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False)

    return check


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--maildir", required=True)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--auth-user")
    p.add_argument("--auth-password")
    p.add_argument("--stall", help="regex: stall at RCPT for the first match")
    p.add_argument("--stall-signal", help="file to create when stalling")
    args = p.parse_args()
    os.makedirs(args.maildir, exist_ok=True)

    params = {}
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        params.update(tls_context=context, require_starttls=True)
    if args.auth_user:
        params.update(
            authenticator=authenticator(args.auth_user, args.auth_password),
            auth_required=True,
            auth_require_tls=bool(args.tls_cert),
        )
    handler = Handler(args.maildir, args.stall, args.stall_signal)
    controller = Controller(handler, hostname="127.0.0.1", port=args.port, **params)
    controller.start()
    print("ready", flush=True)

    done = asyncio.Event()
    loop = asyncio.new_event_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    try:
        loop.run_until_complete(done.wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
