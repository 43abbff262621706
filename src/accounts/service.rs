//! Account use cases. Each takes the connection of the caller's transaction and the current time.

use chrono::{Duration, NaiveDateTime};
use serde::Deserialize;
use serde_json::json;

use super::password::PasswordHash;
use super::session::{Claims, SessionKeys};
use super::session_cache::SESSIONS;
use super::store::{self, NewApiKey, NewUser, TokenLookup, TokenPurpose};
use super::{
    AccountError, ApiKeyCaller, Principal, Scope, Scopes, SessionUser, User, Vendor, VendorRole,
};
use crate::audit::{self, Action, Actor};
use crate::db::{is_unique_violation, new_id, DbConn};
use crate::links::Links;
use crate::mail;
use crate::ratelimit::{Limit, RateLimits};
use crate::secrets::{random_token, sha256_hex};
use crate::validation::{field_error, normalize_email, FieldErrors};

/// Prefix of vendor API keys, so they are recognizable in configs and secret scanners.
pub const API_KEY_PREFIX: &str = "credo_sk_";
const VERIFY_EMAIL_VALIDITY: Duration = Duration::hours(48);
const PASSWORD_RESET_VALIDITY: Duration = Duration::hours(1);

/// Missing fields default to empty so that validation reports every one of them at once.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
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

/// Checks every field of a registration at once; the normalized address on success. Called before
/// the password is hashed (outside any transaction) and again by [`register`].
pub fn check_registration(input: &RegisterInput) -> Result<String, AccountError> {
    let mut errors = FieldErrors::new();
    let email = normalize_email(&input.email)
        .map_err(|m| errors.add("email", m))
        .ok();
    if let Err(m) = super::password::check_policy(&input.password) {
        errors.add("password", m);
    }
    check_display_name(&mut errors, &input.display_name);
    errors.finish().map_err(AccountError::Validation)?;
    Ok(email.unwrap_or_default())
}

/// Creates an unverified account and queues the verification mail in the same transaction. An
/// address that has an account gets a mail saying so (with the way to reset the password) and the
/// caller the same answer as for a new one — with an id that names nothing — so registration
/// cannot be used to learn who has an account. `limits` caps the mails per recipient.
pub fn register(
    conn: &mut DbConn,
    input: &RegisterInput,
    password: &PasswordHash,
    links: &Links,
    limits: &RateLimits,
    now: NaiveDateTime,
) -> Result<Registered, AccountError> {
    let email = check_registration(input)?;
    let name = input.display_name.trim();
    let existing = |conn: &mut DbConn| -> Result<Registered, AccountError> {
        if let Some(user) = store::find_user_by_email(conn, &email)? {
            if may_mail(limits, &user.email) {
                mail::enqueue(
                    conn,
                    &mail::templates::registration_exists(
                        &user.email,
                        &user.display_name,
                        &links.url("/login"),
                        &links.url("/password-reset"),
                    ),
                    now,
                )?;
            }
        }
        Ok(Registered {
            id: new_id(),
            email: email.clone(),
        })
    };
    if store::find_user_by_email(conn, &email)?.is_some() {
        return existing(conn);
    }
    let inserted = crate::db::transaction(conn, |conn| {
        store::insert_user(
            conn,
            NewUser {
                email: &email,
                display_name: name,
                password_hash: password.as_str(),
                is_operator: false,
                verified_at: None,
            },
            now,
        )
    });
    let id = match inserted {
        Ok(id) => id,
        // Registered at the same moment by another request: answer as for any existing address.
        Err(e) if is_unique_violation(&e) => return existing(conn),
        Err(e) => return Err(e.into()),
    };
    if may_mail(limits, &email) {
        send_verification(conn, &id, &email, name, links, now)?;
    }
    Ok(Registered { id, email })
}

/// Whether one more mail that anyone can trigger may go to `recipient` now.
fn may_mail(limits: &RateLimits, recipient: &str) -> bool {
    limits.check(Limit::MailRecipient, recipient).is_ok()
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
    limits: &RateLimits,
    now: NaiveDateTime,
) -> Result<(), AccountError> {
    let Ok(email) = normalize_email(email) else {
        return Err(AccountError::Validation(field_error(
            "email",
            "this is not an e-mail address",
        )));
    };
    if let Some(user) = store::find_user_by_email(conn, &email)? {
        if user.email_verified_at.is_none() && may_mail(limits, &user.email) {
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

/// Both sign-in fields are filled in (checked before a sign-in queues for a password check).
pub fn check_sign_in(email: &str, password: &str) -> Result<(), AccountError> {
    let mut errors = FieldErrors::new();
    errors.check(
        !email.trim().is_empty(),
        "email",
        "enter your e-mail address",
    );
    errors.check(!password.is_empty(), "password", "enter your password");
    errors.finish().map_err(AccountError::Validation)
}

/// The account id and stored hash a sign-in with `email` checks against, if there is an account.
/// Read without a transaction: the password is checked afterwards, outside any.
pub fn sign_in_candidate(
    conn: &mut DbConn,
    email: &str,
) -> Result<Option<(String, String)>, AccountError> {
    Ok(
        store::find_user_by_email(conn, &email.trim().to_lowercase())?
            .map(|user| (user.id, user.password_hash)),
    )
}

/// Starts a session for an account whose password was just checked. The account is read again
/// here, in the session's transaction, so its state (confirmed address) is current.
pub fn start_session(
    conn: &mut DbConn,
    keys: &SessionKeys,
    user_id: &str,
    session_hours: u32,
    now: NaiveDateTime,
) -> Result<LoginOutcome, AccountError> {
    let user = store::find_user(conn, user_id)?.ok_or(AccountError::InvalidCredentials)?;
    if user.email_verified_at.is_none() {
        return Err(AccountError::EmailNotVerified);
    }
    // Said only after the password checked out, so it reveals nothing to a guesser.
    if user.disabled_at.is_some() {
        return Err(AccountError::AccountDisabled);
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

/// The person behind a session token if this node checked the session within `cache_for`
/// ([`super::session_cache`]): no database read. A bad or expired token is an error at once.
pub fn cached_session(
    keys: &SessionKeys,
    token: &str,
    now: NaiveDateTime,
    cache_for: std::time::Duration,
) -> Result<Option<SessionUser>, AccountError> {
    let claims = keys
        .check(token, now.and_utc().timestamp())
        .ok_or(AccountError::Unauthenticated)?;
    Ok(SESSIONS.lookup(&claims.sid, &claims.sub, cache_for))
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
        scopes: Scopes::from_stored(&found.scopes),
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
    limits: &RateLimits,
    now: NaiveDateTime,
) -> Result<(), AccountError> {
    let email =
        normalize_email(email).map_err(|m| AccountError::Validation(field_error("email", m)))?;
    let user = store::find_user_by_email(conn, &email)?;
    if let Some(user) = user.filter(|u| may_mail(limits, &u.email)) {
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

/// Sets a new password (hashed by the caller before this transaction) from a mailed token, makes
/// every other reset link of the account useless, and signs the person out everywhere.
pub fn confirm_password_reset(
    conn: &mut DbConn,
    token: &str,
    new_password: &PasswordHash,
    now: NaiveDateTime,
) -> Result<(), AccountError> {
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
    store::set_password_hash(conn, &user_id, new_password.as_str(), now)?;
    store::use_up_email_tokens(conn, &user_id, TokenPurpose::PasswordReset, now)?;
    // Following the mailed link proves the address too.
    store::set_email_verified(conn, &user_id, now)?;
    store::revoke_user_sessions(conn, &user_id, now)?;
    Ok(())
}

/// Creates an account from the command line (operators, demo data): verified at once. The password
/// is hashed by the caller before the transaction.
pub fn create_verified_user(
    conn: &mut DbConn,
    email: &str,
    password: &PasswordHash,
    display_name: &str,
    is_operator: bool,
    now: NaiveDateTime,
) -> Result<String, AccountError> {
    let mut errors = FieldErrors::new();
    let email = normalize_email(email)
        .map_err(|m| errors.add("email", m))
        .ok();
    check_display_name(&mut errors, display_name);
    errors.finish().map_err(AccountError::Validation)?;
    let email = email.unwrap_or_default();
    if store::find_user_by_email(conn, &email)?.is_some() {
        return Err(AccountError::EmailTaken);
    }
    Ok(store::insert_user(
        conn,
        NewUser {
            email: &email,
            display_name: display_name.trim(),
            password_hash: password.as_str(),
            is_operator,
            verified_at: Some(now),
        },
        now,
    )?)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
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

/// The vendor named by `slug` if the person is on its staff in any role (operators: every
/// vendor). Unknown vendors are 404, other vendors' 403.
pub fn staff_vendor(
    conn: &mut DbConn,
    user: &SessionUser,
    slug: &str,
) -> Result<Vendor, AccountError> {
    let vendor = store::find_vendor_by_slug(conn, slug)?.ok_or(AccountError::NotFound("vendor"))?;
    if user.is_staff_of(&vendor.id) {
        Ok(vendor)
    } else {
        Err(AccountError::Forbidden(
            "you are not on this vendor's staff",
        ))
    }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MemberInput {
    pub email: String,
    /// `owner`, `examiner` or `program_manager`.
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

/// Reads a role name, or says which ones exist.
fn parse_role(text: &str) -> Result<VendorRole, AccountError> {
    VendorRole::parse(text.trim()).ok_or_else(|| {
        AccountError::Validation(field_error(
            "role",
            "use owner, examiner or program_manager",
        ))
    })
}

/// One person on a vendor's staff with every role they hold there.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<VendorRole>,
}

pub fn list_members(conn: &mut DbConn, vendor: &Vendor) -> Result<Vec<Member>, AccountError> {
    let mut members: Vec<Member> = Vec::new();
    for (user_id, email, display_name, role) in store::vendor_staff(conn, &vendor.id)? {
        let Some(role) = VendorRole::parse(&role) else {
            continue;
        };
        match members.last_mut() {
            Some(last) if last.user_id == user_id => last.roles.push(role),
            _ => members.push(Member {
                user_id,
                email,
                display_name,
                roles: vec![role],
            }),
        }
    }
    Ok(members)
}

/// The roles the person holds at the vendor; 404 when they are not on its staff.
fn roles_of_member(
    conn: &mut DbConn,
    vendor: &Vendor,
    user_id: &str,
) -> Result<Vec<VendorRole>, AccountError> {
    let roles = store::member_roles(conn, &vendor.id, user_id)?;
    if roles.is_empty() {
        Err(AccountError::NotFound("staff member"))
    } else {
        Ok(roles)
    }
}

/// Refuses to take the owner role from the vendor's last owner.
fn keep_an_owner(
    conn: &mut DbConn,
    vendor: &Vendor,
    roles: &[VendorRole],
    action: &str,
) -> Result<(), AccountError> {
    if roles.contains(&VendorRole::Owner) && store::lock_owner_count(conn, &vendor.id)? <= 1 {
        return Err(AccountError::Conflict(format!(
            "this person is the last owner of {}; make another staff member owner before you {action} them",
            vendor.name
        )));
    }
    Ok(())
}

/// Takes every role at the vendor from a person, and with them their power at once: the API
/// keys they created for this vendor are revoked, and all their sessions end (they sign in
/// again, with the roles they still hold elsewhere). The last owner cannot be removed.
pub fn remove_member(
    conn: &mut DbConn,
    vendor: &Vendor,
    user_id: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<(), AccountError> {
    let roles = roles_of_member(conn, vendor, user_id)?;
    keep_an_owner(conn, vendor, &roles, "remove")?;
    store::delete_member(conn, &vendor.id, user_id)?;
    let keys: Vec<String> = store::live_keys_created_by(conn, user_id, Some(&vendor.id))?
        .into_iter()
        .map(|k| k.id)
        .collect();
    store::revoke_api_keys(conn, &keys, now)?;
    store::revoke_user_sessions(conn, user_id, now)?;
    let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    audit::record(
        conn,
        actor,
        Action::StaffRemoved,
        Some(&vendor.id),
        user_id,
        json!({"roles": roles, "api_keys_revoked": keys.len()}),
        now,
    )?;
    Ok(())
}

/// Gives a staff member exactly one role at the vendor (replacing the ones they held). The last
/// owner cannot be demoted. Roles are read on every request, so the change holds from the next
/// one; the person's API keys for this vendor that hold scopes the new role may not grant are
/// revoked.
pub fn set_member_role(
    conn: &mut DbConn,
    vendor: &Vendor,
    user_id: &str,
    role: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<VendorRole, AccountError> {
    let role = parse_role(role)?;
    let roles = roles_of_member(conn, vendor, user_id)?;
    if role != VendorRole::Owner {
        keep_an_owner(conn, vendor, &roles, "demote")?;
    }
    store::delete_member(conn, &vendor.id, user_id)?;
    store::insert_member(conn, &vendor.id, user_id, role, now)?;
    let allowed = Scopes::grantable_by(&[role]);
    let too_wide: Vec<String> = store::live_keys_created_by(conn, user_id, Some(&vendor.id))?
        .into_iter()
        .filter(|k| !Scopes::from_stored(&k.scopes).is_within(&allowed))
        .map(|k| k.id)
        .collect();
    store::revoke_api_keys(conn, &too_wide, now)?;
    let previous: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    audit::record(
        conn,
        actor,
        Action::StaffRoleChanged,
        Some(&vendor.id),
        user_id,
        json!({"previous_roles": previous, "role": role.as_str(), "api_keys_revoked": too_wide.len()}),
        now,
    )?;
    Ok(role)
}

/// An account by id or e-mail address (operators know people by their address).
pub fn find_account(conn: &mut DbConn, account: &str) -> Result<User, AccountError> {
    let account = account.trim();
    let found = if account.contains('@') {
        store::find_user_by_email(conn, &account.to_lowercase())?
    } else {
        store::find_user(conn, account)?
    };
    found.ok_or(AccountError::NotFound("account"))
}

/// Disables an account (operators): it can no longer sign in, and all its sessions and the API
/// keys it created end at once. Operators cannot disable their own account.
pub fn disable_account(
    conn: &mut DbConn,
    actor: &Actor,
    account: &str,
    now: NaiveDateTime,
) -> Result<User, AccountError> {
    let user = find_account(conn, account)?;
    if actor.user_id() == Some(user.id.as_str()) {
        return Err(AccountError::Conflict(
            "you cannot disable your own account; ask another operator".into(),
        ));
    }
    if user.disabled_at.is_none() {
        store::set_disabled(conn, &user.id, Some(now), now)?;
    }
    store::revoke_user_sessions(conn, &user.id, now)?;
    let keys: Vec<String> = store::live_keys_created_by(conn, &user.id, None)?
        .into_iter()
        .map(|k| k.id)
        .collect();
    store::revoke_api_keys(conn, &keys, now)?;
    audit::record(
        conn,
        actor,
        Action::AccountDisabled,
        None,
        &user.id,
        json!({"email": user.email, "was_disabled": user.disabled_at.is_some(), "api_keys_revoked": keys.len()}),
        now,
    )?;
    find_account(conn, &user.id)
}

/// Enables a disabled account again: the person may sign in. Sessions and API keys revoked when
/// it was disabled stay revoked.
pub fn enable_account(
    conn: &mut DbConn,
    actor: &Actor,
    account: &str,
    now: NaiveDateTime,
) -> Result<User, AccountError> {
    let user = find_account(conn, account)?;
    if user.disabled_at.is_some() {
        store::set_disabled(conn, &user.id, None, now)?;
    }
    audit::record(
        conn,
        actor,
        Action::AccountEnabled,
        None,
        &user.id,
        json!({"email": user.email, "was_disabled": user.disabled_at.is_some()}),
        now,
    )?;
    find_account(conn, &user.id)
}

/// What a new API key is called and may do. Without scopes, a key gets every scope its creator
/// may grant.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ApiKeyInput {
    pub name: String,
    /// `exams`, `credentials`, `referrals`, `read`; absent = every scope the creator may grant.
    pub scopes: Option<Vec<String>>,
}

/// Creates an API key and returns `(id, key, scopes)`; the key is shown this once and stored
/// hashed. `creator_roles` are the roles of the person creating it at this vendor (all roles for
/// operators): a key never holds more than they do.
pub fn create_api_key(
    conn: &mut DbConn,
    vendor: &Vendor,
    input: &ApiKeyInput,
    actor: &Actor,
    creator_roles: &[VendorRole],
    now: NaiveDateTime,
) -> Result<(String, String, Scopes), AccountError> {
    let mut errors = FieldErrors::new();
    let name = input.name.trim();
    errors.check(
        !name.is_empty() && name.chars().count() <= 100,
        "name",
        "name the key (1–100 characters) so you know where it is used",
    );
    let grantable = Scopes::grantable_by(creator_roles);
    let scopes = match &input.scopes {
        None => grantable.clone(),
        Some(names) => {
            let parsed: Vec<Option<Scope>> = names.iter().map(|n| Scope::parse(n)).collect();
            errors.check(
                parsed.iter().all(Option::is_some),
                "scopes",
                "use exams, credentials, referrals or read",
            );
            Scopes::new(parsed.into_iter().flatten())
        }
    };
    errors.check(!scopes.is_empty(), "scopes", "choose at least one scope");
    if !scopes.is_within(&grantable) {
        errors.add(
            "scopes",
            format!(
                "your role lets you grant only: {}",
                grantable.names().join(", ")
            ),
        );
    }
    errors.finish().map_err(AccountError::Validation)?;
    let key = format!("{API_KEY_PREFIX}{}", random_token());
    let id = store::insert_api_key(
        conn,
        NewApiKey {
            vendor_id: &vendor.id,
            name,
            key_hash: &sha256_hex(&key),
            created_by: actor.user_id(),
            scopes: &scopes,
        },
        now,
    )?;
    audit::record(
        conn,
        actor,
        Action::ApiKeyCreated,
        Some(&vendor.id),
        &id,
        json!({"name": name, "scopes": scopes.names()}),
        now,
    )?;
    Ok((id, key, scopes))
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

/// A public profile handle: the display name in lower-case ASCII letters and digits joined by
/// `-` (at most 30 characters), then 6 random characters, so a handle is readable but not
/// guessable from the name alone: `ada-lovelace-k3x9qp`.
pub fn new_profile_handle(display_name: &str, rng: &mut impl rand::Rng) -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let words: Vec<String> = display_name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let mut base = words.join("-");
    base.truncate(30);
    let base = base.trim_end_matches('-');
    let suffix: String = (0..6)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect();
    if base.is_empty() {
        suffix
    } else {
        format!("{base}-{suffix}")
    }
}

/// Turns the person's public profile on (a new handle each time it is turned on, so an old link
/// never comes back to life) or off. Answers the handle when on.
pub fn set_public_profile(
    conn: &mut DbConn,
    user_id: &str,
    display_name: &str,
    public: bool,
) -> Result<Option<String>, AccountError> {
    let handle = if public {
        match store::profile_handle(conn, user_id)? {
            Some(handle) => return Ok(Some(handle)),
            None => Some(new_profile_handle(display_name, &mut rand::thread_rng())),
        }
    } else {
        None
    };
    store::set_profile_handle(conn, user_id, handle.as_deref())?;
    Ok(handle)
}

#[cfg(test)]
mod profile_tests {
    use super::new_profile_handle;
    use rand::SeedableRng;

    #[test]
    fn handles_read_like_the_name_and_end_in_random_letters() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let handle = new_profile_handle("Ada  Lovelace (PhD)", &mut rng);
        assert!(handle.starts_with("ada-lovelace-phd-"), "{handle}");
        assert_eq!(handle.len(), "ada-lovelace-phd-".len() + 6);
        let other = new_profile_handle("Ada Lovelace (PhD)", &mut rng);
        assert_ne!(handle, other);
        let bare = new_profile_handle("李小龙", &mut rng);
        assert_eq!(bare.len(), 6);
        assert!(bare.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
