//! Every query of the accounts tables. Functions take a connection so callers compose them in
//! one transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::session_cache::SESSIONS;
use super::{ApiKey, Membership, Scopes, User, Vendor, VendorRole};
use crate::db::schema::{api_keys, email_tokens, sessions, users, vendor_members, vendors};
use crate::db::{self, after_commit, new_id, DbConn};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    PasswordReset,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::PasswordReset => "password_reset",
        }
    }
}

pub fn find_user_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn find_user(conn: &mut DbConn, id: &str) -> QueryResult<Option<User>> {
    db::on_backend!(conn, |c| users::table
        .find(id)
        .select(User::as_select())
        .first(c)
        .optional())
}

/// How many accounts exist (`credo serve --demo` seeds only a database without any).
pub fn count_users(conn: &mut DbConn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub is_operator: bool,
    pub verified_at: Option<NaiveDateTime>,
}

pub fn insert_user(conn: &mut DbConn, new: NewUser<'_>, now: NaiveDateTime) -> QueryResult<String> {
    let id = new_id();
    diesel::insert_into(users::table)
        .values((
            users::id.eq(&id),
            users::email.eq(new.email),
            users::display_name.eq(new.display_name),
            users::password_hash.eq(new.password_hash),
            users::is_operator.eq(new.is_operator),
            users::email_verified_at.eq(new.verified_at),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn set_email_verified(conn: &mut DbConn, user_id: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(
        users::table
            .find(user_id)
            .filter(users::email_verified_at.is_null()),
    )
    .set((users::email_verified_at.eq(now), users::updated_at.eq(now)))
    .execute(conn)
    .map(drop)
}

pub fn set_password_hash(
    conn: &mut DbConn,
    user_id: &str,
    hash: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
        .execute(conn)
        .map(drop)
}

pub fn insert_email_token(
    conn: &mut DbConn,
    user_id: &str,
    purpose: TokenPurpose,
    token_hash: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(email_tokens::table)
        .values((
            email_tokens::id.eq(new_id()),
            email_tokens::user_id.eq(user_id),
            email_tokens::purpose.eq(purpose.as_str()),
            email_tokens::token_hash.eq(token_hash),
            email_tokens::created_at.eq(now),
            email_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(drop)
}

/// Marks every unused token of `purpose` of the account used (after a reset, older links die).
pub fn use_up_email_tokens(
    conn: &mut DbConn,
    user_id: &str,
    purpose: TokenPurpose,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        email_tokens::table
            .filter(email_tokens::user_id.eq(user_id))
            .filter(email_tokens::purpose.eq(purpose.as_str()))
            .filter(email_tokens::used_at.is_null()),
    )
    .set(email_tokens::used_at.eq(now))
    .execute(conn)
}

/// What a presented mailed token turned out to be.
pub enum TokenLookup {
    Valid {
        user_id: String,
    },
    /// Used before; carries the user so an already-verified address can be confirmed kindly.
    AlreadyUsed {
        user_id: String,
    },
    Expired,
    Unknown,
}

/// Marks a mailed token used if it is valid, in the caller's transaction.
pub fn take_email_token(
    conn: &mut DbConn,
    purpose: TokenPurpose,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<TokenLookup> {
    let row: Option<(String, String, NaiveDateTime, Option<NaiveDateTime>)> = email_tokens::table
        .filter(email_tokens::token_hash.eq(token_hash))
        .filter(email_tokens::purpose.eq(purpose.as_str()))
        .select((
            email_tokens::id,
            email_tokens::user_id,
            email_tokens::expires_at,
            email_tokens::used_at,
        ))
        .first(conn)
        .optional()?;
    let Some((id, user_id, expires_at, used_at)) = row else {
        return Ok(TokenLookup::Unknown);
    };
    if used_at.is_some() {
        return Ok(TokenLookup::AlreadyUsed { user_id });
    }
    if expires_at <= now {
        return Ok(TokenLookup::Expired);
    }
    let taken = diesel::update(
        email_tokens::table
            .find(&id)
            .filter(email_tokens::used_at.is_null()),
    )
    .set(email_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok(if taken == 1 {
        TokenLookup::Valid { user_id }
    } else {
        TokenLookup::AlreadyUsed { user_id }
    })
}

pub fn insert_session(
    conn: &mut DbConn,
    user_id: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<String> {
    let id = new_id();
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(&id),
            sessions::user_id.eq(user_id),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(id)
}

/// The user of a live session (not revoked, not expired).
pub fn live_session_user(
    conn: &mut DbConn,
    session_id: &str,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<User>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(session_id))
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .filter(users::disabled_at.is_null())
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn revoke_session(conn: &mut DbConn, session_id: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(
        sessions::table
            .find(session_id)
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)?;
    let session_id = session_id.to_owned();
    after_commit(conn, move || SESSIONS.forget_session(&session_id));
    Ok(())
}

/// Makes this node's cached sessions of the person forget them once the change commits.
fn forget_sessions_of(conn: &mut DbConn, user_id: &str) {
    let user_id = user_id.to_owned();
    after_commit(conn, move || SESSIONS.forget_user(&user_id));
}

pub fn revoke_user_sessions(
    conn: &mut DbConn,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)?;
    forget_sessions_of(conn, user_id);
    Ok(())
}

pub fn memberships(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<Membership>> {
    vendor_members::table
        .inner_join(vendors::table)
        .filter(vendor_members::user_id.eq(user_id))
        .order((vendors::slug.asc(), vendor_members::role.asc()))
        .select((
            vendors::id,
            vendors::slug,
            vendors::name,
            vendor_members::role,
        ))
        .load(conn)
}

/// One staff role at a vendor with the person holding it.
#[derive(Debug, Clone, Queryable)]
pub struct StaffRole {
    pub user_id: String,
    pub email: String,
    pub display_name: String,
    #[diesel(deserialize_as = String)]
    pub role: VendorRole,
}

/// A vendor's staff, one row per role, ordered by e-mail address.
pub fn vendor_staff(conn: &mut DbConn, vendor_id: &str) -> QueryResult<Vec<StaffRole>> {
    vendor_members::table
        .inner_join(users::table)
        .filter(vendor_members::vendor_id.eq(vendor_id))
        .order((users::email.asc(), vendor_members::role.asc()))
        .select((
            users::id,
            users::email,
            users::display_name,
            vendor_members::role,
        ))
        .load(conn)
}

/// The roles one person holds at a vendor.
pub fn member_roles(
    conn: &mut DbConn,
    vendor_id: &str,
    user_id: &str,
) -> QueryResult<Vec<VendorRole>> {
    let roles: Vec<String> = vendor_members::table
        .filter(vendor_members::vendor_id.eq(vendor_id))
        .filter(vendor_members::user_id.eq(user_id))
        .select(vendor_members::role)
        .load(conn)?;
    crate::db::text_enum::read_all(roles)
}

/// How many people own the vendor. On PostgreSQL the owners' rows are locked until the
/// transaction ends, so two owners demoting each other at once cannot leave the vendor without
/// one (SQLite's write transaction is exclusive already).
pub fn lock_owner_count(conn: &mut DbConn, vendor_id: &str) -> QueryResult<usize> {
    let owners = vendor_members::table
        .filter(vendor_members::vendor_id.eq(vendor_id))
        .filter(vendor_members::role.eq(VendorRole::Owner.as_str()))
        .select(vendor_members::user_id);
    let mut ids: Vec<String> = match conn {
        DbConn::Postgres(pg) => owners.for_update().load(pg)?,
        DbConn::Sqlite(sqlite) => owners.load(sqlite)?,
    };
    ids.sort();
    ids.dedup();
    Ok(ids.len())
}

/// Removes every role the person holds at the vendor; the number of rows removed.
pub fn delete_member(conn: &mut DbConn, vendor_id: &str, user_id: &str) -> QueryResult<usize> {
    let removed = diesel::delete(
        vendor_members::table
            .filter(vendor_members::vendor_id.eq(vendor_id))
            .filter(vendor_members::user_id.eq(user_id)),
    )
    .execute(conn)?;
    forget_sessions_of(conn, user_id);
    Ok(removed)
}

pub fn set_disabled(
    conn: &mut DbConn,
    user_id: &str,
    disabled_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::disabled_at.eq(disabled_at),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    forget_sessions_of(conn, user_id);
    Ok(())
}

/// The live (unrevoked) API keys a person created, at one vendor or (`None`) at every vendor.
pub fn live_keys_created_by(
    conn: &mut DbConn,
    user_id: &str,
    vendor_id: Option<&str>,
) -> QueryResult<Vec<ApiKey>> {
    let mut query = api_keys::table
        .filter(api_keys::created_by.eq(user_id))
        .filter(api_keys::revoked_at.is_null())
        .select(ApiKey::as_select())
        .into_boxed();
    if let Some(vendor_id) = vendor_id {
        query = query.filter(api_keys::vendor_id.eq(vendor_id));
    }
    query.load(conn)
}

/// Revokes keys by id (already revoked ones stay as they were).
pub fn revoke_api_keys(conn: &mut DbConn, ids: &[String], now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(
        api_keys::table
            .filter(api_keys::id.eq_any(ids))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(now))
    .execute(conn)
    .map(drop)
}

pub fn find_vendor_by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Option<Vendor>> {
    vendors::table
        .filter(vendors::slug.eq(slug))
        .select(Vendor::as_select())
        .first(conn)
        .optional()
}

pub fn find_vendor(conn: &mut DbConn, id: &str) -> QueryResult<Option<Vendor>> {
    db::on_backend!(conn, |c| vendors::table
        .find(id)
        .select(Vendor::as_select())
        .first(c)
        .optional())
}

pub fn list_vendors(conn: &mut DbConn) -> QueryResult<Vec<Vendor>> {
    vendors::table
        .order(vendors::name.asc())
        .select(Vendor::as_select())
        .load(conn)
}

pub fn insert_vendor(
    conn: &mut DbConn,
    slug: &str,
    name: &str,
    url: &str,
    now: NaiveDateTime,
) -> QueryResult<Vendor> {
    let vendor = Vendor {
        id: new_id(),
        slug: slug.to_string(),
        name: name.to_string(),
        url: url.to_string(),
        created_at: now,
    };
    diesel::insert_into(vendors::table)
        .values((
            vendors::id.eq(&vendor.id),
            vendors::slug.eq(&vendor.slug),
            vendors::name.eq(&vendor.name),
            vendors::url.eq(&vendor.url),
            vendors::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(vendor)
}

/// Adds a role; adding one the person already holds is a no-op.
pub fn insert_member(
    conn: &mut DbConn,
    vendor_id: &str,
    user_id: &str,
    role: VendorRole,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let exists = vendor_members::table
        .filter(vendor_members::vendor_id.eq(vendor_id))
        .filter(vendor_members::user_id.eq(user_id))
        .filter(vendor_members::role.eq(role.as_str()))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if !exists {
        diesel::insert_into(vendor_members::table)
            .values((
                vendor_members::id.eq(new_id()),
                vendor_members::vendor_id.eq(vendor_id),
                vendor_members::user_id.eq(user_id),
                vendor_members::role.eq(role.as_str()),
                vendor_members::created_at.eq(now),
            ))
            .execute(conn)?;
        forget_sessions_of(conn, user_id);
    }
    Ok(())
}

pub struct NewApiKey<'a> {
    pub vendor_id: &'a str,
    pub name: &'a str,
    pub key_hash: &'a str,
    pub created_by: Option<&'a str>,
    pub scopes: &'a Scopes,
}

pub fn insert_api_key(
    conn: &mut DbConn,
    new: NewApiKey<'_>,
    now: NaiveDateTime,
) -> QueryResult<String> {
    let id = new_id();
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::id.eq(&id),
            api_keys::vendor_id.eq(new.vendor_id),
            api_keys::name.eq(new.name),
            api_keys::key_hash.eq(new.key_hash),
            api_keys::created_by.eq(new.created_by),
            api_keys::created_at.eq(now),
            api_keys::scopes.eq(new.scopes.to_stored()),
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn find_api_key_by_hash(conn: &mut DbConn, key_hash: &str) -> QueryResult<Option<ApiKey>> {
    api_keys::table
        .filter(api_keys::key_hash.eq(key_hash))
        .select(ApiKey::as_select())
        .first(conn)
        .optional()
}

pub fn list_api_keys(conn: &mut DbConn, vendor_id: &str) -> QueryResult<Vec<ApiKey>> {
    api_keys::table
        .filter(api_keys::vendor_id.eq(vendor_id))
        .order(api_keys::created_at.desc())
        .select(ApiKey::as_select())
        .load(conn)
}

/// Revokes a key of this vendor; false when the vendor has no such key.
pub fn revoke_api_key(
    conn: &mut DbConn,
    vendor_id: &str,
    key_id: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let found = api_keys::table
        .filter(api_keys::id.eq(key_id))
        .filter(api_keys::vendor_id.eq(vendor_id))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if found {
        diesel::update(
            api_keys::table
                .find(key_id)
                .filter(api_keys::revoked_at.is_null()),
        )
        .set(api_keys::revoked_at.eq(now))
        .execute(conn)?;
    }
    Ok(found)
}

pub fn touch_api_key(conn: &mut DbConn, key_id: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(api_keys::table.find(key_id))
        .set(api_keys::last_used_at.eq(now))
        .execute(conn)
        .map(drop)
}

/// The person's public profile handle (`None`: no public profile).
pub fn profile_handle(conn: &mut DbConn, user_id: &str) -> QueryResult<Option<String>> {
    users::table
        .find(user_id)
        .select(users::profile_handle)
        .first(conn)
        .optional()
        .map(Option::flatten)
}

pub fn set_profile_handle(
    conn: &mut DbConn,
    user_id: &str,
    handle: Option<&str>,
) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::profile_handle.eq(handle))
        .execute(conn)
        .map(drop)
}

/// (user id, display name) of the enabled account with this public profile handle.
pub fn find_by_profile_handle(
    conn: &mut DbConn,
    handle: &str,
) -> QueryResult<Option<(String, String)>> {
    users::table
        .filter(users::profile_handle.eq(handle))
        .filter(users::disabled_at.is_null())
        .select((users::id, users::display_name))
        .first(conn)
        .optional()
}
