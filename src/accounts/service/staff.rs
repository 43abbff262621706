//! Vendors and their staff: creating a vendor, authorizing vendor routes, members and their roles.

use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::json;

use crate::accounts::store;
use crate::accounts::{AccountError, Principal, Scopes, SessionUser, Vendor, VendorRole};
use crate::audit::{self, Action, Actor};
use crate::db::{is_unique_violation, DbConn};
use crate::validation::{field_error, normalize_email, FieldErrors};

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
    for store::StaffRole {
        user_id,
        email,
        display_name,
        role,
    } in store::vendor_staff(conn, &vendor.id)?
    {
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
