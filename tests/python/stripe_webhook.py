#!/usr/bin/env python3
"""Stripe's own webhook signing and verification (the official `stripe` package, pinned in
scripts/test), for tests/it/stripe.rs.

    stripe_webhook.py sign SECRET TIMESTAMP < payload    prints a Stripe-Signature header
    stripe_webhook.py verify SECRET HEADER < payload     prints the event id; exit 1 if refused

`verify` runs both `stripe.WebhookSignature.verify_header` and `stripe.Webhook.construct_event`
with Stripe's default tolerance (300 s).
"""
import sys

import stripe


def main() -> int:
    if len(sys.argv) != 4 or sys.argv[1] not in ("sign", "verify"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, secret, arg = sys.argv[1:]
    payload = sys.stdin.buffer.read().decode("utf-8")
    if mode == "sign":
        print(stripe.WebhookSignature.generate_signature_header(payload, secret, int(arg)))
        return 0
    try:
        stripe.WebhookSignature.verify_header(payload, arg, secret, 300)
        event = stripe.Webhook.construct_event(payload, arg, secret)
    except stripe.SignatureVerificationError as e:
        print(f"refused: {e}", file=sys.stderr)
        return 1
    print(event["id"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
