-- Stripe hand-off (docs/stripe.md). Per vendor: the endpoint's signing secret from Stripe, sealed
-- like the referral webhook secrets (XChaCha20-Poly1305 under a master subkey, bound to the vendor).
CREATE TABLE stripe_settings (
    vendor_id TEXT PRIMARY KEY REFERENCES vendors(id) ON DELETE CASCADE,
    webhook_secret TEXT NOT NULL,
    secret_hint TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Per exam: where the candidate pays (a Stripe Payment Link or any checkout URL taking
-- `client_reference_id`). The price checked against each payment is the exam's own price.
CREATE TABLE exam_checkout (
    exam_id TEXT PRIMARY KEY REFERENCES exams(id) ON DELETE CASCADE,
    payment_link TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Every Stripe event that changed (or was meant to change) an exam order, once per event id:
-- the primary key makes concurrent deliveries of one event apply once.
CREATE TABLE stripe_events (
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    order_id TEXT REFERENCES orders(id) ON DELETE SET NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (vendor_id, event_id)
);
CREATE INDEX stripe_events_received ON stripe_events(vendor_id, received_at);

-- A Stripe order's `reference` is its PaymentIntent (or Checkout Session) id: refunds find it.
CREATE INDEX orders_provider_reference ON orders(provider, reference);
