//! The integration tests, one binary (crates.io style): each module is one area, run through the
//! HTTP API, the pages, the CLI or a real browser. `common` starts the real app per test.

mod common;

mod abuse;
mod abuse_load;
mod abuse_openapi;
mod access;
mod accounts;
mod audit;
mod badges;
mod browser_accounts;
mod browser_checks;
mod browser_integrity;
mod browser_journeys;
mod browser_money;
mod browser_taking;
mod browser_verify_drafts;
mod credentials_issue;
mod credentials_pages;
mod credentials_rdfc;
mod credentials_verify;
mod db_statements;
mod demo;
mod exams_api;
mod exams_cli;
mod exams_grading;
mod exams_integrity;
mod exams_interop;
mod exams_lint;
mod exams_pages;
mod journey;
mod openapi_routes;
mod referrals_events;
mod referrals_flow;
mod referrals_pages;
mod referrals_programs;
mod resilience;
mod schema;
mod schemathesis;
mod sessions_cache;
mod stripe;
mod vendor_console;
mod verify_cache;
mod webhooks_out;
