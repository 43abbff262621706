//! Account pages: home, register, sign in/out, e-mail verification, password reset, dashboard.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use serde::Deserialize;

use super::{
    message_page, render, render_with_status, see_other, Empty, Form, MaybeUser, PageContext,
    PageError, PageUser,
};
use crate::accounts::{self, password, RegisterInput};
use crate::app::AppState;
use crate::http::auth::{cleared_session_cookie, client_address, session_cookie};
use crate::http::problem::ApiError;
use crate::usecases::{self, login_with_limits, register_account};
use crate::validation::{FieldError, FieldErrors};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(home)
        .service(register_page)
        .service(register_submit)
        .service(login_page)
        .service(login_submit)
        .service(logout)
        .service(verify_email)
        .service(resend_verification)
        .service(reset_page)
        .service(reset_submit)
        .service(reset_confirm_page)
        .service(reset_confirm_submit)
        .service(dashboard);
}

fn errors_from(list: Vec<FieldError>) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for e in list {
        errors.add(e.field, e.message);
    }
    errors
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: PageContext,
}

#[get("/")]
async fn home(req: HttpRequest, MaybeUser(user): MaybeUser) -> HttpResponse {
    render(&HomePage {
        ctx: PageContext::new(&req, user),
    })
}

#[derive(Template)]
#[template(path = "accounts/register.html")]
struct RegisterPage {
    ctx: PageContext,
    display_name: String,
    email: String,
    errors: FieldErrors,
}

#[get("/register")]
async fn register_page(req: HttpRequest, MaybeUser(user): MaybeUser) -> HttpResponse {
    render(&RegisterPage {
        ctx: PageContext::new(&req, user),
        display_name: String::new(),
        email: String::new(),
        errors: FieldErrors::new(),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RegisterForm {
    display_name: String,
    email: String,
    password: String,
}

#[post("/register")]
async fn register_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    Form(form): Form<RegisterForm>,
) -> Result<HttpResponse, PageError> {
    let show = |errors: FieldErrors, status| {
        render_with_status(
            status,
            &RegisterPage {
                ctx: PageContext::new(&req, None),
                display_name: form.display_name.clone(),
                email: form.email.clone(),
                errors,
            },
        )
    };
    let input = RegisterInput {
        email: form.email.clone(),
        password: form.password.clone(),
        display_name: form.display_name.clone(),
    };
    // An address with an account gets the same page (and a mail saying so).
    let registered = register_account(&state, &client_address(&req), input).await;
    match registered.map_err(ApiError::from) {
        Ok(registered) => Ok(message_page(
            PageContext::new(&req, None),
            StatusCode::OK,
            "Check your mail",
            &format!(
                "We sent a confirmation link to {}. Open it to activate your account, then sign in.",
                registered.email
            ),
            Some(("/login", "Go to sign in")),
        )),
        Err(ApiError::Validation(list)) => Ok(show(errors_from(list), StatusCode::UNPROCESSABLE_ENTITY)),
        Err(e @ (ApiError::TooManyRequests { .. } | ApiError::Unavailable { .. })) => {
            let status = e.status_code();
            let mut errors = FieldErrors::new();
            errors.add("email", e.to_string());
            Ok(show(errors, status))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "accounts/login.html")]
struct LoginPage {
    ctx: PageContext,
    email: String,
    next: String,
    problem: Option<String>,
    errors: FieldErrors,
    show_resend: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NextQuery {
    next: String,
}

/// Only paths on this site are a place to return to after signing in; anything else is the dashboard.
fn safe_next(next: &str) -> String {
    crate::links::safe_next(next)
        .unwrap_or("/dashboard")
        .to_string()
}

#[get("/login")]
async fn login_page(
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    query: web::Query<NextQuery>,
) -> HttpResponse {
    render(&LoginPage {
        ctx: PageContext::new(&req, user),
        email: String::new(),
        next: safe_next(&query.next),
        problem: None,
        errors: FieldErrors::new(),
        show_resend: false,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LoginForm {
    email: String,
    password: String,
    next: String,
}

#[post("/login")]
async fn login_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    Form(form): Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let next = safe_next(&form.next);
    let page = |problem: Option<String>, errors: FieldErrors, show_resend: bool, status| {
        render_with_status(
            status,
            &LoginPage {
                ctx: PageContext::new(&req, None),
                email: form.email.clone(),
                next: next.clone(),
                problem,
                errors,
                show_resend,
            },
        )
    };
    let client = client_address(&req);
    let signed_in = login_with_limits(&state, &client, form.email.clone(), form.password.clone());
    match signed_in.await.map_err(ApiError::from) {
        Ok(outcome) => {
            let mut response = see_other(&next);
            response
                .add_cookie(&session_cookie(
                    &state,
                    outcome.token,
                    state.config.session_hours,
                ))
                .map_err(|e| PageError::Internal(e.to_string()))?;
            Ok(response)
        }
        Err(ApiError::Validation(list)) => Ok(page(
            None,
            errors_from(list),
            false,
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(ApiError::Unauthorized) => Ok(page(
            Some("Wrong e-mail address or password.".into()),
            FieldErrors::new(),
            false,
            StatusCode::UNAUTHORIZED,
        )),
        Err(ApiError::Forbidden(message)) => Ok(page(
            Some(message),
            FieldErrors::new(),
            true,
            StatusCode::FORBIDDEN,
        )),
        Err(e @ (ApiError::TooManyRequests { .. } | ApiError::Unavailable { .. })) => Ok(page(
            Some(e.to_string()),
            FieldErrors::new(),
            false,
            e.status_code(),
        )),
        Err(other) => Err(other.into()),
    }
}

#[post("/logout")]
async fn logout(
    state: web::Data<AppState>,
    MaybeUser(user): MaybeUser,
    Form(_): Form<Empty>,
) -> Result<HttpResponse, PageError> {
    if let Some(user) = user {
        let now = state.clock.now();
        state
            .tx(move |conn| accounts::logout(conn, &user.session_id, now))
            .await
            .map_err(ApiError::from)?;
    }
    let mut response = see_other("/");
    response
        .add_cookie(&cleared_session_cookie())
        .map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(response)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenQuery {
    token: String,
}

/// The link in the verification mail. Verifying on GET is safe: the token is single-use, and a mail
/// scanner that follows it first only verifies the address a moment early.
#[get("/verify-email")]
async fn verify_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, PageError> {
    let now = state.clock.now();
    let token = query.into_inner().token;
    let ctx = PageContext::new(&req, user);
    match state
        .tx(move |conn| accounts::verify_email(conn, &token, now))
        .await
    {
        Ok(_) => Ok(message_page(
            ctx,
            StatusCode::OK,
            "Your e-mail address is confirmed",
            "Thank you. You can now sign in and take exams.",
            Some(("/login", "Sign in")),
        )),
        Err(accounts::AccountError::Validation(list)) => Ok(message_page(
            ctx,
            StatusCode::BAD_REQUEST,
            "This link does not work",
            &list.first().map(|e| e.message.clone()).unwrap_or_default(),
            Some(("/login", "Sign in to get a new link")),
        )),
        Err(other) => Err(ApiError::from(other).into()),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EmailForm {
    email: String,
}

#[post("/verify-email/resend")]
async fn resend_verification(
    state: web::Data<AppState>,
    req: HttpRequest,
    Form(form): Form<EmailForm>,
) -> Result<HttpResponse, PageError> {
    // Invalid addresses get the same answer: this form must not reveal who has an account.
    let sent = usecases::resend_verification(&state, &client_address(&req), form.email).await;
    if let Err(refused @ accounts::AccountError::TooMany(_)) = sent {
        return Err(ApiError::from(refused).into());
    }
    Ok(message_page(
        PageContext::new(&req, None),
        StatusCode::OK,
        "Check your mail",
        "If this address belongs to an account that is not confirmed yet, a new link is on its way.",
        None,
    ))
}

#[derive(Template)]
#[template(path = "accounts/password_reset.html")]
struct ResetPage {
    ctx: PageContext,
    email: String,
    errors: FieldErrors,
}

#[get("/password-reset")]
async fn reset_page(req: HttpRequest, MaybeUser(user): MaybeUser) -> HttpResponse {
    render(&ResetPage {
        ctx: PageContext::new(&req, user),
        email: String::new(),
        errors: FieldErrors::new(),
    })
}

#[post("/password-reset")]
async fn reset_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    Form(form): Form<EmailForm>,
) -> Result<HttpResponse, PageError> {
    let email = form.email.clone();
    match usecases::request_password_reset(&state, &client_address(&req), email).await {
        Ok(()) => Ok(message_page(
            PageContext::new(&req, None),
            StatusCode::OK,
            "Check your mail",
            "If this address has an account, a link to choose a new password is on its way. It works for one hour.",
            None,
        )),
        Err(accounts::AccountError::Validation(list)) => Ok(render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ResetPage {
                ctx: PageContext::new(&req, None),
                email: form.email,
                errors: errors_from(list),
            },
        )),
        Err(other) => Err(ApiError::from(other).into()),
    }
}

#[derive(Template)]
#[template(path = "accounts/password_reset_confirm.html")]
struct ResetConfirmPage {
    ctx: PageContext,
    token: String,
    errors: FieldErrors,
}

#[get("/password-reset/confirm")]
async fn reset_confirm_page(req: HttpRequest, query: web::Query<TokenQuery>) -> HttpResponse {
    render(&ResetConfirmPage {
        ctx: PageContext::new(&req, None),
        token: query.into_inner().token,
        errors: FieldErrors::new(),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResetConfirmForm {
    token: String,
    password: String,
}

#[post("/password-reset/confirm")]
async fn reset_confirm_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    Form(form): Form<ResetConfirmForm>,
) -> Result<HttpResponse, PageError> {
    let now = state.clock.now();
    let token = form.token.clone();
    let outcome = match password::hash_new(&form.password).await {
        Ok(hash) => {
            state
                .tx(move |conn| accounts::confirm_password_reset(conn, &form.token, &hash, now))
                .await
        }
        Err(e) => Err(e.into()),
    };
    match outcome {
        Ok(()) => Ok(message_page(
            PageContext::new(&req, None),
            StatusCode::OK,
            "Your password is changed",
            "Sign in with your new password. Other devices were signed out.",
            Some(("/login", "Sign in")),
        )),
        Err(accounts::AccountError::Validation(list)) => Ok(render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ResetConfirmPage {
                ctx: PageContext::new(&req, None),
                token,
                errors: errors_from(list),
            },
        )),
        Err(other) => Err(ApiError::from(other).into()),
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    ctx: PageContext,
    display_name: String,
    /// Each domain renders its own section (already escaped HTML).
    sections: Vec<String>,
}

#[get("/dashboard")]
async fn dashboard(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
) -> Result<HttpResponse, PageError> {
    let ctx = PageContext::new(&req, Some(user.clone()));
    let sections = vec![
        super::exams::dashboard_section(&state, &user).await?,
        super::credentials::dashboard_section(&state, &user, &ctx.csrf).await?,
        super::referrals::dashboard_section(&state, &user).await?,
    ];
    Ok(render(&DashboardPage {
        ctx,
        display_name: user.display_name,
        sections,
    }))
}
