//! Prometheus metrics served at `/metrics`.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub outbox_pending: IntGauge,
    pub mails_sent: IntCounter,
    pub mail_failures: IntCounter,
    pub job_runs: IntCounterVec,
    pub webhooks_pending: IntGauge,
    pub webhook_deliveries: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry =
            Registry::new_custom(Some("credo".into()), None).expect("static prefix is valid");
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route pattern and status",
            ),
            &["method", "route", "status"],
        )
        .expect("static metric definition");
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route pattern",
            ),
            &["method", "route"],
        )
        .expect("static metric definition");
        let outbox_pending = IntGauge::new("outbox_pending", "Mails waiting in the outbox")
            .expect("static metric definition");
        let mails_sent = IntCounter::new("mails_sent_total", "Mails delivered")
            .expect("static metric definition");
        let mail_failures = IntCounter::new("mail_failures_total", "Failed mail delivery attempts")
            .expect("static metric definition");
        let job_runs = IntCounterVec::new(
            Opts::new("job_runs_total", "Background job passes by job and outcome"),
            &["job", "outcome"],
        )
        .expect("static metric definition");
        let webhooks_pending = IntGauge::new(
            "webhooks_pending",
            "Webhook deliveries waiting to be delivered",
        )
        .expect("static metric definition");
        let webhook_deliveries = IntCounterVec::new(
            Opts::new(
                "webhook_attempts_total",
                "Webhook delivery attempts by outcome",
            ),
            &["outcome"],
        )
        .expect("static metric definition");
        for collector in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(outbox_pending.clone()),
            Box::new(mails_sent.clone()),
            Box::new(mail_failures.clone()),
            Box::new(job_runs.clone()),
            Box::new(webhooks_pending.clone()),
            Box::new(webhook_deliveries.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique");
        }
        Self {
            registry,
            http_requests,
            http_duration,
            outbox_pending,
            mails_sent,
            mail_failures,
            job_runs,
            webhooks_pending,
            webhook_deliveries,
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8(buffer).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
