//! Badge images: each exam's badge as SVG and PNG, the vendor's upload, and a credential's baked
//! image download (PNG `iTXt` / SVG `<openbadges:credential>`).

use actix_web::http::header;
use actix_web::{delete, get, put, web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::accounts::VendorRole;
use crate::app::AppState;
use crate::badges::service::{self, BadgesError};
use crate::badges::{Format, MAX_IMAGE_BYTES};
use crate::http::api::accounts::vendor_for;
use crate::http::auth::{actor, Caller};
use crate::http::extract::read_body;
use crate::http::problem::ApiError;

/// How long browsers and verifiers may cache an exam's badge (it changes only on upload).
const BADGE_MAX_AGE: u32 = 3600;
/// A baked credential never changes.
const BAKED_MAX_AGE: u32 = 86_400;
/// SVGs are served as documents that can do nothing: no scripts, no outside loads.
const SVG_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(exam_badge)
        .service(baked_badge)
        .service(upload_badge)
        .service(remove_badge);
}

/// `name.svg` / `name.png` → (name, format).
fn split_file(file: &str) -> Result<(&str, Format), ApiError> {
    file.rsplit_once('.')
        .and_then(|(name, ext)| Some((name, Format::parse(ext)?)))
        .ok_or_else(|| ApiError::NotFound("badges are served as .svg or .png".into()))
}

fn image_response(format: Format, max_age: u32, bytes: Vec<u8>) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response
        .content_type(format.content_type())
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={max_age}")))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header(("Cross-Origin-Resource-Policy", "cross-origin"));
    if format == Format::Svg {
        response.insert_header((header::CONTENT_SECURITY_POLICY, SVG_CSP));
    }
    response.body(bytes)
}

#[get("/badges/{vendor}/{file}")]
async fn exam_badge(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (vendor, file) = path.into_inner();
    let (exam, format) = split_file(&file)?;
    let exam = exam.to_owned();
    let bytes = state
        .db(move |conn| {
            service::exam_badge(conn, &vendor, &exam)?
                .encode(format)
                .map_err(BadgesError::from)
        })
        .await?;
    Ok(image_response(format, BADGE_MAX_AGE, bytes))
}

#[get("/c/{id}/{file}")]
async fn baked_badge(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, file) = path.into_inner();
    let format = match split_file(&file)? {
        ("badge", format) => format,
        _ => return Err(ApiError::NotFound("use badge.png or badge.svg".into())),
    };
    let lookup = id.clone();
    let bytes = state
        .db(move |conn| service::baked_credential(conn, &lookup, format))
        .await?;
    let mut response = image_response(format, BAKED_MAX_AGE, bytes);
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        header::HeaderValue::from_str(&format!(
            "attachment; filename=\"credential-{id}.{}\"",
            format.as_str()
        ))
        .map_err(|_| ApiError::NotFound("credential not found".into()))?,
    );
    Ok(response)
}

#[derive(Serialize)]
struct UploadAnswer {
    exam: String,
    format: &'static str,
    svg: String,
    png: String,
}

#[put("/api/v1/vendors/{vendor}/exams/{exam}/badge")]
async fn upload_badge(
    state: web::Data<AppState>,
    req: HttpRequest,
    Caller(principal): Caller,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (slug, exam) = path.into_inner();
    let actor = actor(&req, &principal);
    let vendor = vendor_for(&state, principal, slug, VendorRole::Owner).await?;
    let format = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(Format::from_media_type)
        .ok_or_else(|| {
            ApiError::UnsupportedMediaType("send the badge as image/png or image/svg+xml".into())
        })?;
    let mut payload = payload.into_inner();
    let body = read_body(&mut payload, MAX_IMAGE_BYTES).await?;
    let now = state.clock.now();
    let (target, exam_slug) = (vendor.clone(), exam.clone());
    state
        .tx(move |conn| {
            service::upload_exam_badge(conn, &target, &exam_slug, format, &body, &actor, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(UploadAnswer {
        svg: state.links.badge(&vendor.slug, &exam, Format::Svg.as_str()),
        png: state.links.badge(&vendor.slug, &exam, Format::Png.as_str()),
        exam,
        format: format.as_str(),
    }))
}

#[delete("/api/v1/vendors/{vendor}/exams/{exam}/badge")]
async fn remove_badge(
    state: web::Data<AppState>,
    req: HttpRequest,
    Caller(principal): Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (slug, exam) = path.into_inner();
    let actor = actor(&req, &principal);
    let vendor = vendor_for(&state, principal, slug, VendorRole::Owner).await?;
    let now = state.clock.now();
    state
        .tx(move |conn| service::remove_exam_badge(conn, &vendor, &exam, &actor, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
