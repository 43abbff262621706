//! The audit trail: a vendor's owners read their vendor's (`/api/v1/vendors/{vendor}/audit`,
//! JSON pages or CSV), operators the whole site's (`/api/v1/audit`). People only: reading who did
//! what is not a job for an integration's API key.

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use serde::Deserialize;

use crate::accounts::{Principal, VendorRole};
use crate::app::AppState;
use crate::audit;
use crate::http::auth::{operators_only, CurrentUser};
use crate::http::download;
use crate::http::extract::whole_number;
use crate::http::openapi::{Invalid, NotFound, SignedIn};
use crate::http::problem::ApiError;
use crate::usecases::vendor_for;

crate::http::openapi::routes!("audit": vendor_trail, vendor_trail_csv, site_trail);

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct TrailQuery {
    /// The page, from 1 (default 1).
    #[param(value_type = Option<i64>, minimum = 1)]
    pub page: Option<String>,
    /// `json` (default) or `csv` (the whole trail).
    pub format: Option<String>,
}

/// What the query asks for: a page of JSON, or the CSV export.
pub enum Wanted {
    Page(i64),
    Csv,
}

impl TrailQuery {
    pub fn wanted(&self) -> Result<Wanted, ApiError> {
        match self.format.as_deref().map(str::trim) {
            None | Some("" | "json") => {}
            Some("csv") => return Ok(Wanted::Csv),
            Some(_) => return Err(ApiError::validation("format", "use json or csv")),
        }
        Ok(Wanted::Page(
            whole_number("page", self.page.as_deref())?.unwrap_or(1),
        ))
    }
}

async fn answer(
    state: &AppState,
    vendor_id: Option<String>,
    filename: String,
    wanted: Wanted,
) -> Result<HttpResponse, ApiError> {
    match wanted {
        Wanted::Csv => {
            let body = state
                .db(move |conn| audit::csv(conn, vendor_id.as_deref()))
                .await?;
            Ok(download("text/csv; charset=utf-8", &filename, body))
        }
        Wanted::Page(page) => {
            let page = state
                .db(move |conn| {
                    audit::read_page(conn, vendor_id.as_deref(), page, audit::PAGE_SIZE)
                })
                .await?;
            Ok(HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(page))
        }
    }
}

/// The vendor's audit trail (owners)
///
/// Pages of JSON, newest first, or the whole trail as CSV with `format=csv`.
#[utoipa::path(
    operation_id = "vendorAuditTrail",
    params(TrailQuery),
    responses(
        (status = 200, description = "A page of the trail, or the CSV", content(
            (crate::audit::Page = "application/json"),
            (String = "text/csv")
        )),
        SignedIn, NotFound, Invalid
    )
)]
#[get("/api/v1/vendors/{vendor}/audit")]
async fn vendor_trail(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<String>,
    query: web::Query<TrailQuery>,
) -> Result<HttpResponse, ApiError> {
    let wanted = query.wanted()?;
    let vendor = vendor_for(
        &state,
        Principal::User(user),
        path.into_inner(),
        VendorRole::Owner,
    )
    .await?;
    let filename = format!("{}-audit.csv", vendor.slug);
    answer(&state, Some(vendor.id), filename, wanted).await
}

/// The vendor's whole audit trail as CSV (owners)
#[utoipa::path(
    operation_id = "vendorAuditTrailCsv",
    responses(
        (status = 200, description = "The trail, newest first", content_type = "text/csv", body = String),
        SignedIn, NotFound
    )
)]
#[get("/api/v1/vendors/{vendor}/audit.csv")]
async fn vendor_trail_csv(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let vendor = vendor_for(
        &state,
        Principal::User(user),
        path.into_inner(),
        VendorRole::Owner,
    )
    .await?;
    let filename = format!("{}-audit.csv", vendor.slug);
    answer(&state, Some(vendor.id), filename, Wanted::Csv).await
}

/// The whole site's audit trail (operators)
#[utoipa::path(
    operation_id = "siteAuditTrail",
    params(TrailQuery),
    responses(
        (status = 200, description = "A page of the trail, or the CSV", content(
            (crate::audit::Page = "application/json"),
            (String = "text/csv")
        )),
        SignedIn, Invalid
    )
)]
#[get("/api/v1/audit")]
async fn site_trail(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    query: web::Query<TrailQuery>,
) -> Result<HttpResponse, ApiError> {
    operators_only(
        &user,
        "read the whole site's audit trail; vendor owners read theirs at /api/v1/vendors/{vendor}/audit",
    )?;
    let wanted = query.wanted()?;
    answer(&state, None, "credo-audit.csv".into(), wanted).await
}
