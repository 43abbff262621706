//! Accounts API: registration, e-mail verification, login/logout, password reset, `me`, vendors,
//! staff and API keys.

use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::{
    self, password, AccountError, ApiKeyInput, MemberInput, Principal, RegisterInput, SessionUser,
    VendorInput, VendorRole,
};
use crate::app::AppState;
use crate::clock::rfc3339_seconds;
use crate::http::auth::{
    cleared_session_cookie, client_address, operators_only, session_cookie, user_actor, CurrentUser,
};
use crate::http::extract::Json;
use crate::http::openapi::{
    Busy, Conflict, Forbidden, JsonBody, NotFound, SignedIn, TooMany, Unauthorized,
};
use crate::http::problem::ApiError;
use crate::ratelimit::Limit;
use crate::usecases::{self, login_with_limits, register_account, vendor_for};

crate::http::openapi::routes!("accounts":
    register,
    verify_email,
    resend_verification,
    login,
    logout,
    password_reset,
    password_reset_confirm,
    me,
    create_vendor,
    add_member,
    list_members,
    set_member_role,
    remove_member,
    disable_account,
    enable_account,
    create_api_key,
    list_api_keys,
    revoke_api_key,
);

fn limit(state: &AppState, limit: Limit, key: &str) -> Result<(), ApiError> {
    state.limits.check(limit, key).map_err(ApiError::too_many)
}

#[derive(Serialize, ToSchema)]
struct Registered {
    id: String,
    email: String,
}

/// Create an account; mails a verification link
///
/// An address that already has an account gets the same answer (and a mail saying so).
#[utoipa::path(
    request_body = RegisterInput,
    responses(
        (status = 201, description = "Registered", body = Registered),
        JsonBody, Conflict, TooMany, Busy
    ),
    security()
)]
#[post("/api/v1/auth/register")]
async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(input): Json<RegisterInput>,
) -> Result<HttpResponse, ApiError> {
    let registered = register_account(&state, &client_address(&req), input).await?;
    Ok(HttpResponse::Created().json(Registered {
        id: registered.id,
        email: registered.email,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TokenInput {
    token: String,
}

/// Confirm an e-mail address with the mailed token
#[utoipa::path(
    request_body = TokenInput,
    responses((status = 204, description = "Verified"), JsonBody, TooMany),
    security()
)]
#[post("/api/v1/auth/verify-email")]
async fn verify_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(input): Json<TokenInput>,
) -> Result<HttpResponse, ApiError> {
    limit(&state, Limit::PublicWork, &client_address(&req))?;
    let now = state.clock.now();
    state
        .tx(move |conn| accounts::verify_email(conn, &input.token, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EmailInput {
    email: String,
}

/// Mail a new verification link
///
/// Accepted whether or not the address has an unverified account.
#[utoipa::path(
    request_body = EmailInput,
    responses((status = 202, description = "Accepted"), JsonBody, TooMany),
    security()
)]
#[post("/api/v1/auth/resend-verification")]
async fn resend_verification(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(input): Json<EmailInput>,
) -> Result<HttpResponse, ApiError> {
    usecases::resend_verification(&state, &client_address(&req), input.email).await?;
    Ok(HttpResponse::Accepted().finish())
}

#[derive(Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
struct LoginInput {
    email: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
struct LoginAnswer {
    /// The session token, for `Authorization: Bearer`.
    token: String,
    #[schema(format = DateTime)]
    expires_at: String,
}

/// Sign in
///
/// Answers the session token and sets it as the HttpOnly session cookie too. 401 for a wrong
/// address or password, 403 for an address not verified yet or a disabled account.
#[utoipa::path(
    request_body = LoginInput,
    responses(
        (status = 200, description = "Signed in", body = LoginAnswer),
        JsonBody, Unauthorized, Forbidden, TooMany, Busy
    ),
    security()
)]
#[post("/api/v1/auth/login")]
async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(input): Json<LoginInput>,
) -> Result<HttpResponse, ApiError> {
    let outcome =
        login_with_limits(&state, &client_address(&req), input.email, input.password).await?;
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(
            &state,
            outcome.token.clone(),
            state.config.session_hours,
        ))
        .json(LoginAnswer {
            token: outcome.token,
            expires_at: rfc3339_seconds(outcome.expires_at),
        }))
}

/// Revoke the current session
#[utoipa::path(
    responses((status = 204, description = "Signed out; the session cookie is cleared"), SignedIn),
    extensions(("x-credo-not-audited" = json!("a person ends their own session")))
)]
#[post("/api/v1/auth/logout")]
async fn logout(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    state
        .tx(move |conn| accounts::logout(conn, &user.session_id, now))
        .await?;
    Ok(HttpResponse::NoContent()
        .cookie(cleared_session_cookie())
        .finish())
}

/// Mail a password reset link
///
/// Accepted whether or not the address has an account.
#[utoipa::path(
    request_body = EmailInput,
    responses((status = 202, description = "Accepted"), JsonBody, TooMany),
    security()
)]
#[post("/api/v1/auth/password-reset")]
async fn password_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(input): Json<EmailInput>,
) -> Result<HttpResponse, ApiError> {
    usecases::request_password_reset(&state, &client_address(&req), input.email).await?;
    Ok(HttpResponse::Accepted().finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetConfirmInput {
    token: String,
    password: String,
}

/// Set a new password with the mailed token
#[utoipa::path(
    request_body = ResetConfirmInput,
    responses((status = 204, description = "Changed; every session of the account ends"), JsonBody, TooMany, Busy),
    security()
)]
#[post("/api/v1/auth/password-reset/confirm")]
async fn password_reset_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(input): Json<ResetConfirmInput>,
) -> Result<HttpResponse, ApiError> {
    limit(&state, Limit::PublicWork, &client_address(&req))?;
    let hash = password::hash_new(&input.password).await?;
    let now = state.clock.now();
    state
        .tx(move |conn| accounts::confirm_password_reset(conn, &input.token, &hash, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
struct RoleAnswer {
    /// `practitioner` (everyone), `operator`, or a staff role at `vendor`: `owner`, `examiner`,
    /// `program_manager`.
    role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vendor: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct MeAnswer {
    id: String,
    email: String,
    display_name: String,
    roles: Vec<RoleAnswer>,
}

/// The signed-in person and their roles
#[utoipa::path(responses((status = 200, description = "The person", body = MeAnswer), SignedIn))]
#[get("/api/v1/me")]
async fn me(CurrentUser(user): CurrentUser) -> HttpResponse {
    let mut roles = vec![RoleAnswer {
        role: "practitioner",
        vendor: None,
    }];
    if user.is_operator {
        roles.push(RoleAnswer {
            role: "operator",
            vendor: None,
        });
    }
    roles.extend(user.memberships.iter().map(|m| RoleAnswer {
        role: m.role.as_str(),
        vendor: Some(m.vendor_slug.clone()),
    }));
    HttpResponse::Ok().json(MeAnswer {
        id: user.id,
        email: user.email,
        display_name: user.display_name,
        roles,
    })
}

/// Create a vendor (operators)
#[utoipa::path(
    operation_id = "createVendor",
    request_body = VendorInput,
    responses((status = 201, description = "Created", body = accounts::Vendor), SignedIn, JsonBody, Conflict),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/vendors")]
async fn create_vendor(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    Json(input): Json<VendorInput>,
) -> Result<HttpResponse, ApiError> {
    operators_only(&user, "create vendors")?;
    let now = state.clock.now();
    let actor = user_actor(&req, &user);
    let vendor = state
        .tx(move |conn| accounts::create_vendor(conn, &input, &actor, now))
        .await?;
    Ok(HttpResponse::Created().json(vendor))
}

#[derive(Serialize, ToSchema)]
struct MemberAnswer {
    vendor: String,
    user_id: String,
    role: &'static str,
}

/// Add a staff member (owners)
///
/// The person must have an account; a role they already hold is a 409.
#[utoipa::path(
    operation_id = "addStaffMember",
    request_body = MemberInput,
    responses((status = 201, description = "Added", body = MemberAnswer), SignedIn, NotFound, JsonBody, Conflict),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/vendors/{vendor}/members")]
async fn add_member(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<String>,
    Json(input): Json<MemberInput>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let actor = user_actor(&req, &user);
    let vendor = vendor_for(
        &state,
        Principal::User(user),
        path.into_inner(),
        VendorRole::Owner,
    )
    .await?;
    let slug = vendor.slug.clone();
    let (user_id, role) = state
        .tx(move |conn| accounts::add_member(conn, &vendor, &input, &actor, now))
        .await?;
    Ok(HttpResponse::Created().json(MemberAnswer {
        vendor: slug,
        user_id,
        role: role.as_str(),
    }))
}

/// List the vendor's staff with their roles (owners)
#[utoipa::path(responses((status = 200, description = "The staff", body = Vec<accounts::Member>), SignedIn, NotFound))]
#[get("/api/v1/vendors/{vendor}/members")]
async fn list_members(
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
    let members = state
        .db(move |conn| accounts::list_members(conn, &vendor))
        .await?;
    Ok(HttpResponse::Ok().json(members))
}

#[derive(Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
struct RoleInput {
    /// `owner`, `examiner` or `program_manager`.
    role: String,
}

/// Give a staff member exactly one role (owners)
///
/// The last owner cannot be demoted (409). The person's API keys for this vendor wider than the
/// new role are revoked.
#[utoipa::path(
    operation_id = "setStaffMemberRole",
    request_body = RoleInput,
    responses((status = 200, description = "The new role", body = MemberAnswer), SignedIn, NotFound, JsonBody, Conflict),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[put("/api/v1/vendors/{vendor}/members/{user}")]
async fn set_member_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
    Json(input): Json<RoleInput>,
) -> Result<HttpResponse, ApiError> {
    let (slug, member) = path.into_inner();
    let now = state.clock.now();
    let actor = user_actor(&req, &user);
    let vendor = vendor_for(&state, Principal::User(user), slug, VendorRole::Owner).await?;
    let slug = vendor.slug.clone();
    let user_id = member.clone();
    let role = state
        .tx(move |conn| accounts::set_member_role(conn, &vendor, &member, &input.role, &actor, now))
        .await?;
    Ok(HttpResponse::Ok().json(MemberAnswer {
        vendor: slug,
        user_id,
        role: role.as_str(),
    }))
}

/// Remove a person from the staff (owners)
///
/// Their sessions end and the API keys they created for this vendor are revoked at once; the last
/// owner cannot be removed (409).
#[utoipa::path(
    operation_id = "removeStaffMember",
    responses((status = 204, description = "Removed"), SignedIn, NotFound, Conflict),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[delete("/api/v1/vendors/{vendor}/members/{user}")]
async fn remove_member(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (slug, member) = path.into_inner();
    let now = state.clock.now();
    let actor = user_actor(&req, &user);
    let vendor = vendor_for(&state, Principal::User(user), slug, VendorRole::Owner).await?;
    state
        .tx(move |conn| accounts::remove_member(conn, &vendor, &member, &actor, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
struct AccountAnswer {
    id: String,
    email: String,
    #[schema(format = DateTime)]
    disabled_at: Option<String>,
}

impl From<accounts::User> for AccountAnswer {
    fn from(user: accounts::User) -> Self {
        AccountAnswer {
            id: user.id,
            email: user.email,
            disabled_at: user.disabled_at.map(rfc3339_seconds),
        }
    }
}

/// Disable an account (operators)
///
/// `{account}` is its id or e-mail address. It cannot sign in, and its sessions and the API keys it
/// created end at once.
#[utoipa::path(
    operation_id = "disableAccount",
    responses((status = 200, description = "Disabled", body = AccountAnswer), SignedIn, NotFound, Conflict),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/admin/accounts/{account}/disable")]
async fn disable_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    switch_account(&state, &req, &user, path.into_inner(), false).await
}

/// Enable a disabled account again (operators)
///
/// `{account}` is its id or e-mail address. Revoked sessions and keys stay revoked.
#[utoipa::path(
    operation_id = "enableAccount",
    responses((status = 200, description = "Enabled", body = AccountAnswer), SignedIn, NotFound, Conflict),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/admin/accounts/{account}/enable")]
async fn enable_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    switch_account(&state, &req, &user, path.into_inner(), true).await
}

/// An operator disables or enables `account` (its id or e-mail address), audited.
async fn switch_account(
    state: &AppState,
    req: &HttpRequest,
    user: &SessionUser,
    account: String,
    enable: bool,
) -> Result<HttpResponse, ApiError> {
    operators_only(user, "disable and enable accounts")?;
    let actor = user_actor(req, user);
    let now = state.clock.now();
    let switched = state
        .tx(move |conn| {
            if enable {
                accounts::enable_account(conn, &actor, &account, now)
            } else {
                accounts::disable_account(conn, &actor, &account, now)
            }
        })
        .await?;
    Ok(HttpResponse::Ok().json(AccountAnswer::from(switched)))
}

#[derive(Serialize, ToSchema)]
struct ApiKeyCreated {
    id: String,
    /// The key itself, shown this once.
    key: String,
    #[schema(value_type = Vec<accounts::Scope>)]
    scopes: Vec<&'static str>,
}

/// Create an API key, shown once
///
/// Any staff member, with scopes within their role: owners any, examiners `exams` and
/// `credentials`, program managers `referrals`.
#[utoipa::path(
    operation_id = "createApiKey",
    request_body = ApiKeyInput,
    responses((status = 201, description = "Created", body = ApiKeyCreated), SignedIn, NotFound, JsonBody),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/vendors/{vendor}/api-keys")]
async fn create_api_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<String>,
    Json(input): Json<ApiKeyInput>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let actor = user_actor(&req, &user);
    let slug = path.into_inner();
    let (id, key, scopes) = state
        .tx(move |conn| {
            let vendor = accounts::staff_vendor(conn, &user, &slug)?;
            let roles = user.roles_at(&vendor.id);
            accounts::create_api_key(conn, &vendor, &input, &actor, &roles, now)
        })
        .await?;
    Ok(HttpResponse::Created().json(ApiKeyCreated {
        id,
        key,
        scopes: scopes.names(),
    }))
}
/// List API keys (owners)
#[utoipa::path(responses((status = 200, description = "The vendor's keys, newest first", body = Vec<accounts::ApiKey>), SignedIn, NotFound))]
#[get("/api/v1/vendors/{vendor}/api-keys")]
async fn list_api_keys(
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
    let keys = state
        .db(move |conn| {
            accounts::store::list_api_keys(conn, &vendor.id).map_err(AccountError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(keys))
}

/// Revoke an API key (owners)
#[utoipa::path(
    operation_id = "revokeApiKey",
    responses((status = 204, description = "Revoked"), SignedIn, NotFound),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[delete("/api/v1/vendors/{vendor}/api-keys/{key}")]
async fn revoke_api_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (slug, key_id) = path.into_inner();
    let now = state.clock.now();
    let actor = user_actor(&req, &user);
    let vendor = vendor_for(&state, Principal::User(user), slug, VendorRole::Owner).await?;
    state
        .tx(move |conn| accounts::revoke_api_key(conn, &vendor, &key_id, &actor, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
