//! The catalog: published exams for candidates (`GET /api/v1/exams`, the detail of one exam) and a vendor's
//! exam by slug.

use serde::Serialize;

use super::load_bank;
use crate::db::DbConn;
use crate::exams::store::{self, ExamRow};
use crate::exams::ExamError;
use crate::text::plural;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = Price)]
pub struct PriceView {
    pub amount_minor: i64,
    pub currency: String,
}

impl PriceView {
    pub fn is_free(&self) -> bool {
        self.amount_minor == 0
    }

    /// For people: "Free" or "150.00 USD".
    pub fn display(&self) -> String {
        if self.is_free() {
            return "Free".into();
        }
        crate::money::format_amount(self.amount_minor, &self.currency)
    }

    /// The amount alone as a price field shows it for editing: "150.00".
    pub fn units(&self) -> String {
        crate::money::format_amount_units(self.amount_minor, &self.currency)
    }
}

/// One exam of the public catalog (`GET /api/v1/exams`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CatalogEntry {
    pub vendor: String,
    pub slug: String,
    pub title: String,
    /// The current version number.
    pub version: i32,
    pub duration_minutes: i32,
    pub pass_percent: i32,
    /// Questions on every form (the blueprint's total).
    pub question_count: i32,
    pub price: PriceView,
    pub validity_months: i32,
    #[serde(skip)]
    pub vendor_name: String,
}

pub(super) fn price_of(exam: &ExamRow) -> PriceView {
    PriceView {
        amount_minor: exam.price_minor,
        currency: exam.currency.clone(),
    }
}

pub fn catalog(conn: &mut DbConn) -> Result<Vec<CatalogEntry>, ExamError> {
    let rows = store::list_published_exams(conn)?;
    let mut entries = Vec::with_capacity(rows.len());
    for (exam, vendor_slug, vendor_name) in rows {
        let version = match &exam.current_version_id {
            Some(id) => store::find_version(conn, id)?.map_or(0, |v| v.number),
            None => continue,
        };
        entries.push(CatalogEntry {
            vendor: vendor_slug,
            slug: exam.slug.clone(),
            title: exam.title.clone(),
            version,
            duration_minutes: exam.duration_minutes,
            pass_percent: exam.pass_percent,
            question_count: exam.questions_per_form,
            price: price_of(&exam),
            validity_months: exam.validity_months,
            vendor_name,
        });
    }
    Ok(entries)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = RetakePolicy)]
pub struct RetakeView {
    pub cooldown_days: i32,
    pub max_attempts_per_year: i32,
    pub wait_after_pass_days: i32,
}

impl RetakeView {
    /// The policy in one sentence for people.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.cooldown_days > 0 {
            parts.push(format!(
                "wait {} after a failed attempt",
                plural(self.cooldown_days, "day", "days")
            ));
        }
        if self.max_attempts_per_year > 0 {
            parts.push(format!(
                "at most {} in any 12 months",
                plural(self.max_attempts_per_year, "attempt", "attempts")
            ));
        }
        if self.wait_after_pass_days > 0 {
            parts.push(format!(
                "no new attempt for {} after a pass",
                plural(self.wait_after_pass_days, "day", "days")
            ));
        }
        if parts.is_empty() {
            "No restrictions on retakes.".into()
        } else {
            let mut text = parts.join("; ");
            if let Some(first) = text.get(..1) {
                text = first.to_uppercase() + &text[1..];
            }
            text + "."
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ExamDomain)]
pub struct DomainView {
    pub id: String,
    pub title: String,
    /// Questions drawn from the domain on every form.
    pub questions: u32,
}

/// `GET /api/v1/exams/{vendor}/{exam}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExamDetails {
    pub vendor: String,
    pub vendor_name: String,
    pub slug: String,
    pub title: String,
    /// Markdown.
    pub description: String,
    pub version: i32,
    pub version_label: String,
    pub duration_minutes: i32,
    pub pass_percent: i32,
    pub question_count: i32,
    pub price: PriceView,
    pub validity_months: i32,
    pub allow_review: bool,
    pub renewal_exam: Option<String>,
    pub retake: RetakeView,
    pub domains: Vec<DomainView>,
}

pub(super) fn retake_of(exam: &ExamRow) -> RetakeView {
    RetakeView {
        cooldown_days: exam.retake_cooldown_days,
        max_attempts_per_year: exam.retake_max_per_year,
        wait_after_pass_days: exam.retake_wait_after_pass_days,
    }
}

/// A published exam by its public address.
pub(super) fn published_exam(
    conn: &mut DbConn,
    vendor_slug: &str,
    exam_slug: &str,
) -> Result<(ExamRow, String, String), ExamError> {
    match store::find_exam_by_slugs(conn, vendor_slug, exam_slug)? {
        Some(found) if found.0.current_version_id.is_some() => Ok(found),
        _ => Err(ExamError::NotFound("exam")),
    }
}

pub fn exam_details(
    conn: &mut DbConn,
    vendor_slug: &str,
    exam_slug: &str,
) -> Result<ExamDetails, ExamError> {
    let (exam, vendor, vendor_name) = published_exam(conn, vendor_slug, exam_slug)?;
    let version_id = exam.current_version_id.clone().unwrap_or_default();
    let version = store::find_version(conn, &version_id)?.ok_or(ExamError::NotFound("exam"))?;
    let bank = load_bank(conn, &version_id)?;
    Ok(ExamDetails {
        vendor,
        vendor_name,
        slug: exam.slug.clone(),
        title: exam.title.clone(),
        description: exam.description.clone(),
        version: version.number,
        version_label: version.label,
        duration_minutes: exam.duration_minutes,
        pass_percent: exam.pass_percent,
        question_count: exam.questions_per_form,
        price: price_of(&exam),
        validity_months: exam.validity_months,
        allow_review: exam.allow_review,
        renewal_exam: exam.renewal_exam_slug.clone(),
        retake: retake_of(&exam),
        domains: bank
            .domains
            .iter()
            .map(|d| DomainView {
                id: d.id.clone(),
                title: d.title.clone(),
                questions: d.questions_per_form,
            })
            .collect(),
    })
}

/// An exam of the given vendor by slug (vendor routes), published or not.
pub fn vendor_exam(conn: &mut DbConn, vendor_id: &str, slug: &str) -> Result<ExamRow, ExamError> {
    store::find_exam(conn, vendor_id, slug)?.ok_or(ExamError::NotFound("exam"))
}
