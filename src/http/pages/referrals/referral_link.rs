//! The `/r/<code>` redirect: records the click and sends the visitor on to the program.

use actix_web::http::{header, StatusCode};
use actix_web::{get, web, HttpRequest, HttpResponse};

use crate::app::AppState;
use crate::db::DbError;
use crate::http::auth::client_address;
use crate::http::pages::{message_page, PageContext, PageError};
use crate::http::problem::ApiError;
use crate::ratelimit::Limit;
use crate::referrals::recorder::{ClickRecorder, CodeLookup, Followed, Visit};

fn unknown_code(req: &HttpRequest) -> HttpResponse {
    message_page(
        PageContext::new(req, None),
        StatusCode::NOT_FOUND,
        "This referral link does not work",
        "The link is mistyped, or the advocate who shared it is no longer in the program. Nothing was recorded.",
        Some(("/", "Go to the home page")),
    )
}

/// Referral link: records the click and redirects to the program's landing URL
///
/// 302 to the landing URL with `credo_click=<click id>`; unknown or suspended codes get a 404 HTML
/// page and no `Location` (never an open redirect).
#[utoipa::path(
    responses(
        (status = 302, description = "To the program's landing URL", headers(("Location" = String))),
        (status = 404, description = "Unknown or suspended code", content_type = "text/html", body = String)
    ),
    security()
)]
#[get("/r/{code}")]
pub(super) async fn redirect(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let target = match state.clicks.find(&path) {
        CodeLookup::Known(target) => target,
        CodeLookup::Unknown(code) => {
            let recorder = state.clicks.clone();
            state
                .db(move |conn| recorder.lookup(conn, &code).map_err(DbError::from))
                .await
                .map_err(ApiError::from)?
        }
    };
    let address = client_address(&req);
    let header_text = |name: header::HeaderName| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let user_agent = header_text(header::USER_AGENT);
    let referrer = header_text(header::REFERER);
    let visit = || Visit {
        address: &address,
        user_agent: user_agent.as_deref(),
        referrer: referrer.as_deref(),
        over_limit: state.limits.check(Limit::Redirect, &address).is_err(),
    };
    let (location, write_now) =
        match state
            .clicks
            .follow(target.as_deref(), visit, state.clock.now())
        {
            Followed::Nowhere => return Ok(unknown_code(&req)),
            Followed::Redirect {
                location,
                write_now,
            } => (location, write_now),
        };
    if let Some(click) = write_now {
        state
            .db(move |conn| ClickRecorder::write_one(conn, &click).map_err(DbError::from))
            .await
            .map_err(ApiError::from)?;
    }
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
