DROP INDEX orders_provider_reference;
DROP TABLE stripe_events;
DROP TABLE exam_checkout;
DROP TABLE stripe_settings;
