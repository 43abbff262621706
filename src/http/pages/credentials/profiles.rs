//! Public profiles: the issuer's `/issuers/{vendor}` and an earner's opt-in `/people/{handle}`.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::dashboard::{dashboard_credentials, DashboardCredential};
use super::page_error;
use crate::accounts::Vendor;
use crate::app::AppState;
use crate::credentials::service::{self, CredentialError};
use crate::credentials::store;
use crate::http::pages::{render, see_other, Form, MaybeUser, PageContext, PageError, PageUser};
use crate::http::problem::ApiError;

// ---------------------------------------------------------------------------------------------
// `/issuers/{vendor}`: the issuer's profile

#[derive(Template)]
#[template(path = "credentials/issuer.html")]
struct IssuerPage {
    ctx: PageContext,
    vendor: Vendor,
    did: String,
    did_document: String,
    exams: Vec<IssuerExam>,
}

struct IssuerExam {
    href: String,
    title: String,
    price: String,
    validity_months: i32,
}

#[get("/issuers/{vendor}")]
pub(super) async fn issuer_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let slug = path.into_inner();
    let lookup = slug.clone();
    let vendor = state
        .db(move |conn| service::find_vendor_by_slug(conn, &lookup))
        .await
        .map_err(|_| PageError::NotFound("There is no issuer with this address.".into()))?;
    let exams = state
        .db(crate::exams::service::catalog)
        .await
        .map_err(|e| PageError::from(ApiError::from(e)))?
        .into_iter()
        .filter(|e| e.vendor == slug)
        .map(|e| IssuerExam {
            href: format!("/exams/{}/{}", e.vendor, e.slug),
            price: e.price.display(),
            title: e.title,
            validity_months: e.validity_months,
        })
        .collect();
    let did = service::issuer_did(&state.links, &slug).map_err(page_error)?;
    Ok(render(&IssuerPage {
        ctx: PageContext::new(&req, user),
        did_document: state.links.issuer_did_document(&slug),
        did,
        vendor,
        exams,
    }))
}

// ---------------------------------------------------------------------------------------------
// `/people/{handle}`: an earner's opt-in public profile

#[derive(Template)]
#[template(path = "credentials/person.html")]
struct PersonPage {
    ctx: PageContext,
    name: String,
    credentials: Vec<DashboardCredential>,
}

#[get("/people/{handle}")]
pub(super) async fn person_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let handle = path.into_inner();
    let now = state.clock.now();
    let found = state
        .db(move |conn| {
            let Some((user_id, name)) =
                crate::accounts::store::find_by_profile_handle(conn, &handle)?
            else {
                return Ok(None);
            };
            let rows = store::user_listing(conn, &user_id)?;
            Ok::<_, CredentialError>(Some((name, rows)))
        })
        .await
        .map_err(page_error)?;
    let (name, rows) = found.ok_or_else(|| {
        PageError::NotFound(
            "There is no public profile with this address (its owner may have turned it off)."
                .into(),
        )
    })?;
    // Current certificates only: valid, not superseded.
    let credentials = dashboard_credentials(rows, now)
        .into_iter()
        .filter(|c| c.status == "valid" && !c.superseded)
        .collect();
    Ok(render(&PersonPage {
        ctx: PageContext::new(&req, user),
        name,
        credentials,
    }))
}

#[derive(Deserialize)]
struct ProfileForm {
    #[serde(default)]
    public: String,
}

/// `POST /dashboard/profile`: the person turns their public profile on or off.
#[post("/dashboard/profile")]
pub(super) async fn profile_setting(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    Form(form): Form<ProfileForm>,
) -> Result<HttpResponse, PageError> {
    let public = form.public == "on";
    let (user_id, name) = (user.id.clone(), user.display_name.clone());
    state
        .tx(move |conn| crate::accounts::service::set_public_profile(conn, &user_id, &name, public))
        .await
        .map_err(|e| PageError::from(ApiError::from(e)))?;
    Ok(see_other("/dashboard#certificates"))
}
