//! Authoring: importing bank files (TOML, GIFT, QTI) as immutable versions, exporting a version as QTI, and the
//! vendor's explicit version state changes (publish, unpublish, retire).

use std::sync::Arc;

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::{json, Value};

use super::catalog::vendor_exam;
use super::load_bank;
use crate::audit::{self, Action, Actor};
use crate::db::{self, DbConn};
use crate::exams::store::{self, ExamMetaColumns, ExamRow, NewVersion};
use crate::exams::{
    lint_bank, parse_bank_located, parse_gift, parse_qti, Bank, BankError, BankErrors, ExamError,
    ExamMeta, ExamVersionState, ImportedQuestions, Price, RetakePolicy,
};
use crate::validation::is_slug;

/// A bank file to import, as uploaded or read from disk.
#[derive(Debug, Clone, Copy)]
pub enum BankSource<'a> {
    Toml {
        name: &'a str,
        text: &'a str,
    },
    /// Moodle GIFT questions for the exam `exam_slug` (created with defaults when new).
    Gift {
        name: &'a str,
        text: &'a str,
        exam_slug: &'a str,
    },
    /// A QTI package (zip) or item/test XML for the exam `exam_slug` (created with defaults when new).
    Qti {
        name: &'a str,
        bytes: &'a [u8],
        exam_slug: &'a str,
    },
}

impl BankSource<'_> {
    fn name(&self) -> &str {
        match self {
            BankSource::Toml { name, .. }
            | BankSource::Gift { name, .. }
            | BankSource::Qti { name, .. } => name,
        }
    }

    fn format(&self) -> &'static str {
        match self {
            BankSource::Toml { .. } => "toml",
            BankSource::Gift { .. } => "gift",
            BankSource::Qti { .. } => "qti",
        }
    }
}

/// The answer of an import: `created` is false when the content equals the current version (nothing stored).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = BankImport)]
pub struct ImportOutcome {
    pub vendor: String,
    pub exam: String,
    #[serde(skip)]
    pub version_id: String,
    pub version: i32,
    pub version_label: String,
    pub created: bool,
    pub questions: usize,
    pub domains: usize,
    pub questions_per_form: u32,
    pub warnings: Vec<BankError>,
    /// The version's state after the import: `draft`, or `published` when the import published it.
    pub state: ExamVersionState,
}

/// Defaults of an exam created by a GIFT import (GIFT files carry questions only). Documented in
/// docs/exam-banks.md; upload a TOML bank for the same slug to change them.
pub const GIFT_DEFAULT_DURATION_MINUTES: u32 = 60;
pub const GIFT_DEFAULT_PASS_PERCENT: u8 = 70;
pub const GIFT_DEFAULT_VERSION_LABEL: &str = "1";

/// A title from a slug: `git-basics` → `Git basics`.
fn title_from_slug(slug: &str) -> String {
    let words = slug.replace('-', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Builds the bank of a GIFT or QTI import: the questions and domains of the file, the metadata of the exam's
/// current version (or defaults for a new exam) with the title and duration the file gives, and the blueprint
/// of a QTI test; otherwise per domain the blueprint of the current version when the domain exists there
/// (else every imported question of the domain is drawn).
pub fn imported_bank(
    file: &str,
    exam_slug: &str,
    import: ImportedQuestions,
    previous: Option<&Bank>,
) -> Result<(Bank, Vec<BankError>), BankErrors> {
    let mut warnings = import.warnings;
    let problem = |line: usize, message: String| BankError {
        file: file.to_owned(),
        line,
        question_id: None,
        message,
    };
    if import.questions.is_empty() {
        let mut errors = vec![problem(
            1,
            "no question could be imported from this file; the skipped questions are listed".into(),
        )];
        errors.extend(warnings.into_iter().map(|w| BankError {
            message: format!("skipped: {}", w.message.trim_start_matches("skipped: ")),
            ..w
        }));
        return Err(BankErrors { errors });
    }
    let mut errors = Vec::new();
    let mut domains = Vec::new();
    for mut domain in import.domains {
        if domain.questions_per_form == 0 {
            warnings.push(problem(
                1,
                format!(
                    "category `{}` has no importable question; no domain was made for it",
                    domain.title
                ),
            ));
            continue;
        }
        let available = domain.questions_per_form;
        if import.blueprint_in_file {
            domains.push(domain);
            continue;
        }
        if let Some(existing) = previous.and_then(|bank| bank.domain(&domain.id)) {
            domain.title = existing.title.clone();
            if existing.questions_per_form > available {
                errors.push(problem(
                    1,
                    format!(
                        "domain `{}` has {available} question(s) in this file but the exam's blueprint draws {}; add questions to the category or upload a TOML bank with a smaller `questions_per_form`",
                        domain.id, existing.questions_per_form
                    ),
                ));
            }
            domain.questions_per_form = existing.questions_per_form.min(available);
        }
        domains.push(domain);
    }
    if !errors.is_empty() {
        return Err(BankErrors { errors });
    }
    let mut exam = match previous {
        Some(bank) => ExamMeta {
            slug: exam_slug.to_owned(),
            ..bank.exam.clone()
        },
        None => ExamMeta {
            slug: exam_slug.to_owned(),
            title: title_from_slug(exam_slug),
            version: GIFT_DEFAULT_VERSION_LABEL.to_owned(),
            description: None,
            duration_minutes: GIFT_DEFAULT_DURATION_MINUTES,
            pass_percent: GIFT_DEFAULT_PASS_PERCENT,
            validity_months: 0,
            allow_review: false,
            renewal_exam: None,
            price: Price {
                amount_minor: 0,
                currency: Price::NO_CURRENCY.to_owned(),
            },
            retake: RetakePolicy::default(),
        },
    };
    if let Some(title) = import.title {
        exam.title = title;
    }
    if let Some(minutes) = import.duration_minutes {
        exam.duration_minutes = minutes;
    }
    let bank = Bank {
        exam,
        domains,
        questions: import.questions,
    };
    warnings.extend(lint_bank(file, &bank, &import.question_lines));
    Ok((bank, warnings))
}

/// Parses a TOML bank file without touching the database (`credo bank validate`, imports), with the lint
/// warnings for text that gives answers away.
pub fn validate_bank_file(name: &str, text: &str) -> Result<(Bank, Vec<BankError>), BankErrors> {
    let (bank, lines) = parse_bank_located(name, text)?;
    let warnings = lint_bank(name, &bank, &lines);
    Ok((bank, warnings))
}

/// Imports a bank for a vendor: parses and validates it (TOML, or GIFT into an exam), then stores it as a new
/// immutable version unless its content equals the current version. The `exams` row mirrors the latest
/// version's metadata. Shared by `credo bank import`, the upload endpoint and the vendor page.
pub fn import_bank(
    conn: &mut DbConn,
    vendor: &crate::accounts::Vendor,
    source: &BankSource<'_>,
    publish: bool,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<ImportOutcome, ExamError> {
    let (bank, mut warnings) = match *source {
        BankSource::Toml { name, text } => validate_bank_file(name, text)?,
        BankSource::Gift {
            name,
            text,
            exam_slug,
        } => {
            require_exam_slug(exam_slug)?;
            let import = parse_gift(name, text)?;
            let previous = current_bank(conn, vendor, exam_slug)?;
            imported_bank(name, exam_slug, import, previous.as_deref())?
        }
        BankSource::Qti {
            name,
            bytes,
            exam_slug,
        } => {
            require_exam_slug(exam_slug)?;
            let import = parse_qti(name, bytes)?;
            let previous = current_bank(conn, vendor, exam_slug)?;
            imported_bank(name, exam_slug, import, previous.as_deref())?
        }
    };
    if let Some(renewal) = &bank.exam.renewal_exam {
        if renewal != &bank.exam.slug && store::find_exam(conn, &vendor.id, renewal)?.is_none() {
            warnings.push(BankError {
                file: source.name().to_owned(),
                line: 1,
                question_id: None,
                message: format!(
                    "`renewal_exam` \"{renewal}\" is not an exam of this vendor yet; import it too"
                ),
            });
        }
    }
    let mut outcome = store_bank(conn, vendor, &bank, source, actor, warnings, now)?;
    if publish && outcome.state != ExamVersionState::Published {
        let exam = vendor_exam(conn, &vendor.id, &outcome.exam)?;
        outcome.state = set_version_state(
            conn,
            vendor,
            &exam,
            outcome.version,
            VersionChange::Publish,
            actor,
            now,
        )?
        .state;
    } else if outcome.created {
        audit::record(
            conn,
            actor,
            Action::BankVersionImported,
            Some(&vendor.id),
            &outcome.version_id,
            json!({
                "exam": outcome.exam,
                "version": outcome.version,
                "label": outcome.version_label,
                "questions": outcome.questions,
                "source": source.name(),
            }),
            now,
        )?;
    }
    Ok(outcome)
}

/// GIFT and QTI files name no exam; the upload names it.
fn require_exam_slug(exam_slug: &str) -> Result<(), ExamError> {
    if is_slug(exam_slug) {
        Ok(())
    } else {
        Err(ExamError::Validation(crate::validation::field_error(
            "exam",
            "give the exam's slug (1–64 lower-case letters, digits and '-') with `?exam=<slug>`",
        )))
    }
}

/// The latest version's bank of a vendor's exam, if the exam exists and has one.
fn current_bank(
    conn: &mut DbConn,
    vendor: &crate::accounts::Vendor,
    exam_slug: &str,
) -> Result<Option<Arc<Bank>>, ExamError> {
    match store::find_exam(conn, &vendor.id, exam_slug)? {
        Some(exam) => match store::latest_version(conn, &exam.id)? {
            Some(version) => Ok(Some(load_bank(conn, &version.id)?)),
            None => Ok(None),
        },
        None => Ok(None),
    }
}

/// A version of an exam (`None` = the latest) as a QTI 3.0 package, with a file name for it.
pub fn export_qti(
    conn: &mut DbConn,
    exam: &ExamRow,
    version: Option<i32>,
) -> Result<(String, Vec<u8>), ExamError> {
    let row = match version {
        Some(number) => store::find_version_by_number(conn, &exam.id, number)?,
        None => store::latest_version(conn, &exam.id)?,
    }
    .ok_or(ExamError::NotFound("exam version"))?;
    let bank = load_bank(conn, &row.id)?;
    let bytes = crate::exams::export_qti_package(&bank)
        .map_err(|e| ExamError::Internal(format!("writing the QTI package: {e}")))?;
    Ok((format!("{}-v{}-qti.zip", exam.slug, row.number), bytes))
}

fn meta_columns(bank: &Bank, version_id: Option<String>, now: NaiveDateTime) -> ExamMetaColumns {
    let exam = &bank.exam;
    let to_i32 = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    ExamMetaColumns {
        title: exam.title.clone(),
        description: exam.description.clone().unwrap_or_default(),
        current_version_id: version_id,
        price_minor: exam.price.amount_minor,
        currency: exam.price.currency.clone(),
        duration_minutes: to_i32(exam.duration_minutes),
        pass_percent: i32::from(exam.pass_percent),
        validity_months: to_i32(exam.validity_months),
        allow_review: exam.allow_review,
        renewal_exam_slug: exam.renewal_exam.clone(),
        retake_cooldown_days: to_i32(exam.retake.cooldown_days),
        retake_max_per_year: to_i32(exam.retake.max_attempts_per_year),
        retake_wait_after_pass_days: to_i32(exam.retake.wait_after_pass_days),
        questions_per_form: to_i32(questions_per_form(bank)),
        updated_at: now,
    }
}

/// The settings candidates and buyers feel (everything in the exams row but the description and
/// the version pointer), as `(name, value)` pairs for the audit trail.
fn settings_of(
    title: &str,
    price_minor: i64,
    currency: &str,
    numbers: [(&'static str, i32); 7],
    allow_review: bool,
    renewal_exam: Option<&str>,
) -> Vec<(&'static str, Value)> {
    let mut settings = vec![
        ("title", json!(title)),
        ("price_minor", json!(price_minor)),
        ("currency", json!(currency)),
        ("allow_review", json!(allow_review)),
        ("renewal_exam", json!(renewal_exam)),
    ];
    settings.extend(numbers.into_iter().map(|(name, n)| (name, json!(n))));
    settings
}

fn row_settings(exam: &store::ExamRow) -> Vec<(&'static str, Value)> {
    settings_of(
        &exam.title,
        exam.price_minor,
        &exam.currency,
        [
            ("duration_minutes", exam.duration_minutes),
            ("pass_percent", exam.pass_percent),
            ("validity_months", exam.validity_months),
            ("retake_cooldown_days", exam.retake_cooldown_days),
            ("retake_max_per_year", exam.retake_max_per_year),
            (
                "retake_wait_after_pass_days",
                exam.retake_wait_after_pass_days,
            ),
            ("questions_per_form", exam.questions_per_form),
        ],
        exam.allow_review,
        exam.renewal_exam_slug.as_deref(),
    )
}

fn column_settings(meta: &ExamMetaColumns) -> Vec<(&'static str, Value)> {
    settings_of(
        &meta.title,
        meta.price_minor,
        &meta.currency,
        [
            ("duration_minutes", meta.duration_minutes),
            ("pass_percent", meta.pass_percent),
            ("validity_months", meta.validity_months),
            ("retake_cooldown_days", meta.retake_cooldown_days),
            ("retake_max_per_year", meta.retake_max_per_year),
            (
                "retake_wait_after_pass_days",
                meta.retake_wait_after_pass_days,
            ),
            ("questions_per_form", meta.questions_per_form),
        ],
        meta.allow_review,
        meta.renewal_exam_slug.as_deref(),
    )
}

/// `{setting: {from, to}}` for every setting that differs.
fn settings_diff(
    before: &[(&str, Value)],
    after: &[(&str, Value)],
) -> serde_json::Map<String, Value> {
    before
        .iter()
        .zip(after)
        .filter(|((_, old), (_, new))| old != new)
        .map(|((name, old), (_, new))| ((*name).to_owned(), json!({"from": old, "to": new})))
        .collect()
}

fn questions_per_form(bank: &Bank) -> u32 {
    bank.domains.iter().map(|d| d.questions_per_form).sum()
}

fn lost_import_race(e: diesel::result::Error) -> ExamError {
    if db::is_unique_violation(&e) {
        ExamError::Conflict(
            "another import of this exam was stored at the same time; send the file again".into(),
        )
    } else {
        e.into()
    }
}

fn store_bank(
    conn: &mut DbConn,
    vendor: &crate::accounts::Vendor,
    bank: &Bank,
    source: &BankSource<'_>,
    actor: &Actor,
    warnings: Vec<BankError>,
    now: NaiveDateTime,
) -> Result<ImportOutcome, ExamError> {
    let hash = bank.content_hash();
    let outcome = |version: &str, number: i32, label: &str, created: bool, state| ImportOutcome {
        vendor: vendor.slug.clone(),
        exam: bank.exam.slug.clone(),
        version_id: version.to_owned(),
        version: number,
        version_label: label.to_owned(),
        created,
        questions: bank.questions.len(),
        domains: bank.domains.len(),
        questions_per_form: questions_per_form(bank),
        warnings: warnings.clone(),
        state,
    };
    let (exam_id, number) = match store::find_exam(conn, &vendor.id, &bank.exam.slug)? {
        Some(exam) => match store::latest_version(conn, &exam.id)? {
            Some(latest) if latest.content_hash == hash => {
                return Ok(outcome(
                    &latest.id,
                    latest.number,
                    &latest.label,
                    false,
                    latest.state,
                ));
            }
            Some(latest) => (exam.id, latest.number + 1),
            None => (exam.id, 1),
        },
        None => {
            let id = store::insert_exam(
                conn,
                &vendor.id,
                &bank.exam.slug,
                &meta_columns(bank, None, now),
                now,
            )
            .map_err(lost_import_race)?;
            (id, 1)
        }
    };
    let bank_json = serde_json::to_string(bank)
        .map_err(|e| ExamError::Internal(format!("serializing a bank: {e}")))?;
    let version_id = store::insert_version(
        conn,
        &NewVersion {
            exam_id: &exam_id,
            number,
            label: &bank.exam.version,
            content_hash: &hash,
            bank_json: &bank_json,
            source_format: source.format(),
            source_name: source.name(),
            created_by: actor.user_id(),
        },
        now,
    )
    .map_err(lost_import_race)?;
    Ok(outcome(
        &version_id,
        number,
        &bank.exam.version,
        true,
        ExamVersionState::Draft,
    ))
}

/// An explicit change of a version's state by the vendor's staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionChange {
    /// draft or retired → published: candidates take this version from now on; the version
    /// published before is retired.
    Publish,
    /// published → draft: the exam leaves the catalog until a version is published again.
    Unpublish,
    /// draft or published → retired: kept for its attempts, never offered again unless published.
    Retire,
}

/// A version's state after a change (`POST …/versions/{number}/publish|unpublish|retire`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionState {
    pub exam: String,
    pub version: i32,
    pub state: ExamVersionState,
}

/// Changes the state of version `number` of `exam`, audited in the caller's transaction.
/// Publishing copies the version's settings into the exam row (what catalog, attempts and
/// certificates read) and records the settings that changed.
pub fn set_version_state(
    conn: &mut DbConn,
    vendor: &crate::accounts::Vendor,
    exam: &ExamRow,
    number: i32,
    change: VersionChange,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<VersionState, ExamError> {
    let version = store::find_version_by_number(conn, &exam.id, number)?
        .ok_or(ExamError::NotFound("exam version"))?;
    let refuse = |why: String| Err(ExamError::Conflict(why));
    // Settings that publishing changes, recorded after the publication itself.
    let mut changed_settings = serde_json::Map::new();
    let (state, action) = match change {
        VersionChange::Publish => {
            if version.state == ExamVersionState::Published {
                return refuse(format!("version {number} is already published"));
            }
            let bank = load_bank(conn, &version.id)?;
            if let Some(current) = exam.current_version_id.as_deref() {
                store::set_version_state(conn, current, ExamVersionState::Retired)?;
            }
            let meta = meta_columns(&bank, Some(version.id.clone()), now);
            store::update_exam_meta(conn, &exam.id, &meta)?;
            if exam.current_version_id.is_some() {
                changed_settings = settings_diff(&row_settings(exam), &column_settings(&meta));
            }
            (ExamVersionState::Published, Action::BankVersionPublished)
        }
        VersionChange::Unpublish => {
            if version.state != ExamVersionState::Published {
                return refuse(format!(
                    "version {number} is {}; only the published version can be unpublished",
                    version.state
                ));
            }
            store::set_current_version(conn, &exam.id, None)?;
            (ExamVersionState::Draft, Action::BankVersionUnpublished)
        }
        VersionChange::Retire => {
            if version.state == ExamVersionState::Retired {
                return refuse(format!("version {number} is already retired"));
            }
            if version.state == ExamVersionState::Published {
                store::set_current_version(conn, &exam.id, None)?;
            }
            (ExamVersionState::Retired, Action::BankVersionRetired)
        }
    };
    store::set_version_state(conn, &version.id, state)?;
    audit::record(
        conn,
        actor,
        action,
        Some(&vendor.id),
        &version.id,
        json!({
            "exam": exam.slug,
            "version": number,
            "label": version.label,
            "from": version.state,
            "to": state,
            "content_hash": version.content_hash,
        }),
        now,
    )?;
    if !changed_settings.is_empty() {
        audit::record(
            conn,
            actor,
            Action::ExamSettingsChanged,
            Some(&vendor.id),
            &exam.id,
            json!({"exam": exam.slug, "version": number, "changed": changed_settings}),
            now,
        )?;
    }
    Ok(VersionState {
        exam: exam.slug.clone(),
        version: number,
        state,
    })
}
