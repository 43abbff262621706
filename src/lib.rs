//! Credo: certification exams, signed Open Badges 3.0 credentials and an ethical referral network
//! for open source vendors. See docs/ARCHITECTURE.md for the map.

pub mod accounts;
pub mod app;
pub mod audit;
pub mod badges;
pub mod billing;
pub mod charts;
pub mod cli;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod db;
pub mod demo;
pub mod exams;
pub mod http;
pub mod jobs;
pub mod links;
pub mod mail;
pub mod metrics;
pub mod money;
pub mod net;
pub mod ratelimit;
pub mod referrals;
pub mod secrets;
pub mod server;
pub mod spreadsheet;
pub mod text;
pub mod usecases;
pub mod validation;
pub mod webhooks;

pub use app::AppState;

/// Picks rustls' crypto provider once per process: lettre and the test tools pull in different
/// ones, and rustls refuses to guess when both are compiled in.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
