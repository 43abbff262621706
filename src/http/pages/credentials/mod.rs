//! Credential pages: the public certificate page `/c/{id}`, the paste/upload verify page, the
//! vendor's credential list with revocation, and the dashboard section of a person's certificates.

mod certificate;
mod dashboard;
mod profiles;
mod vendor;
mod verdict;
mod verify;

use actix_web::web;

use super::PageError;
use crate::credentials::service::CredentialError;
use crate::http::problem::ApiError;

use certificate::credential_page;
use profiles::{issuer_page, person_page, profile_setting};
use vendor::{vendor_credentials, vendor_revoke};
use verify::{verify_page, verify_submit};

pub use certificate::{linkedin_url, qr_svg};
pub use dashboard::{dashboard_section, DashboardCredential};
pub use vendor::CredentialRowView;
pub use verdict::{CheckView, FactsView, VerdictView};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(credential_page)
        .service(verify_page)
        .service(verify_submit)
        .service(vendor_credentials)
        .service(vendor_revoke)
        .service(issuer_page)
        .service(person_page)
        .service(profile_setting);
}

/// Links for the vendor console hub.
pub fn vendor_console_links(vendor_slug: &str) -> Vec<(String, &'static str)> {
    vec![(format!("/vendor/{vendor_slug}/credentials"), "Credentials")]
}

fn page_error(e: CredentialError) -> PageError {
    ApiError::from(e).into()
}
