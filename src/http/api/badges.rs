//! Badge images: each exam's badge as SVG and PNG, the vendor's upload, and a credential's baked
//! image download (PNG `iTXt` / SVG `<openbadges:credential>`).

use actix_web::http::header;
use actix_web::{delete, get, put, web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::accounts::VendorRole;
use crate::app::AppState;
use crate::badges::service::{self, BadgesError};
use crate::badges::{Format, MAX_IMAGE_BYTES};
use crate::http::auth::{actor, Caller};
use crate::http::extract::read_body;
use crate::http::openapi::{Invalid, NotFound, SignedIn, TooLarge, UnsupportedType};
use crate::http::problem::ApiError;
use crate::usecases::vendor_for;

/// How long browsers and verifiers may cache an exam's badge (it changes only on upload).
const BADGE_MAX_AGE: u32 = 3600;
/// A baked credential never changes.
const BAKED_MAX_AGE: u32 = 86_400;
/// SVGs are served as documents that can do nothing: no scripts, no outside loads.
const SVG_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

crate::http::openapi::routes!("badges": exam_badge, baked_badge, upload_badge, remove_badge);

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

/// An exam's badge image: `<exam>.svg` or `<exam>.png`
///
/// The vendor's upload, or a generated badge with the vendor's name, the exam title and its level
/// (PNGs of SVG badges are rendered). The achievement's `image` in every credential points here.
#[utoipa::path(
    responses(
        (status = 200, description = "The image", content(("image/svg+xml"), ("image/png"))),
        NotFound
    ),
    security()
)]
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

/// A credential's badge with the exact stored credential JSON baked in (Open Badges 3.0 baking)
///
/// `badge.png` (iTXt chunk `openbadgecredential` before IEND) or `badge.svg`
/// (`<openbadges:credential>` with the JSON in CDATA).
#[utoipa::path(
    responses(
        (status = 200, description = "The baked image, as a download", content(("image/svg+xml"), ("image/png"))),
        NotFound
    ),
    security()
)]
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

#[derive(Serialize, utoipa::ToSchema)]
struct UploadAnswer {
    exam: String,
    /// `svg` or `png`: what was uploaded.
    format: &'static str,
    /// Where the badge is served, as SVG and as PNG.
    svg: String,
    png: String,
}

/// Set the exam's badge image (owners)
///
/// SVGs are refused when they contain scripts, event handlers, foreignObject, animation, a DTD, or
/// links and styles that leave the file; PNGs are checked (signature, chunk CRCs, at most 2048 px a
/// side); at most 512 KiB.
#[utoipa::path(
    operation_id = "uploadExamBadge",
    request_body(description = "The image", content(("image/svg+xml"), ("image/png"))),
    responses(
        (status = 200, description = "Set", body = UploadAnswer),
        SignedIn, NotFound, TooLarge, UnsupportedType, Invalid
    ),
    extensions(("x-credo-privileged" = json!(true)))
)]
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

/// Remove the exam's own badge image (owners); the generated badge is served again
#[utoipa::path(
    operation_id = "removeExamBadge",
    responses((status = 204, description = "Removed"), SignedIn, NotFound),
    extensions(("x-credo-privileged" = json!(true)))
)]
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
