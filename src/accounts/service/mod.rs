//! Account use cases. Each takes the connection of the caller's transaction and the current time.

mod api_keys;
mod lifecycle;
mod profiles;
mod registration;
mod sessions;
mod staff;

use chrono::Duration;

pub use api_keys::{create_api_key, revoke_api_key, ApiKeyInput};
pub use lifecycle::{disable_account, enable_account, find_account};
pub use profiles::{new_profile_handle, set_public_profile};
pub use registration::{
    check_registration, confirm_password_reset, create_verified_user, register,
    request_password_reset, resend_verification, verify_email, RegisterInput, Registered,
};
pub use sessions::{
    authenticate_api_key, authenticate_session, cached_session, check_sign_in, logout,
    sign_in_candidate, start_session, LoginOutcome,
};
pub use staff::{
    add_member, authorize_vendor, create_vendor, list_members, remove_member, set_member_role,
    staff_vendor, Member, MemberInput, VendorInput,
};

/// Prefix of vendor API keys, so they are recognizable in configs and secret scanners.
pub const API_KEY_PREFIX: &str = "credo_sk_";
const VERIFY_EMAIL_VALIDITY: Duration = Duration::hours(48);
const PASSWORD_RESET_VALIDITY: Duration = Duration::hours(1);
