//! The JSON API (`/api/v1`), one file per domain.

pub mod accounts;
pub mod audit;
pub mod badges;
pub mod billing;
pub mod credentials;
pub mod exams;
pub mod referrals;
pub mod webhooks;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    accounts::configure(cfg);
    audit::configure(cfg);
    badges::configure(cfg);
    billing::configure(cfg);
    credentials::configure(cfg);
    exams::configure(cfg);
    referrals::configure(cfg);
    webhooks::configure(cfg);
}
