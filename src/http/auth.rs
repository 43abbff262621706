//! Who is calling. A bearer token (session JWT or vendor API key) or the session cookie set by the
//! login page. Requests authenticated by cookie with an unsafe method must also carry the CSRF
//! token in `X-CSRF-Token` (pages' scripts do); bearer tokens are not sent by browsers on their own.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::problem::ApiError;
use crate::accounts::session_cache::SESSIONS;
use crate::accounts::{self, ApiKeyCaller, Principal, Scope, SessionUser, API_KEY_PREFIX};
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
        let cache_for = state.config.session_cache;
        if let Some(user) = accounts::cached_session(&keys, &token, now, cache_for)? {
            return Ok(Principal::User(user));
        }
        // Taken before the read: a revocation committing meanwhile keeps the answer out.
        let epoch = SESSIONS.epoch();
        let user = state
            .db(move |conn| accounts::authenticate_session(conn, &keys, &token, now))
            .await?;
        SESSIONS.remember(epoch, &user, cache_for);
        Ok(Principal::User(user))
    }
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The area (scope) of every route a vendor API key may call, by route pattern prefix. This is
/// the one place API key scopes are enforced: a key calls a route of an area only with that
/// area's scope, or with `read` for `GET`/`HEAD`. Routes outside the table refuse API keys.
const SCOPED_ROUTES: &[(&str, Scope)] = &[
    ("/api/v1/vendors/{vendor}/banks", Scope::Exams),
    ("/api/v1/vendors/{vendor}/exams/", Scope::Exams),
    ("/api/v1/vendors/{vendor}/revenue", Scope::Exams),
    ("/api/v1/vendors/{vendor}/credentials", Scope::Credentials),
    ("/api/v1/vendors/{vendor}/program", Scope::Referrals),
    ("/api/v1/programs/", Scope::Referrals),
    ("/api/v1/payouts/", Scope::Referrals),
];

/// The scope area of a route pattern, if API keys may call it at all.
pub fn route_scope(pattern: &str) -> Option<Scope> {
    SCOPED_ROUTES
        .iter()
        .find(|(prefix, _)| pattern.starts_with(prefix))
        .map(|(_, scope)| *scope)
}

/// Refuses an API key the request's route needs a scope for that the key lacks (403 naming it).
fn check_scope(req: &HttpRequest, key: &ApiKeyCaller) -> Result<(), ApiError> {
    let pattern = req
        .match_pattern()
        .unwrap_or_else(|| req.path().to_string());
    let area = route_scope(&pattern).ok_or_else(|| {
        ApiError::Forbidden(format!(
            "vendor API keys can't call {pattern}; use a person's session"
        ))
    })?;
    let reading = matches!(*req.method(), Method::GET | Method::HEAD);
    key.scopes.allows(area, reading).map_err(|missing| {
        ApiError::Forbidden(format!(
            "this API key lacks the `{}` scope{}; an owner can create a key with it (scopes are chosen when a key is created)",
            missing.as_str(),
            if reading { " (or `read`)" } else { "" }
        ))
    })
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
    let principal = resolve(&state, token).await?;
    if let Principal::ApiKey(key) = &principal {
        check_scope(&req, key)?;
    }
    Ok(principal)
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

/// The caller's address as rate limits and click hashing key it ([`crate::net`]): the socket
/// peer, or — only when the peer is a configured trusted proxy — the forwarded address; IPv6 by /64.
pub fn client_address(req: &HttpRequest) -> String {
    client_ip(req).map_or_else(|| "unknown".to_string(), crate::net::limit_key)
}

/// The caller's IP address (see [`client_address`]).
pub fn client_ip(req: &HttpRequest) -> Option<std::net::IpAddr> {
    let header_values = |name: &str| -> Vec<&str> {
        req.headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .collect()
    };
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.config.trusted_proxies.as_slice())
        .unwrap_or_default();
    let (forwarded, x_forwarded_for) = if trusted.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        (header_values("forwarded"), header_values("x-forwarded-for"))
    };
    crate::net::client_ip(
        req.peer_addr().map(|a| a.ip()),
        &forwarded,
        &x_forwarded_for,
        trusted,
    )
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

/// Operators only: anyone else is refused (403) with "only operators {what}".
pub fn operators_only(user: &SessionUser, what: &str) -> Result<(), ApiError> {
    if user.is_operator {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!("only operators {what}")))
    }
}

/// The session cookie for pages; `Secure` whenever the site is served over HTTPS.
pub fn session_cookie(state: &AppState, token: String, max_age_hours: u32) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .secure(state.config.base_url.scheme() == "https")
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::hours(
            max_age_hours.into(),
        ))
        .finish()
}

/// A cookie that makes the browser forget the session.
pub fn cleared_session_cookie() -> Cookie<'static> {
    let mut cookie = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    cookie.make_removal();
    cookie
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendor_route_has_its_area() {
        for (pattern, area) in [
            ("/api/v1/vendors/{vendor}/banks", Scope::Exams),
            (
                "/api/v1/vendors/{vendor}/exams/{exam}/vouchers",
                Scope::Exams,
            ),
            (
                "/api/v1/vendors/{vendor}/exams/{exam}/statistics",
                Scope::Exams,
            ),
            ("/api/v1/vendors/{vendor}/revenue", Scope::Exams),
            ("/api/v1/vendors/{vendor}/credentials", Scope::Credentials),
            (
                "/api/v1/vendors/{vendor}/credentials/{id}/revoke",
                Scope::Credentials,
            ),
            ("/api/v1/vendors/{vendor}/program", Scope::Referrals),
            (
                "/api/v1/vendors/{vendor}/program/webhook-secret",
                Scope::Referrals,
            ),
            ("/api/v1/programs/{program}/events", Scope::Referrals),
            ("/api/v1/payouts/{id}/paid", Scope::Referrals),
        ] {
            assert_eq!(route_scope(pattern), Some(area), "{pattern}");
        }
        for pattern in [
            "/api/v1/vendors/{vendor}/api-keys",
            "/api/v1/vendors/{vendor}/members",
            "/api/v1/me",
            "/api/v1/admin/accounts/{account}/disable",
        ] {
            assert_eq!(route_scope(pattern), None, "{pattern}");
        }
    }
}
