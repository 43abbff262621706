//! Server-rendered pages (askama, auto-escaped). Page handlers share the API's domain calls; they
//! differ only in answering with HTML, redirects and forms that carry a CSRF token.

pub mod accounts;
pub mod badges;
pub mod billing;
pub mod credentials;
pub mod docs;
pub mod exams;
pub mod referrals;
pub mod vendor;
pub mod webhooks;

pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    accounts::configure(cfg);
    badges::configure(cfg);
    billing::configure(cfg);
    credentials::configure(cfg);
    docs::configure(cfg);
    exams::configure(cfg);
    referrals::configure(cfg);
    vendor::configure(cfg);
    webhooks::configure(cfg);
}

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use chrono::NaiveDateTime;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::auth::{csrf_matches, presented_token, resolve, TokenSource, CSRF_FIELD};
use super::extract::{control_char_error, is_refused_char, read_body};
use super::middleware::csrf_token;
use super::problem::ApiError;
use crate::accounts::{AccountError, Principal, SessionUser, Vendor, VendorRole};
use crate::app::AppState;

/// What every page's layout needs.
pub struct PageContext {
    pub user: Option<SessionUser>,
    pub csrf: String,
    pub notices: Vec<String>,
    /// The request's path: the header marks the section a page belongs to.
    pub path: String,
}

impl PageContext {
    pub fn new(req: &HttpRequest, user: Option<SessionUser>) -> Self {
        Self {
            user,
            csrf: csrf_token(req),
            notices: Vec::new(),
            path: req.path().to_string(),
        }
    }

    /// Whether the page is `prefix` or below it (`/exams` for `/exams/acme/cloud`).
    pub fn in_section(&self, prefix: &str) -> bool {
        self.path == prefix
            || self
                .path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// A date for people: `23 Nov 2026`.
pub fn human_date(t: NaiveDateTime) -> String {
    t.format("%-d %b %Y").to_string()
}

/// A moment for people: `23 Nov 2026, 13:29 UTC`.
pub fn human_time(t: NaiveDateTime) -> String {
    t.format("%-d %b %Y, %H:%M UTC").to_string()
}

/// [`human_time`] of an API timestamp (`2026-11-23T13:29:00Z`); other text is returned as is.
pub fn human_time_text(text: &str) -> String {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%SZ")
        .map(human_time)
        .unwrap_or_else(|_| text.to_string())
}

/// The vendor named in the path if the signed-in person may act on it as `role`: unknown
/// vendors are "not found", other vendors' pages "not allowed" (as in the API).
pub async fn vendor_with_role(
    state: &AppState,
    user: &SessionUser,
    slug: String,
    role: VendorRole,
) -> Result<Vendor, PageError> {
    Ok(crate::usecases::vendor_for(state, Principal::User(user.clone()), slug, role).await?)
}

/// Errors of page handlers, shown as HTML pages (or a redirect to sign in).
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("sign in to continue")]
    SignIn { next: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    /// 422: a field the page cannot take as it is (the message names it).
    #[error("{0}")]
    Unprocessable(String),
    /// A refusal the API layer already classified (402, 409, 413, 422, 429, 503 …): the page keeps
    /// its status and its Retry-After, so browsers, proxies and tests see what happened.
    #[error("{}", .0.detail())]
    Refused(ApiError),
    #[error("internal error")]
    Internal(String),
}

/// Account refusals (the vendor check of every vendor page) read as the API answers them.
impl From<AccountError> for PageError {
    fn from(e: AccountError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unauthorized => PageError::SignIn {
                next: "/dashboard".into(),
            },
            ApiError::Forbidden(m) => PageError::Forbidden(m),
            ApiError::NotFound(m) => PageError::NotFound(m),
            ApiError::Internal(m) => PageError::Internal(m),
            ApiError::BadRequest(m) => PageError::BadRequest(m),
            other => PageError::Refused(other),
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    ctx: PageContext,
    heading: &'a str,
    text: &'a str,
    tone: &'a str,
    action: Option<(&'a str, &'a str)>,
}

/// A page with a heading, a sentence and an optional button.
pub fn message_page(
    ctx: PageContext,
    status: StatusCode,
    heading: &str,
    text: &str,
    action: Option<(&str, &str)>,
) -> HttpResponse {
    let tone = if status.is_success() { "ok" } else { "problem" };
    render_with_status(
        status,
        &MessagePage {
            ctx,
            heading,
            text,
            tone,
            action,
        },
    )
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::SignIn { .. } => StatusCode::SEE_OTHER,
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::Forbidden(_) => StatusCode::FORBIDDEN,
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            PageError::Refused(e) => e.status_code(),
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let ctx = PageContext {
            user: None,
            csrf: String::new(),
            notices: Vec::new(),
            path: String::new(),
        };
        match self {
            PageError::SignIn { next } => see_other(&format!("/login?next={}", urlencode(next))),
            PageError::NotFound(m) => message_page(
                ctx,
                StatusCode::NOT_FOUND,
                "Not found",
                m,
                Some(("/", "Go to the home page")),
            ),
            PageError::Forbidden(m) => {
                message_page(ctx, StatusCode::FORBIDDEN, "Not allowed", m, None)
            }
            PageError::BadRequest(m) => {
                message_page(ctx, StatusCode::BAD_REQUEST, "That did not work", m, None)
            }
            PageError::Unprocessable(m) => message_page(
                ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                "That did not work",
                m,
                None,
            ),
            PageError::Refused(e) => {
                let mut response = message_page(ctx, e.status_code(), e.title(), &e.detail(), None);
                if let Some(secs) = e.retry_after_secs() {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
                }
                response
            }
            PageError::Internal(m) => {
                tracing::error!(error = %m, "internal error on a page");
                message_page(
                    ctx,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Something went wrong on our side. It has been logged; please try again in a moment.",
                    None,
                )
            }
        }
    }
}

pub fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

pub fn render_with_status(status: StatusCode, template: &impl Template) -> HttpResponse {
    match template.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(e) => PageError::Internal(format!("template: {e}")).error_response(),
    }
}

pub fn render(template: &impl Template) -> HttpResponse {
    render_with_status(StatusCode::OK, template)
}

/// Redirect after a POST (303), to a local path only.
pub fn see_other(location: &str) -> HttpResponse {
    let location = crate::links::safe_next(location).unwrap_or("/");
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

pub fn not_found_page(req: &HttpRequest) -> HttpResponse {
    message_page(
        PageContext::new(req, None),
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no page at this address.",
        Some(("/", "Go to the home page")),
    )
}

fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, PageError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| PageError::Internal("application state missing".into()))
}

/// The signed-in person if the session cookie is valid (pages ignore bearer tokens and API keys).
pub struct MaybeUser(pub Option<SessionUser>);

async fn cookie_user(req: &HttpRequest) -> Result<Option<SessionUser>, PageError> {
    let state = app_state(req)?;
    match presented_token(req) {
        Some((token, TokenSource::Cookie)) => match resolve(&state, token).await {
            Ok(Principal::User(user)) => Ok(Some(user)),
            Ok(Principal::ApiKey(_)) | Err(ApiError::Unauthorized) => Ok(None),
            Err(e) => Err(e.into()),
        },
        _ => Ok(None),
    }
}

impl FromRequest for MaybeUser {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { cookie_user(&req).await.map(MaybeUser) })
    }
}

/// A signed-in person; anyone else is sent to the sign-in page and back.
pub struct PageUser(pub SessionUser);

impl FromRequest for PageUser {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match cookie_user(&req).await? {
                Some(user) => Ok(PageUser(user)),
                None => {
                    let next = match req.query_string() {
                        "" => req.path().to_string(),
                        q => format!("{}?{}", req.path(), q),
                    };
                    let next = if req.method() == actix_web::http::Method::GET {
                        next
                    } else {
                        "/dashboard".into()
                    };
                    Err(PageError::SignIn { next })
                }
            }
        })
    }
}

/// Form bodies above this size are refused.
const FORM_LIMIT: usize = 64 * 1024;

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(rename = "csrf_token", default)]
    token: String,
}

/// The first field of an urlencoded form or query string whose name or value has a refused control
/// character (see [`crate::http::extract::is_refused_char`]).
pub fn form_field_with_control_char(encoded: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(encoded).find_map(|(name, value)| {
        (name.chars().any(is_refused_char) || value.chars().any(is_refused_char))
            .then(|| name.chars().filter(|c| !c.is_control()).collect())
    })
}

/// The body of a form with no fields of its own (a button: only the CSRF token, which [`Form`]
/// checks).
#[derive(serde::Deserialize)]
pub struct Empty {}

/// An `application/x-www-form-urlencoded` form whose CSRF token matched the browser's cookie and
/// whose fields hold no control characters.
pub struct Form<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Form<T> {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let body = read_body(&mut payload, FORM_LIMIT).await?;
            let csrf: CsrfField = serde_html_form::from_bytes(&body)
                .map_err(|_| PageError::BadRequest("the form could not be read".into()))?;
            if !csrf_matches(&req, Some(&csrf.token)) {
                return Err(PageError::Forbidden(format!(
                    "This form has expired or was not sent from Credo (missing or wrong `{CSRF_FIELD}`). \
                     Go back, reload the page and try again."
                )));
            }
            if let Some(field) = form_field_with_control_char(&body) {
                return Err(PageError::Unprocessable(format!(
                    "The field `{field}` {}. Go back and correct it.",
                    control_char_error(&field).message
                )));
            }
            serde_html_form::from_bytes(&body)
                .map(Form)
                .map_err(|e| PageError::BadRequest(format!("the form could not be read: {e}")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_read_as_words() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 11, 3)
            .unwrap()
            .and_hms_opt(9, 5, 7)
            .unwrap();
        assert_eq!(human_date(t), "3 Nov 2026");
        assert_eq!(human_time(t), "3 Nov 2026, 09:05 UTC");
        assert_eq!(
            human_time_text("2026-11-03T09:05:07Z"),
            "3 Nov 2026, 09:05 UTC"
        );
        assert_eq!(human_time_text("soon"), "soon");
    }

    #[test]
    fn sections_match_whole_path_segments() {
        let ctx = |path: &str| PageContext {
            user: None,
            csrf: String::new(),
            notices: Vec::new(),
            path: path.to_string(),
        };
        assert!(ctx("/exams").in_section("/exams"));
        assert!(ctx("/exams/acme/cloud").in_section("/exams"));
        assert!(!ctx("/examsx").in_section("/exams"));
        assert!(!ctx("/").in_section("/exams"));
    }
}
