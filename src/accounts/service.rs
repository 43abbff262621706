//! Account use cases. Each takes the connection of the caller's transaction and the current time.

use chrono::{Duration, NaiveDateTime};
use serde::Deserialize;
use serde_json::json;

use super::session::{Claims, SessionKeys};
use super::store::{self, NewUser, TokenLookup, TokenPurpose};
use super::{AccountError, ApiKeyCaller, Principal, SessionUser, User, Vendor, VendorRole};
use crate::audit::{self, Action, Actor};
use crate::db::{is_unique_violation, DbConn};
use crate::links::Links;
use crate::mail;
use crate::secrets::{random_token, sha256_hex};
use crate::validation::{field_error, normalize_email, FieldErrors};

/// Prefix of vendor API keys, so they are recognizable in configs and secret scanners.
pub const API_KEY_PREFIX: &str = "credo_sk_";
const VERIFY_EMAIL_VALIDITY: Duration = Duration::hours(48);
const PASSWORD_RESET_VALIDITY: Duration = Duration::hours(1);

/// Missing fields default to empty so that validation reports every one of them at once.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegisterInput {
    pub email: String,
    pub password: String,
    pub display_name: String,
}

#[derive(Debug)]
pub struct Registered {
    pub id: String,
    pub email: String,
}

fn check_display_name(errors: &mut FieldErrors, name: &str) {
    let chars = name.trim().chars().count();
    errors.check(
        chars > 0,
        "display_name",
        "enter the name to show on your certificates",
    );
    errors.check(chars <= 100, "display_name", "use at most 100 characters");
}

/// Creates an unverified account and queues the verification mail in the same transaction.
pub fn register(
    conn: &mut DbConn,
    input: &RegisterInput,
    links: &Links,
    now: NaiveDateTime,
) -> Result<Registered, AccountError> {
    let mut errors = FieldErrors::new();
    let email = normalize_email(&input.email)
        .map_err(|m| errors.add("email", m))
        .ok();
    if let Err(m) = super::password::check_policy(&input.password) {
        errors.add("password", m);
    }
    check_display_name(&mut errors, &input.display_name);
    errors.finish().map_err(AccountError::Validation)?;
    let email = email.unwrap_or_default();

    if store::find_user_by_email(conn, &email)?.is_some() {
        return Err(AccountError::EmailTaken);
    }
    let hash = super::password::hash(&input.password).map_err(AccountError::Internal)?;
    let id = store::insert_user(
        conn,
        NewUser {
            email: &email,
            display_name: input.display_name.trim(),
            password_hash: &hash,
            is_operator: false,
            verified_at: None,
        },
        now,
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            AccountError::EmailTaken
        } else {
            e.into()
        }
    })?;
    send_verification(conn, &id, &email, input.display_name.trim(), links, now)?;
    Ok(Registered { id, email })
}

fn send_verification(
    conn: &mut DbConn,
    user_id: &str,
    email: &str,
    name: &str,
    links: &Links,
    now: NaiveDateTime,
) -> Result<(), AccountError> {
    let token = random_token();
    store::insert_email_token(
        conn,
        user_id,
        TokenPurpose::VerifyEmail,
        &sha256_hex(&token),
        now,
        now + VERIFY_EMAIL_VALIDITY,
    )?;
    mail::enqueue(
        conn,
        &mail::templates::verify_email(email, name, &links.verify_email(&token)),
        now,
    )?;
    Ok(())
}

/// Sends a fresh verification link when the address belongs to an unverified account. Answers the
/// same either way so it cannot be used to learn who has an account.
pub fn resend_verification(
    conn: &mut DbConn,
    email: &str,
    links: &Links,
    now: NaiveDateTime,
) -> Result<(), AccountError> {
    let Ok(email) = normalize_email(email) else {
        return Err(AccountError::Validation(field_error(
            "email",
            "this is not an e-mail address",
        )));
    };
    if let Some(user) = store::find_user_by_email(conn, &email)? {
        if user.email_verified_at.is_none() {
            send_verification(conn, &user.id, &user.email, &user.display_name, links, now)?;
        }
    }
    Ok(())
}

/// Marks the address verified. A link used twice (mail scanners follow links) still succeeds
/// when the address is verified.
pub fn verify_email(
    conn: &mut DbConn,
    token: &str,
    now: NaiveDateTime,
) -> Result<User, AccountError> {
    let invalid = || {
        AccountError::Validation(field_error(
            "token",
            "this verification link is not valid or has expired; sign in to get a new one",
        ))
    };
    let user_id = match store::take_email_token(
        conn,
        TokenPurpose::VerifyEmail,
        &sha256_hex(token.trim()),
        now,
    )? {
        TokenLookup::Valid { user_id } => user_id,
        TokenLookup::AlreadyUsed { user_id } => {
            let user = store::find_user(conn, &user_id)?.ok_or_else(invalid)?;
            return if user.email_verified_at.is_some() {
                Ok(user)
            } else {
                Err(invalid())
            };
        }
        TokenLookup::Expired | TokenLookup::Unknown => return Err(invalid()),
    };
    store::set_email_verified(conn, &user_id, now)?;
    store::find_user(conn, &user_id)?.ok_or_else(invalid)
}

#[derive(Debug)]
pub struct LoginOutcome {
    pub token: String,
    pub expires_at: NaiveDateTime,
    pub user_id: String,
}

pub fn login(
    conn: &mut DbConn,
    keys: &SessionKeys,
    email: &str,
    password: &str,
    session_hours: u32,
    now: NaiveDateTime,
) -> Result<LoginOutcome, AccountError> {
    let mut errors = FieldErrors::new();
    errors.check(
        !email.trim().is_empty(),
        "email",
        "enter your e-mail address",
    );
    errors.check(!password.is_empty(), "password", "enter your password");
    errors.finish().map_err(AccountError::Validation)?;

    let user = store::find_user_by_email(conn, &email.trim().to_lowercase())?;
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.as_str())
        .unwrap_or(super::password::dummy_hash());
    let matches = super::password::verify(password, hash);
    let user = match user {
        Some(user) if matches => user,
        _ => return Err(AccountError::InvalidCredentials),
    };
    if user.email_verified_at.is_none() {
        return Err(AccountError::EmailNotVerified);
    }
    let expires_at = now + Duration::hours(session_hours.into());
    let session_id = store::insert_session(conn, &user.id, now, expires_at)?;
    let token = keys
        .issue(&Claims {
            sub: user.id.clone(),
            sid: session_id,
            iat: now.and_utc().timestamp(),
            exp: expires_at.and_utc().timestamp(),
        })
        .map_err(AccountError::Internal)?;
    Ok(LoginOutcome {
        token,
        expires_at,
        user_id: user.id,
    })
}

pub fn logout(conn: &mut DbConn, session_id: &str, now: NaiveDateTime) -> Result<(), AccountError> {
    store::revoke_session(conn, session_id, now)?;
    Ok(())
}

/// The person behind a session token, with their vendor roles.
pub fn authenticate_session(
    conn: &mut DbConn,
    keys: &SessionKeys,
    token: &str,
    now: NaiveDateTime,
) -> Result<SessionUser, AccountError> {
    let claims = keys
        .check(token, now.and_utc().timestamp())
        .ok_or(AccountError::Unauthenticated)?;
    let user = store::live_session_user(conn, &claims.sid, &claims.sub, now)?
        .ok_or(AccountError::Unauthenticated)?;
    let memberships = store::memberships(conn, &user.id)?;
    Ok(SessionUser {
        id: user.id,
        email: user.email,
        display_name: user.display_name,
        is_operator: user.is_operator,
        session_id: claims.sid,
        memberships,
    })
}

/// The vendor behind an API key; revoked and unknown keys are both just unauthenticated.
pub fn authenticate_api_key(
    conn: &mut DbConn,
    key: &str,
    now: NaiveDateTime,
) -> Result<ApiKeyCaller, AccountError> {
    // The lookup is by SHA-256 of the whole key, so timing reveals nothing about the stored keys.
    let found = store::find_api_key_by_hash(conn, &sha256_hex(key))?
        .ok_or(AccountError::Unauthenticated)?;
    if found.revoked_at.is_some() {
        return Err(AccountError::Unauthenticated);
    }
    // Recording every use would make each API call a write; a minute's precision is enough.
    if found
        .last_used_at
        .is_none_or(|t| now - t > Duration::minutes(1))
    {
        store::touch_api_key(conn, &found.id, now)?;
    }
    Ok(ApiKeyCaller {
        key_id: found.id,
        vendor_id: found.vendor_id,
        name: found.name,
    })
}

/// Mails a reset link when the address has an account; answers the same either way.
pub fn request_password_reset(
    conn: &mut DbConn,
    email: &str,
    links: &Links,
    now: NaiveDateTime,
) -> Result<(), AccountError> {
    let email =
        normalize_email(email).map_err(|m| AccountError::Validation(field_error("email", m)))?;
    if let Some(user) = store::find_user_by_email(conn, &email)? {
        let token = random_token();
        store::insert_email_token(
            conn,
            &user.id,
            TokenPurpose::PasswordReset,
            &sha256_hex(&token),
            now,
            now + PASSWORD_RESET_VALIDITY,
        )?;
        mail::enqueue(
            conn,
            &mail::templates::password_reset(
                &user.email,
                &user.display_name,
                &links.password_reset(&token),
            ),
            now,
        )?;
    }
    Ok(())
}

/// Sets a new password from a mailed token and signs the person out everywhere.
pub fn confirm_password_reset(
    conn: &mut DbConn,
    token: &str,
    new_password: &str,
    now: NaiveDateTime,
) -> Result<(), AccountError> {
    super::password::check_policy(new_password)
        .map_err(|m| AccountError::Validation(field_error("password", m)))?;
    let user_id =
        match store::take_email_token(
            conn,
            TokenPurpose::PasswordReset,
            &sha256_hex(token.trim()),
            now,
        )? {
            TokenLookup::Valid { user_id } => user_id,
            _ => return Err(AccountError::Validation(field_error(
                "token",
                "this reset link is not valid, was used already or has expired; ask for a new one",
            ))),
        };
    let hash = super::password::hash(new_password).map_err(AccountError::Internal)?;
    store::set_password_hash(conn, &user_id, &hash, now)?;
    // Following the mailed link proves the address too.
    store::set_email_verified(conn, &user_id, now)?;
    store::revoke_user_sessions(conn, &user_id, now)?;
    Ok(())
}

/// Creates an account from the command line (operators, demo data): verified at once.
pub fn create_verified_user(
    conn: &mut DbConn,
    email: &str,
    password: &str,
    display_name: &str,
    is_operator: bool,
    now: NaiveDateTime,
) -> Result<String, AccountError> {
    let mut errors = FieldErrors::new();
    let email = normalize_email(email)
        .map_err(|m| errors.add("email", m))
        .ok();
    if let Err(m) = super::password::check_policy(password) {
        errors.add("password", m);
    }
    check_display_name(&mut errors, display_name);
    errors.finish().map_err(AccountError::Validation)?;
    let email = email.unwrap_or_default();
    if store::find_user_by_email(conn, &email)?.is_some() {
        return Err(AccountError::EmailTaken);
    }
    let hash = super::password::hash(password).map_err(AccountError::Internal)?;
    Ok(store::insert_user(
        conn,
        NewUser {
            email: &email,
            display_name: display_name.trim(),
            password_hash: &hash,
            is_operator,
            verified_at: Some(now),
        },
        now,
    )?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VendorInput {
    pub slug: String,
    pub name: String,
    pub url: String,
}

pub fn create_vendor(
    conn: &mut DbConn,
    input: &VendorInput,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<Vendor, AccountError> {
    let mut errors = FieldErrors::new();
    errors.check(
        crate::validation::is_slug(&input.slug),
        "slug",
        "use 1–64 lower-case letters, digits and '-', not starting or ending with '-' (it appears in URLs and issuer identifiers)",
    );
    errors.check(
        !input.name.trim().is_empty(),
        "name",
        "enter the vendor's name",
    );
    errors.check(
        url::Url::parse(&input.url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")),
        "url",
        "enter the vendor's web site as an http(s) URL",
    );
    errors.finish().map_err(AccountError::Validation)?;
    if store::find_vendor_by_slug(conn, &input.slug)?.is_some() {
        return Err(AccountError::Conflict(format!(
            "a vendor with slug `{}` exists",
            input.slug
        )));
    }
    let vendor = store::insert_vendor(conn, &input.slug, input.name.trim(), &input.url, now)
        .map_err(|e| {
            if is_unique_violation(&e) {
                AccountError::Conflict("the vendor slug is taken".into())
            } else {
                AccountError::from(e)
            }
        })?;
    audit::record(
        conn,
        actor,
        Action::VendorCreated,
        Some(&vendor.id),
        &vendor.id,
        json!({"slug": vendor.slug, "name": vendor.name, "url": vendor.url}),
        now,
    )?;
    Ok(vendor)
}

/// The vendor named by `slug`, if the caller may act on it as `role`. API keys act for their own
/// vendor only. Unknown vendors are 404, other vendors' 403.
pub fn authorize_vendor(
    conn: &mut DbConn,
    principal: &Principal,
    slug: &str,
    role: VendorRole,
) -> Result<Vendor, AccountError> {
    let vendor = store::find_vendor_by_slug(conn, slug)?.ok_or(AccountError::NotFound("vendor"))?;
    let allowed = match principal {
        Principal::User(user) => user.has_vendor_role(&vendor.id, role),
        Principal::ApiKey(key) => key.vendor_id == vendor.id,
    };
    if allowed {
        Ok(vendor)
    } else {
        Err(AccountError::Forbidden(
            "you are not a member of this vendor's staff with the needed role",
        ))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemberInput {
    pub email: String,
    pub role: String,
}

pub fn add_member(
    conn: &mut DbConn,
    vendor: &Vendor,
    input: &MemberInput,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<(String, VendorRole), AccountError> {
    let mut errors = FieldErrors::new();
    let email = normalize_email(&input.email)
        .map_err(|m| errors.add("email", m))
        .ok();
    let role = VendorRole::parse(&input.role);
    errors.check(
        role.is_some(),
        "role",
        "use owner, examiner or program_manager",
    );
    errors.finish().map_err(AccountError::Validation)?;
    let (Some(email), Some(role)) = (email, role) else {
        return Err(AccountError::Internal("validated input missing".into()));
    };
    let user = store::find_user_by_email(conn, &email)?.ok_or_else(|| {
        AccountError::Validation(field_error(
            "email",
            "no Credo account uses this address yet; ask them to register first",
        ))
    })?;
    store::insert_member(conn, &vendor.id, &user.id, role, now)?;
    audit::record(
        conn,
        actor,
        Action::StaffAdded,
        Some(&vendor.id),
        &user.id,
        json!({"email": user.email, "role": role.as_str()}),
        now,
    )?;
    Ok((user.id, role))
}

/// Creates an API key and returns `(id, key)`; the key is shown this once and stored hashed.
pub fn create_api_key(
    conn: &mut DbConn,
    vendor: &Vendor,
    name: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<(String, String), AccountError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AccountError::Validation(field_error(
            "name",
            "name the key (1–100 characters) so you know where it is used",
        )));
    }
    let key = format!("{API_KEY_PREFIX}{}", random_token());
    let id = store::insert_api_key(
        conn,
        &vendor.id,
        name,
        &sha256_hex(&key),
        actor.user_id(),
        now,
    )?;
    audit::record(
        conn,
        actor,
        Action::ApiKeyCreated,
        Some(&vendor.id),
        &id,
        json!({"name": name}),
        now,
    )?;
    Ok((id, key))
}

pub fn revoke_api_key(
    conn: &mut DbConn,
    vendor: &Vendor,
    key_id: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<(), AccountError> {
    if store::revoke_api_key(conn, &vendor.id, key_id, now)? {
        audit::record(
            conn,
            actor,
            Action::ApiKeyRevoked,
            Some(&vendor.id),
            key_id,
            json!({}),
            now,
        )?;
        Ok(())
    } else {
        Err(AccountError::NotFound("API key"))
    }
}
