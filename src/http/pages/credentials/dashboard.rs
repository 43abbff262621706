//! The certificates section of a person's dashboard.

use askama::Template;
use chrono::NaiveDateTime;

use super::page_error;
use super::vendor::row_view;
use crate::accounts::SessionUser;
use crate::app::AppState;
use crate::credentials::service::CredentialError;
use crate::credentials::store::{self, CredentialListing};
use crate::http::pages::PageError;

pub struct DashboardCredential {
    pub id: String,
    pub exam: String,
    pub issued: String,
    pub expires: String,
    pub status: &'static str,
    pub superseded: bool,
}

#[derive(Template)]
#[template(path = "credentials/dashboard_section.html")]
struct DashboardSection {
    credentials: Vec<DashboardCredential>,
    /// The public profile's address when the person turned it on.
    profile: Option<String>,
    csrf: String,
}

pub(super) fn dashboard_credentials(
    rows: Vec<CredentialListing>,
    now: NaiveDateTime,
) -> Vec<DashboardCredential> {
    rows.into_iter()
        .map(|row| {
            let view = row_view(row, now);
            DashboardCredential {
                id: view.id,
                exam: view.exam,
                issued: view.issued,
                expires: view.expires,
                status: view.status,
                superseded: view.superseded,
            }
        })
        .collect()
}

/// The person's certificates and their public profile setting, for the dashboard.
pub async fn dashboard_section(
    state: &AppState,
    user: &SessionUser,
    csrf: &str,
) -> Result<String, PageError> {
    let user_id = user.id.clone();
    let now = state.clock.now();
    let (rows, handle) = state
        .db(move |conn| {
            Ok::<_, CredentialError>((
                store::user_listing(conn, &user_id)?,
                crate::accounts::store::profile_handle(conn, &user_id)?,
            ))
        })
        .await
        .map_err(page_error)?;
    DashboardSection {
        credentials: dashboard_credentials(rows, now),
        profile: handle.map(|h| state.links.url(&format!("/people/{h}"))),
        csrf: csrf.to_owned(),
    }
    .render()
    .map_err(|e| PageError::Internal(format!("template: {e}")))
}
