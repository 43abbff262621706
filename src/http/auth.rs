//! Who is calling. A bearer token (session JWT or vendor API key) or the session cookie set by the
//! login page. Requests authenticated by cookie with an unsafe method must also carry the CSRF
//! token in `X-CSRF-Token` (pages' scripts do); bearer tokens are not sent by browsers on their own.

use actix_web::dev::Payload;
use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::problem::ApiError;
use crate::accounts::{self, Principal, SessionUser, API_KEY_PREFIX};
use crate::app::AppState;
use crate::audit::Actor;

pub const SESSION_COOKIE: &str = "credo_session";
pub const CSRF_COOKIE: &str = "credo_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_FIELD: &str = "csrf_token";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    Bearer,
    Cookie,
}

/// The presented credential, if any.
pub fn presented_token(req: &HttpRequest) -> Option<(String, TokenSource)> {
    if let Some(value) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))?;
        return Some((token.trim().to_string(), TokenSource::Bearer));
    }
    req.cookie(SESSION_COOKIE)
        .map(|c| (c.value().to_string(), TokenSource::Cookie))
}

/// Constant-time comparison of the CSRF cookie with the submitted token.
pub fn csrf_matches(req: &HttpRequest, submitted: Option<&str>) -> bool {
    use subtle::ConstantTimeEq;
    match (req.cookie(CSRF_COOKIE), submitted) {
        (Some(cookie), Some(submitted)) if !submitted.is_empty() => {
            bool::from(cookie.value().as_bytes().ct_eq(submitted.as_bytes()))
        }
        _ => false,
    }
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal("application state missing".into()))
}

/// Resolves a token to a principal: API keys by prefix, everything else as a session.
pub async fn resolve(state: &AppState, token: String) -> Result<Principal, ApiError> {
    let now = state.clock.now();
    if token.starts_with(API_KEY_PREFIX) {
        let caller = state
            .db(move |conn| accounts::authenticate_api_key(conn, &token, now))
            .await?;
        Ok(Principal::ApiKey(caller))
    } else {
        let keys = state.session_keys.clone();
        let user = state
            .db(move |conn| accounts::authenticate_session(conn, &keys, &token, now))
            .await?;
        Ok(Principal::User(user))
    }
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

async fn principal_for_api(req: HttpRequest) -> Result<Principal, ApiError> {
    let state = state(&req)?;
    let (token, source) = presented_token(&req).ok_or(ApiError::Unauthorized)?;
    if source == TokenSource::Cookie && is_unsafe(req.method()) {
        let submitted = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if !csrf_matches(&req, submitted) {
            return Err(ApiError::Forbidden(
                "requests authenticated by the session cookie need the X-CSRF-Token header".into(),
            ));
        }
    }
    resolve(&state, token).await
}

/// Any authenticated caller: a person or a vendor API key.
pub struct Caller(pub Principal);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { principal_for_api(req).await.map(Caller) })
    }
}

/// A signed-in person (API keys are refused).
pub struct CurrentUser(pub SessionUser);

impl FromRequest for CurrentUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match principal_for_api(req).await? {
                Principal::User(user) => Ok(CurrentUser(user)),
                Principal::ApiKey(_) => Err(ApiError::Forbidden(
                    "this needs a person's session; vendor API keys can't use it".into(),
                )),
            }
        })
    }
}

/// The caller's network address, for rate limits and click hashing. Uses the socket peer: a
/// forwarded-for header is whatever the client wants it to be.
pub fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The audit trail's actor for a request: the person or API key behind `principal`, and the
/// client address. Handlers pass it to the use cases that record privileged acts.
pub fn actor(req: &HttpRequest, principal: &Principal) -> Actor {
    match principal {
        Principal::User(user) => user_actor(req, user),
        Principal::ApiKey(key) => Actor::api_key(&key.key_id, &key.name, Some(client_address(req))),
    }
}

/// [`actor`] for a signed-in person.
pub fn user_actor(req: &HttpRequest, user: &SessionUser) -> Actor {
    Actor::user(
        &user.id,
        &user.display_name,
        &user.email,
        Some(client_address(req)),
    )
}
