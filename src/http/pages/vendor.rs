//! The vendor console hub: the vendors a person works for, each vendor's sections (exams,
//! credentials, program — linked from their own modules), staff and API keys.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{
    render_with_status, see_other, vendor_with_role, Empty, Form, PageContext, PageError, PageUser,
};
use crate::accounts::{
    self, AccountError, ApiKeyInput, Member, Scope, SessionUser, Vendor, VendorInput, VendorRole,
};
use crate::app::AppState;
use crate::audit::{self, ActorKind};
use crate::credentials::{self, proof::Cryptosuite};
use crate::http::auth::user_actor;
use crate::http::extract::whole_number;
use crate::http::problem::ApiError;
use crate::validation::FieldErrors;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(index)
        .service(create_vendor)
        .service(hub)
        .service(audit_trail)
        .service(add_member)
        .service(set_member_role)
        .service(remove_member)
        .service(create_key)
        .service(revoke_key)
        .service(set_credential_settings);
}

/// One group of console links on the hub: a heading, what it is for, and its pages.
struct Section {
    heading: &'static str,
    about: &'static str,
    links: Vec<(String, &'static str)>,
}

/// Links to each domain's console pages for one vendor, grouped by the role that may open them:
/// examiners see exams and credentials, program managers the advocate program (owners and
/// operators both), so nobody is shown a link that only answers "not allowed".
fn sections(user: &SessionUser, vendor: &Vendor) -> Vec<Section> {
    let mut sections = Vec::new();
    if user.has_vendor_role(&vendor.id, VendorRole::Examiner) {
        let mut links = super::exams::vendor_console_links(&vendor.slug);
        links.extend(super::credentials::vendor_console_links(&vendor.slug));
        sections.push(Section {
            heading: "Exams and credentials",
            about: "Banks, versions, vouchers, results and item statistics; the credentials issued and their revocation.",
            links,
        });
    }
    if user.has_vendor_role(&vendor.id, VendorRole::ProgramManager) {
        sections.push(Section {
            heading: "Advocate program",
            about: "Tiers and terms, advocates, billing events, commissions, payouts and the referral funnel.",
            links: super::referrals::vendor_console_links(&vendor.slug),
        });
    }
    if user.has_vendor_role(&vendor.id, VendorRole::Owner) {
        sections.push(Section {
            heading: "Payments",
            about: "Stripe: the webhook's signing secret, each exam's payment link and price, and the latest exam payments.",
            links: super::billing::vendor_console_links(&vendor.slug),
        });
    }
    sections
}

fn account_errors(e: AccountError) -> Result<FieldErrors, PageError> {
    match e {
        AccountError::Validation(list) => {
            let mut errors = FieldErrors::new();
            for error in list {
                errors.add(error.field, error.message);
            }
            Ok(errors)
        }
        other => Err(ApiError::from(other).into()),
    }
}

#[derive(Template)]
#[template(path = "vendor/index.html")]
struct IndexPage {
    ctx: PageContext,
    vendors: Vec<Vendor>,
    is_operator: bool,
    form: VendorForm,
    errors: FieldErrors,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct VendorForm {
    slug: String,
    name: String,
    url: String,
}

async fn index_page(
    state: &AppState,
    req: &HttpRequest,
    user: SessionUser,
    form: VendorForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let is_operator = user.is_operator;
    let ids: Vec<String> = user
        .memberships
        .iter()
        .map(|m| m.vendor_id.clone())
        .collect();
    let vendors = state
        .db(move |conn| {
            let all = accounts::store::list_vendors(conn).map_err(AccountError::from)?;
            Ok::<_, AccountError>(
                all.into_iter()
                    .filter(|v| is_operator || ids.contains(&v.id))
                    .collect(),
            )
        })
        .await
        .map_err(ApiError::from)?;
    Ok(render_with_status(
        status,
        &IndexPage {
            ctx: PageContext::new(req, Some(user)),
            vendors,
            is_operator,
            form,
            errors,
        },
    ))
}

#[get("/vendor")]
async fn index(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
) -> Result<HttpResponse, PageError> {
    index_page(
        &state,
        &req,
        user,
        VendorForm::default(),
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

#[post("/vendor")]
async fn create_vendor(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    Form(form): Form<VendorForm>,
) -> Result<HttpResponse, PageError> {
    if !user.is_operator {
        return Err(PageError::Forbidden(
            "Only operators create vendors.".into(),
        ));
    }
    let now = state.clock.now();
    let actor = user_actor(&req, &user);
    let input = VendorInput {
        slug: form.slug.trim().to_string(),
        name: form.name.clone(),
        url: form.url.trim().to_string(),
    };
    match state
        .tx(move |conn| accounts::create_vendor(conn, &input, &actor, now))
        .await
    {
        Ok(vendor) => Ok(see_other(&format!("/vendor/{}", vendor.slug))),
        Err(AccountError::Conflict(message)) => {
            let mut errors = FieldErrors::new();
            errors.add("slug", message);
            index_page(&state, &req, user, form, errors, StatusCode::CONFLICT).await
        }
        Err(e) => {
            let errors = account_errors(e)?;
            index_page(
                &state,
                &req,
                user,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

struct KeyRow {
    id: String,
    name: String,
    scopes: String,
    created: String,
    last_used: String,
    revoked: bool,
}

/// A staff member as listed on the hub.
struct StaffRow {
    member: Member,
    roles: String,
    /// The one role they hold, preselected in the role form (owner when they hold several).
    role: &'static str,
}

impl From<Member> for StaffRow {
    fn from(member: Member) -> Self {
        let roles = member
            .roles
            .iter()
            .map(|r| r.as_str().replace('_', " "))
            .collect::<Vec<_>>()
            .join(", ");
        let role = if member.roles.len() == 1 {
            member.roles[0].as_str()
        } else {
            VendorRole::Owner.as_str()
        };
        StaffRow {
            member,
            roles,
            role,
        }
    }
}

/// One choice of the cryptosuite select.
struct SuiteOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

fn suite_label(suite: Cryptosuite) -> &'static str {
    match suite {
        Cryptosuite::EddsaRdfc2022 => {
            "eddsa-rdfc-2022 — accepted by the Open Badges validator, wallets and most verifiers"
        }
        Cryptosuite::EddsaJcs2022 => {
            "eddsa-jcs-2022 — JSON canonicalization; fewer verifiers accept it"
        }
    }
}

/// The roles offered in the staff forms, with what each may do.
const ROLE_CHOICES: [(&str, &str); 3] = [
    (
        "examiner",
        "Examiner — exams, vouchers, results, credentials",
    ),
    (
        "program_manager",
        "Program manager — advocate program, payouts",
    ),
    ("owner", "Owner — everything, staff and API keys"),
];

/// The scopes offered when creating an API key, with what each opens.
const SCOPE_CHOICES: [(Scope, &str); 4] = [
    (Scope::Exams, "exams — banks, vouchers, statistics, revenue"),
    (
        Scope::Credentials,
        "credentials — list and revoke credentials",
    ),
    (
        Scope::Referrals,
        "referrals — program, customers, billing events, payouts",
    ),
    (Scope::Read, "read — every GET request, nothing else"),
];

#[derive(Template)]
#[template(path = "vendor/hub.html")]
struct HubPage {
    ctx: PageContext,
    vendor: Vendor,
    sections: Vec<Section>,
    staff: Vec<StaffRow>,
    roles: [(&'static str, &'static str); 3],
    scopes: Vec<(&'static str, &'static str)>,
    is_owner: bool,
    suites: Vec<SuiteOption>,
    keys: Vec<KeyRow>,
    new_key: Option<String>,
    member_email: String,
    errors: FieldErrors,
}

/// The vendor if the person is on its staff (any role); 404 for unknown vendors, 403 for others.
async fn staff_vendor(
    state: &AppState,
    user: &SessionUser,
    slug: String,
) -> Result<Vendor, PageError> {
    let user = user.clone();
    Ok(state
        .db(move |conn| accounts::staff_vendor(conn, &user, &slug))
        .await
        .map_err(ApiError::from)?)
}

struct HubExtras {
    new_key: Option<String>,
    member_email: String,
    errors: FieldErrors,
    status: StatusCode,
}

impl Default for HubExtras {
    fn default() -> Self {
        Self {
            new_key: None,
            member_email: String::new(),
            errors: FieldErrors::new(),
            status: StatusCode::OK,
        }
    }
}

async fn hub_page(
    state: &AppState,
    req: &HttpRequest,
    user: SessionUser,
    vendor: Vendor,
    extras: HubExtras,
) -> Result<HttpResponse, PageError> {
    let is_owner = user.has_vendor_role(&vendor.id, VendorRole::Owner);
    let (vendor_id, target) = (vendor.id.clone(), vendor.clone());
    let (staff, keys) = state
        .db(move |conn| {
            let staff = accounts::list_members(conn, &target)?;
            let keys = if is_owner {
                accounts::store::list_api_keys(conn, &vendor_id)?
            } else {
                Vec::new()
            };
            Ok::<_, AccountError>((staff, keys))
        })
        .await
        .map_err(ApiError::from)?;
    let suites = if is_owner {
        let vendor_id = vendor.id.clone();
        let current = state
            .db(move |conn| credentials::service::cryptosuite(conn, &vendor_id))
            .await
            .map_err(ApiError::from)?;
        Cryptosuite::ALL
            .into_iter()
            .map(|suite| SuiteOption {
                value: suite.as_str(),
                label: suite_label(suite),
                selected: suite == current,
            })
            .collect()
    } else {
        Vec::new()
    };
    let keys = keys
        .into_iter()
        .map(|k| KeyRow {
            scopes: accounts::Scopes::from_stored(&k.scopes).names().join(", "),
            id: k.id,
            name: k.name,
            created: super::human_time(k.created_at),
            last_used: k
                .last_used_at
                .map(super::human_time)
                .unwrap_or_else(|| "never".into()),
            revoked: k.revoked_at.is_some(),
        })
        .collect();
    Ok(render_with_status(
        extras.status,
        &HubPage {
            sections: sections(&user, &vendor),
            ctx: PageContext::new(req, Some(user)),
            vendor,
            staff: staff.into_iter().map(StaffRow::from).collect(),
            roles: ROLE_CHOICES,
            scopes: SCOPE_CHOICES
                .iter()
                .map(|(scope, about)| (scope.as_str(), *about))
                .collect(),
            is_owner,
            suites,
            keys,
            new_key: extras.new_key,
            member_email: extras.member_email,
            errors: extras.errors,
        },
    ))
}

#[get("/vendor/{vendor}")]
async fn hub(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let vendor = staff_vendor(&state, &user, path.into_inner()).await?;
    hub_page(&state, &req, user, vendor, HubExtras::default()).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MemberForm {
    email: String,
    role: String,
}

#[post("/vendor/{vendor}/members")]
async fn add_member(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
    Form(form): Form<MemberForm>,
) -> Result<HttpResponse, PageError> {
    let vendor = vendor_with_role(&state, &user, path.into_inner(), VendorRole::Owner).await?;
    let now = state.clock.now();
    let actor = user_actor(&req, &user);
    let input = accounts::MemberInput {
        email: form.email.clone(),
        role: form.role,
    };
    let target = vendor.clone();
    match state
        .tx(move |conn| accounts::add_member(conn, &target, &input, &actor, now))
        .await
    {
        Ok(_) => Ok(see_other(&format!("/vendor/{}", vendor.slug))),
        Err(e) => {
            let errors = account_errors(e)?;
            let extras = HubExtras {
                member_email: form.email,
                errors,
                status: StatusCode::UNPROCESSABLE_ENTITY,
                ..Default::default()
            };
            hub_page(&state, &req, user, vendor, extras).await
        }
    }
}

/// Shows the hub again with the problem in `e` (field errors, or a conflict such as removing the
/// last owner) and its status.
async fn hub_with_error(
    state: &AppState,
    req: &HttpRequest,
    user: SessionUser,
    vendor: Vendor,
    e: AccountError,
) -> Result<HttpResponse, PageError> {
    let (errors, status) = match e {
        AccountError::Conflict(message) => {
            let mut errors = FieldErrors::new();
            errors.add("staff", message);
            (errors, StatusCode::CONFLICT)
        }
        other => (account_errors(other)?, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let extras = HubExtras {
        errors,
        status,
        ..Default::default()
    };
    hub_page(state, req, user, vendor, extras).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RoleForm {
    role: String,
}

#[post("/vendor/{vendor}/members/{user}/role")]
async fn set_member_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    Form(form): Form<RoleForm>,
) -> Result<HttpResponse, PageError> {
    let (slug, member) = path.into_inner();
    let vendor = vendor_with_role(&state, &user, slug, VendorRole::Owner).await?;
    let now = state.clock.now();
    let (target, actor) = (vendor.clone(), user_actor(&req, &user));
    match state
        .tx(move |conn| accounts::set_member_role(conn, &target, &member, &form.role, &actor, now))
        .await
    {
        Ok(_) => Ok(see_other(&format!("/vendor/{}", vendor.slug))),
        Err(e) => hub_with_error(&state, &req, user, vendor, e).await,
    }
}

#[post("/vendor/{vendor}/members/{user}/remove")]
async fn remove_member(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    Form(_): Form<Empty>,
) -> Result<HttpResponse, PageError> {
    let (slug, member) = path.into_inner();
    let vendor = vendor_with_role(&state, &user, slug, VendorRole::Owner).await?;
    let now = state.clock.now();
    let (target, actor) = (vendor.clone(), user_actor(&req, &user));
    match state
        .tx(move |conn| accounts::remove_member(conn, &target, &member, &actor, now))
        .await
    {
        Ok(()) => Ok(see_other(&format!("/vendor/{}", vendor.slug))),
        Err(e) => hub_with_error(&state, &req, user, vendor, e).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct KeyForm {
    name: String,
    /// One entry per ticked scope box.
    scopes: Vec<String>,
}

#[post("/vendor/{vendor}/api-keys")]
async fn create_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
    Form(form): Form<KeyForm>,
) -> Result<HttpResponse, PageError> {
    let vendor = vendor_with_role(&state, &user, path.into_inner(), VendorRole::Owner).await?;
    let now = state.clock.now();
    let (target, actor) = (vendor.clone(), user_actor(&req, &user));
    let roles = user.roles_at(&vendor.id);
    let input = ApiKeyInput {
        name: form.name,
        scopes: Some(form.scopes),
    };
    // The page that shows the new key is the answer to this POST: it is never stored anywhere.
    let extras = match state
        .tx(move |conn| accounts::create_api_key(conn, &target, &input, &actor, &roles, now))
        .await
    {
        Ok((_, key, _)) => HubExtras {
            new_key: Some(key),
            status: StatusCode::CREATED,
            ..Default::default()
        },
        Err(e) => HubExtras {
            errors: account_errors(e)?,
            status: StatusCode::UNPROCESSABLE_ENTITY,
            ..Default::default()
        },
    };
    hub_page(&state, &req, user, vendor, extras).await
}

#[post("/vendor/{vendor}/api-keys/{key}/revoke")]
async fn revoke_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    Form(_): Form<Empty>,
) -> Result<HttpResponse, PageError> {
    let (slug, key_id) = path.into_inner();
    let vendor = vendor_with_role(&state, &user, slug, VendorRole::Owner).await?;
    let now = state.clock.now();
    let (target, actor) = (vendor.clone(), user_actor(&req, &user));
    state
        .tx(move |conn| accounts::revoke_api_key(conn, &target, &key_id, &actor, now))
        .await
        .map_err(ApiError::from)?;
    Ok(see_other(&format!("/vendor/{}", vendor.slug)))
}

/// One act as the console shows it.
struct AuditRow {
    when: String,
    who: String,
    kind: &'static str,
    address: Option<String>,
    action: String,
    subject_type: String,
    subject_id: String,
    details: String,
}

fn actor_kind_label(kind: ActorKind) -> &'static str {
    match kind {
        ActorKind::User => "person",
        ActorKind::ApiKey => "API key",
        ActorKind::OperatorCli => "operator, command line",
        ActorKind::System => "Credo",
    }
}

#[derive(Template)]
#[template(path = "vendor/audit.html")]
struct AuditPage {
    ctx: PageContext,
    vendor: Vendor,
    trail: audit::Page,
    rows: Vec<AuditRow>,
    pages: i64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AuditQuery {
    page: Option<String>,
}

/// The vendor's audit trail, newest first, for its owners (and operators).
#[get("/vendor/{vendor}/audit")]
async fn audit_trail(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, PageError> {
    let vendor = vendor_with_role(&state, &user, path.into_inner(), VendorRole::Owner).await?;
    let page = whole_number("page", query.page.as_deref())?.unwrap_or(1);
    let vendor_id = vendor.id.clone();
    let trail = state
        .db(move |conn| audit::read_page(conn, Some(&vendor_id), page, audit::PAGE_SIZE))
        .await
        .map_err(ApiError::from)?;
    let rows = trail
        .events
        .iter()
        .map(|e| AuditRow {
            when: super::human_time_text(&e.at),
            who: e.actor_display.clone(),
            kind: actor_kind_label(e.actor_kind),
            address: e.client_address.clone(),
            action: e.action.clone(),
            subject_type: e.subject_type.replace('_', " "),
            subject_id: e.subject_id.clone(),
            details: e.details.to_string(),
        })
        .collect();
    Ok(render_with_status(
        StatusCode::OK,
        &AuditPage {
            pages: trail.pages.max(1),
            ctx: PageContext::new(&req, Some(user)),
            vendor,
            trail,
            rows,
        },
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CredentialSettingsForm {
    cryptosuite: String,
}

#[post("/vendor/{vendor}/credential-settings")]
async fn set_credential_settings(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
    Form(form): Form<CredentialSettingsForm>,
) -> Result<HttpResponse, PageError> {
    let vendor = vendor_with_role(&state, &user, path.into_inner(), VendorRole::Owner).await?;
    let now = state.clock.now();
    let (target, actor) = (vendor.clone(), user_actor(&req, &user));
    state
        .tx(move |conn| {
            credentials::service::set_cryptosuite(conn, &target, &form.cryptosuite, &actor, now)
        })
        .await
        .map_err(ApiError::from)?;
    Ok(see_other(&format!("/vendor/{}", vendor.slug)))
}
