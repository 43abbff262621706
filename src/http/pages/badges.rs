//! The vendor console's badge form on an exam's page: upload an SVG or PNG, or go back to the
//! generated badge.

use actix_web::http::{header, StatusCode};
use actix_web::{post, web, HttpRequest, HttpResponse};

use super::{message_page, see_other, vendor_with_role, PageContext, PageError, PageUser};
use crate::accounts::VendorRole;
use crate::app::AppState;
use crate::badges::service::{self, BadgesError};
use crate::badges::{Format, MAX_IMAGE_BYTES};
use crate::http::auth::{csrf_matches, user_actor, CSRF_FIELD};
use crate::http::extract::read_body;
use crate::http::multipart::parse_multipart;
use crate::http::problem::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(upload_badge);
}

#[post("/vendor/{vendor}/exams/{exam}/badge")]
async fn upload_badge(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (vendor_slug, exam_slug) = path.into_inner();
    let mut payload = payload.into_inner();
    let body = read_body(&mut payload, MAX_IMAGE_BYTES + 16 * 1024).await?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let parts = parse_multipart(content_type, &body)
        .ok_or_else(|| PageError::BadRequest("the upload form could not be read".into()))?;
    let field = |name: &str| parts.iter().find(|p| p.name == name);
    let token = field(CSRF_FIELD).map(|p| String::from_utf8_lossy(&p.data).into_owned());
    if !csrf_matches(&req, token.as_deref()) {
        return Err(PageError::Forbidden(
            "This form has expired or was not sent from Credo. Go back, reload the page and try again."
                .into(),
        ));
    }
    let vendor = vendor_with_role(&state, &user, vendor_slug, VendorRole::Owner).await?;
    let back = format!("/vendor/{}/exams/{exam_slug}", vendor.slug);
    let remove = field("action").is_some_and(|p| p.data == b"remove");
    let file = field("file")
        .filter(|p| !p.data.is_empty())
        .map(|p| p.data.clone());
    let now = state.clock.now();
    let actor = user_actor(&req, &user);
    let result = match (remove, file) {
        (true, _) => {
            state
                .tx(move |conn| service::remove_exam_badge(conn, &vendor, &exam_slug, &actor, now))
                .await
        }
        (false, Some(bytes)) => match Format::sniff(&bytes) {
            Some(format) => {
                state
                    .tx(move |conn| {
                        service::upload_exam_badge(
                            conn, &vendor, &exam_slug, format, &bytes, &actor, now,
                        )
                    })
                    .await
            }
            None => Err(BadgesError::Image(crate::badges::ImageError::UnknownFormat)),
        },
        (false, None) => Err(BadgesError::Image(crate::badges::ImageError::UnknownFormat)),
    };
    match result {
        Ok(()) => Ok(see_other(&back)),
        Err(BadgesError::Image(e)) => Ok(message_page(
            PageContext::new(&req, Some(user)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "The badge image was not saved",
            &e.to_string(),
            Some(("Back to the exam", &back)),
        )),
        Err(other) => Err(ApiError::from(other).into()),
    }
}
