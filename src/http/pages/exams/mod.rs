//! Exam pages: the catalog, an exam's page with the start form, the exam-taking page (works without
//! JavaScript; with it, answers autosave through the API), the score report, the dashboard section, and the
//! vendor console's exam pages (bank upload with errors by line, results, revenue, vouchers, statistics).

mod catalog;
mod dashboard;
mod result;
mod statistics;
mod taking;
mod vendor;

use actix_web::web;

use super::PageError;
use crate::exams::ExamError;
use crate::http::problem::ApiError;

use catalog::{catalog_page, exam_page, start_submit};
use result::result_page;
use statistics::vendor_statistics_page;
use taking::{summary_page, summary_submit, take_page, take_submit};
use vendor::{
    vendor_exam_page, vendor_exams_page, vendor_upload, vendor_version_action, vendor_vouchers,
};

pub use dashboard::dashboard_section;
pub use statistics::histogram_chart;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(catalog_page)
        .service(exam_page)
        .service(start_submit)
        .service(take_page)
        .service(take_submit)
        .service(summary_page)
        .service(summary_submit)
        .service(result_page)
        .service(vendor_exams_page)
        .service(vendor_upload)
        .service(vendor_exam_page)
        .service(vendor_version_action)
        .service(vendor_vouchers)
        .service(vendor_statistics_page);
}

/// Links for the `/vendor` hub.
pub fn vendor_console_links(vendor_slug: &str) -> Vec<(String, &'static str)> {
    vec![(
        format!("/vendor/{vendor_slug}/exams"),
        "Exams, banks and vouchers",
    )]
}

fn page_error(e: ExamError) -> PageError {
    ApiError::from(e).into()
}

fn when(t: chrono::NaiveDateTime) -> String {
    super::human_time(t)
}
