#!/usr/bin/env python3
"""A webhook receiver for the tests: verifies every delivery with the `standardwebhooks` package
(the reference implementation of the Standard Webhooks specification) and appends one JSON line
per request to a log: {"id", "type", "ok", "error"?, "subject"?}. Verified deliveries are
answered 204, others 400.

    webhook_receiver.py PORT SECRET LOGFILE [--delay-ms N]

Prints "ready" once listening. Stop it with SIGTERM/SIGKILL; start it again on the same port to
simulate an endpoint that comes back.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

PORT = int(sys.argv[1])
WEBHOOK = Webhook(sys.argv[2])
LOG = sys.argv[3]
DELAY = int(sys.argv[5]) / 1000 if len(sys.argv) > 5 and sys.argv[4] == "--delay-ms" else 0
LOCK = threading.Lock()


def record(entry):
    with LOCK, open(LOG, "a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k: v for k, v in self.headers.items()}
        if DELAY:
            time.sleep(DELAY)
        try:
            payload = WEBHOOK.verify(body, headers)
        except (WebhookVerificationError, ValueError) as e:
            record({"id": headers.get("webhook-id"), "ok": False, "error": str(e)})
            self.send_response(400)
            self.end_headers()
            return
        data = payload.get("data", {})
        subject = next(
            (data[k] for k in ("credential_id", "attempt_id", "commission_id", "payout_id") if k in data),
            None,
        )
        record({
            "id": headers.get("webhook-id"),
            "type": payload.get("type"),
            "timestamp": payload.get("timestamp"),
            "subject": subject,
            "ok": True,
            "payload": payload,
        })
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


server = Server(("127.0.0.1", PORT), Handler)
print("ready", flush=True)
server.serve_forever()
