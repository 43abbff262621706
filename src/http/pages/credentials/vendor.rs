//! The vendor console's credential list with revocation: `/vendor/{vendor}/credentials`.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::page_error;
use crate::accounts::{Vendor, VendorRole};
use crate::app::AppState;
use crate::credentials::service::{self, CredentialError};
use crate::credentials::store::{self, CredentialListing};
use crate::http::auth::user_actor;
use crate::http::pages::{
    render, render_with_status, see_other, urlencode, vendor_with_role, Form, PageContext,
    PageError, PageUser,
};

pub struct CredentialRowView {
    pub id: String,
    pub holder: String,
    pub exam: String,
    pub issued: String,
    pub expires: String,
    pub status: &'static str,
    pub reason: Option<String>,
    pub superseded: bool,
    pub error: Option<String>,
    pub reason_value: String,
}

pub(super) fn row_view(row: CredentialListing, now: NaiveDateTime) -> CredentialRowView {
    CredentialRowView {
        status: service::stored_status(row.revoked_at, row.valid_until, now),
        issued: crate::http::pages::human_date(row.valid_from),
        expires: row
            .valid_until
            .map_or_else(|| "never".to_string(), crate::http::pages::human_date),
        superseded: row.superseded_by.is_some(),
        reason: row.revocation_reason,
        holder: row.holder_name,
        exam: row.exam_title,
        id: row.id,
        error: None,
        reason_value: String::new(),
    }
}

#[derive(Template)]
#[template(path = "credentials/vendor.html")]
struct VendorPage {
    ctx: PageContext,
    vendor: Vendor,
    rows: Vec<CredentialRowView>,
}

async fn vendor_rows(
    state: &AppState,
    vendor_id: String,
) -> Result<Vec<CredentialRowView>, PageError> {
    let now = state.clock.now();
    let rows = state
        .db(move |conn| store::vendor_listing(conn, &vendor_id, 500).map_err(CredentialError::from))
        .await
        .map_err(page_error)?;
    Ok(rows.into_iter().map(|row| row_view(row, now)).collect())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RevokedQuery {
    revoked: String,
}

#[get("/vendor/{vendor}/credentials")]
pub(super) async fn vendor_credentials(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
    query: web::Query<RevokedQuery>,
) -> Result<HttpResponse, PageError> {
    let vendor = vendor_with_role(&state, &user, path.into_inner(), VendorRole::Examiner).await?;
    let rows = vendor_rows(&state, vendor.id.clone()).await?;
    let mut ctx = PageContext::new(&req, Some(user));
    if let Some(row) = rows.iter().find(|r| r.id == query.revoked) {
        ctx.notices.push(format!(
            "{}'s {} credential is revoked; the holder was told by mail.",
            row.holder, row.exam
        ));
    }
    Ok(render(&VendorPage { ctx, vendor, rows }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RevokeForm {
    reason: String,
}

#[post("/vendor/{vendor}/credentials/{id}/revoke")]
pub(super) async fn vendor_revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    Form(form): Form<RevokeForm>,
) -> Result<HttpResponse, PageError> {
    let (slug, id) = path.into_inner();
    let vendor = vendor_with_role(&state, &user, slug, VendorRole::Examiner).await?;
    let ctx = state.issue_context();
    let now = state.clock.now();
    let actor = user_actor(&req, &user);
    let (target, reason, revoked_vendor) = (id.clone(), form.reason.clone(), vendor.clone());
    let outcome = state
        .tx(move |conn| service::revoke(conn, &ctx, &revoked_vendor, &target, &reason, &actor, now))
        .await;
    match outcome {
        Ok(_) => Ok(see_other(&format!(
            "/vendor/{}/credentials?revoked={}",
            vendor.slug,
            urlencode(&id)
        ))),
        Err(CredentialError::Validation(problems)) => {
            let mut rows = vendor_rows(&state, vendor.id.clone()).await?;
            let message = problems
                .into_iter()
                .map(|p| p.message)
                .collect::<Vec<_>>()
                .join("; ");
            if let Some(row) = rows.iter_mut().find(|r| r.id == id) {
                row.error = Some(message);
                row.reason_value = form.reason.clone();
            }
            Ok(render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &VendorPage {
                    ctx: PageContext::new(&req, Some(user)),
                    vendor,
                    rows,
                },
            ))
        }
        Err(e) => Err(page_error(e)),
    }
}
