//! Enrollment: practitioners joining a program (with their referral code) and the vendor
//! suspending or reinstating an advocate.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::programs::{exam_titles, find_program};
use super::recompute::{held_exam_slugs, next_tier_view, NextTierView};
use super::CODE_ATTEMPTS;
use crate::accounts::{SessionUser, Vendor};
use crate::audit::{self, Action, Actor};
use crate::clock::rfc3339_seconds;
use crate::db::{self, DbConn};
use crate::links::Links;
use crate::referrals::store::{self, NewEnrollment};
use crate::referrals::{
    codes, tiers, Enrollment, EnrollmentStatus, Program, ReferralError, DISCLOSURE,
};

#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EnrollInput {
    pub accept_terms_version: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EnrollmentView {
    pub id: String,
    pub program: String,
    pub vendor: String,
    pub vendor_name: String,
    pub referral_code: String,
    pub link: String,
    /// Say this wherever the link is shared.
    pub disclosure: &'static str,
    pub status: String,
    pub tier: String,
    /// The tier's name for people.
    pub tier_name: String,
    pub rate_bps: u32,
    pub next_tier: Option<NextTierView>,
    pub terms_accepted_version: String,
    pub terms_version: String,
    pub currency: String,
    #[schema(format = DateTime)]
    pub enrolled_at: String,
}

pub(super) fn enrollment_view(
    conn: &mut DbConn,
    enrollment: &Enrollment,
    program: &Program,
    vendor: &Vendor,
    links: &Links,
    now: NaiveDateTime,
) -> Result<EnrollmentView, ReferralError> {
    let rules = store::program_tiers(conn, &program.id)?;
    let held = held_exam_slugs(conn, &enrollment.user_id, &program.vendor_id, now)?;
    let tier = rules.iter().find(|r| r.code == enrollment.tier_code);
    let rate_bps = tier.map_or(0, |r| r.rate_bps);
    let tier_name = tier.map_or_else(
        || tiers::default_tier_name(&enrollment.tier_code),
        |r| r.name.clone(),
    );
    Ok(EnrollmentView {
        id: enrollment.id.clone(),
        program: program.id.clone(),
        vendor: vendor.slug.clone(),
        vendor_name: vendor.name.clone(),
        referral_code: enrollment.referral_code.clone(),
        link: links.referral(&enrollment.referral_code),
        disclosure: DISCLOSURE,
        status: enrollment.status.to_string(),
        tier: enrollment.tier_code.clone(),
        tier_name,
        rate_bps,
        next_tier: next_tier_view(&rules, &held, &exam_titles(conn, &program.vendor_id)?),
        terms_accepted_version: enrollment.terms_accepted_version.clone(),
        terms_version: program.terms_version.clone(),
        currency: program.currency.clone(),
        enrolled_at: rfc3339_seconds(enrollment.enrolled_at),
    })
}

/// The person enrolling: the code's readable prefix comes from their name.
#[derive(Debug, Clone, Copy)]
pub struct Enrollee<'a> {
    pub user_id: &'a str,
    pub display_name: &'a str,
}

impl<'a> From<&'a SessionUser> for Enrollee<'a> {
    fn from(user: &'a SessionUser) -> Self {
        Enrollee {
            user_id: &user.id,
            display_name: &user.display_name,
        }
    }
}

/// [`enroll`] in the program named by `reference` (its id or its vendor's slug).
pub fn enroll_by_reference(
    conn: &mut DbConn,
    reference: &str,
    person: Enrollee<'_>,
    input: &EnrollInput,
    links: &Links,
    now: NaiveDateTime,
) -> Result<(EnrollmentView, bool), ReferralError> {
    let (program, vendor) = find_program(conn, reference)?;
    enroll(conn, &program, &vendor, person, input, links, now)
}

/// Enrolls the person (free, no purchase). Accepting terms other than the program's current
/// version is refused. Enrolling again returns the existing enrollment (`created == false`),
/// recording the newly accepted terms version.
pub fn enroll(
    conn: &mut DbConn,
    program: &Program,
    vendor: &Vendor,
    person: Enrollee<'_>,
    input: &EnrollInput,
    links: &Links,
    now: NaiveDateTime,
) -> Result<(EnrollmentView, bool), ReferralError> {
    let Enrollee {
        user_id,
        display_name,
    } = person;
    let accepted = input.accept_terms_version.as_deref().map(str::trim);
    match accepted {
        None | Some("") => {
            return Err(ReferralError::field(
                "accept_terms_version",
                format!(
                    "read the program's terms ({}) and accept their version \"{}\"",
                    links.program_page(&program.id),
                    program.terms_version
                ),
            ))
        }
        Some(version) if version != program.terms_version => {
            return Err(ReferralError::field(
                "accept_terms_version",
                format!(
                    "the program's current terms are version \"{}\", not \"{version}\"; read them at {} and accept that version",
                    program.terms_version,
                    links.program_page(&program.id)
                ),
            ))
        }
        Some(_) => {}
    }
    if let Some(existing) = store::find_enrollment_of_user(conn, &program.id, user_id)? {
        if existing.terms_accepted_version != program.terms_version {
            store::set_terms_accepted(conn, &existing.id, &program.terms_version, now)?;
        }
        let fresh = store::find_enrollment(conn, &existing.id)?.unwrap_or(existing);
        return Ok((
            enrollment_view(conn, &fresh, program, vendor, links, now)?,
            false,
        ));
    }
    let rules = store::program_tiers(conn, &program.id)?;
    let held = held_exam_slugs(conn, user_id, &program.vendor_id, now)?;
    let tier = tiers::select_tier(&rules, &held)
        .map(|t| t.code.clone())
        .ok_or_else(|| ReferralError::Internal("program has no base tier".into()))?;
    let mut code = None;
    let mut rng = rand::thread_rng();
    for _ in 0..CODE_ATTEMPTS {
        let candidate = codes::generate_code(display_name, &mut rng);
        if !store::code_taken(conn, &candidate)? {
            code = Some(candidate);
            break;
        }
    }
    let code = code.ok_or_else(|| {
        ReferralError::Conflict("could not find a free referral code; try again".into())
    })?;
    let id = db::new_id();
    store::insert_enrollment(
        conn,
        &NewEnrollment {
            id: &id,
            program_id: &program.id,
            user_id,
            referral_code: &code,
            tier_code: &tier,
            terms_accepted_version: &program.terms_version,
        },
        now,
    )
    .map_err(|e| {
        if db::is_unique_violation(&e) {
            ReferralError::Conflict("you enrolled a moment ago in another window; reload".into())
        } else {
            e.into()
        }
    })?;
    store::insert_tier_change(conn, &id, None, &tier, "enrolled", now)?;
    let enrollment = store::find_enrollment(conn, &id)?
        .ok_or_else(|| ReferralError::Internal("enrollment vanished".into()))?;
    Ok((
        enrollment_view(conn, &enrollment, program, vendor, links, now)?,
        true,
    ))
}

/// Suspends or reinstates an advocate (program managers). A suspended code answers 404 and new
/// commissions of a suspended advocate are held for review.
pub fn set_advocate_status(
    conn: &mut DbConn,
    program: &Program,
    enrollment_id: &str,
    status: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<Enrollment, ReferralError> {
    let Some(status) = EnrollmentStatus::parse(status) else {
        return Err(ReferralError::field("status", "use active or suspended"));
    };
    let enrollment = store::find_enrollment(conn, enrollment_id)?
        .filter(|e| e.program_id == program.id)
        .ok_or_else(|| ReferralError::NotFound("advocate not found in this program".into()))?;
    store::set_enrollment_status(conn, &enrollment.id, status, now)?;
    audit::record(
        conn,
        actor,
        Action::AdvocateStatusChanged,
        Some(&program.vendor_id),
        &enrollment.id,
        json!({
            "referral_code": enrollment.referral_code,
            "from": enrollment.status,
            "to": status,
        }),
        now,
    )?;
    store::find_enrollment(conn, &enrollment.id)?
        .ok_or_else(|| ReferralError::Internal("enrollment vanished".into()))
}
