//! The exam use cases. Each takes a connection and `now` and is run by its caller inside ONE transaction
//! (`AppState::tx` / `db::transaction`): importing a bank, the catalog, vouchers and manual orders, starting an
//! attempt (entitlement and retake policy), saving answers, grading (with the credential hook and the result
//! mail), the deadline sweep, item statistics and revenue.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex};

use chrono::{Months, NaiveDate, NaiveDateTime};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::store::{self, AttemptHistory, AttemptRow, ExamMetaColumns, ExamRow, NewVersion};
use super::{
    draw_form, grade, item_statistics, lint_bank, parse_bank_located, parse_gift, parse_qti,
    percent_json_number, render_text, render_text_inline, validate_answer, AttemptResponses, Bank,
    BankError, BankErrors, DomainScore, ExamError, ExamMeta, Form, ImportedQuestions, IndexedForm,
    ItemFlag, PresentedQuestion, Price, QuestionKind, ResponseMatrix, RetakePolicy,
};
use crate::audit::{self, Action, Actor};
use crate::clock::rfc3339_seconds;
use crate::db::{self, DbConn};
use crate::links::Links;
use crate::mail;
use crate::spreadsheet::csv_cell;
use crate::text::plural;
use crate::validation::{is_slug, normalize_email, FieldErrors};
use crate::webhooks::{self, EventType};

// ------------------------------------------------------------------------------------------ the hook

/// What the credential issuer needs to know about a pass. Built from the bank version the attempt was drawn
/// from, so the certificate names exactly the exam that was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassedExam {
    pub attempt_id: String,
    pub user_id: String,
    pub vendor_id: String,
    pub exam_id: String,
    pub exam_slug: String,
    pub exam_title: String,
    pub exam_description: String,
    pub pass_percent: i32,
    pub score_bp: i32,
    pub validity_months: i32,
    pub renewal_exam_slug: Option<String>,
    pub graded_at: NaiveDateTime,
}

/// Called by the grading transaction on a pass; returns the id of the credential it issued. An error rolls
/// the whole grading back.
pub type PassHook = dyn Fn(&mut DbConn, &PassedExam) -> Result<Option<String>, ExamError>;

/// Who graded an attempt (stored in `attempts.graded_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradedBy {
    /// The candidate submitted (API or page).
    Candidate,
    /// The attempt was left open past its deadline and graded with its saved answers.
    DeadlineJob,
}

impl GradedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            GradedBy::Candidate => "candidate",
            GradedBy::DeadlineJob => "deadline_job",
        }
    }
}

// ------------------------------------------------------------------------------------------- imports

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
    pub state: String,
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
    if publish && outcome.state != store::VERSION_PUBLISHED {
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
    let outcome =
        |version: &str, number: i32, label: &str, created: bool, state: &str| ImportOutcome {
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
            state: state.to_owned(),
        };
    let (exam_id, number) = match store::find_exam(conn, &vendor.id, &bank.exam.slug)? {
        Some(exam) => match store::latest_version(conn, &exam.id)? {
            Some(latest) if latest.content_hash == hash => {
                return Ok(outcome(
                    &latest.id,
                    latest.number,
                    &latest.label,
                    false,
                    &latest.state,
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
        store::VERSION_DRAFT,
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
    pub state: String,
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
            if version.state == store::VERSION_PUBLISHED {
                return refuse(format!("version {number} is already published"));
            }
            let bank = load_bank(conn, &version.id)?;
            if let Some(current) = exam.current_version_id.as_deref() {
                store::set_version_state(conn, current, store::VERSION_RETIRED)?;
            }
            let meta = meta_columns(&bank, Some(version.id.clone()), now);
            store::update_exam_meta(conn, &exam.id, &meta)?;
            if exam.current_version_id.is_some() {
                changed_settings = settings_diff(&row_settings(exam), &column_settings(&meta));
            }
            (store::VERSION_PUBLISHED, Action::BankVersionPublished)
        }
        VersionChange::Unpublish => {
            if version.state != store::VERSION_PUBLISHED {
                return refuse(format!(
                    "version {number} is {}; only the published version can be unpublished",
                    version.state
                ));
            }
            store::set_current_version(conn, &exam.id, None)?;
            (store::VERSION_DRAFT, Action::BankVersionUnpublished)
        }
        VersionChange::Retire => {
            if version.state == store::VERSION_RETIRED {
                return refuse(format!("version {number} is already retired"));
            }
            if version.state == store::VERSION_PUBLISHED {
                store::set_current_version(conn, &exam.id, None)?;
            }
            (store::VERSION_RETIRED, Action::BankVersionRetired)
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
        state: state.to_owned(),
    })
}

/// Parsed banks by version id. Versions are immutable and ids are never reused, so a cached bank never goes
/// stale; the cache only saves parsing the bank JSON on every answer save.
fn load_bank(conn: &mut DbConn, version_id: &str) -> Result<Arc<Bank>, ExamError> {
    static CACHE: LazyLock<Mutex<HashMap<String, Arc<Bank>>>> = LazyLock::new(Default::default);
    const CAPACITY: usize = 64;
    if let Some(bank) = CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(version_id)
    {
        return Ok(bank.clone());
    }
    let version = store::find_version(conn, version_id)?
        .ok_or_else(|| ExamError::Internal(format!("exam version {version_id} is missing")))?;
    let bank: Arc<Bank> = Arc::new(serde_json::from_str(&version.bank).map_err(|e| {
        ExamError::Internal(format!(
            "stored bank of version {version_id} is unreadable: {e}"
        ))
    })?);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= CAPACITY {
        cache.clear();
    }
    cache.insert(version_id.to_owned(), bank.clone());
    Ok(bank)
}

fn parse_form(attempt: &AttemptRow) -> Result<Form, ExamError> {
    serde_json::from_str(&attempt.form).map_err(|e| {
        ExamError::Internal(format!(
            "stored form of attempt {} is unreadable: {e}",
            attempt.id
        ))
    })
}

// ------------------------------------------------------------------------------------------- catalog

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
        match crate::money::parse_currency(&self.currency) {
            Ok(currency) => crate::money::format_minor(self.amount_minor, currency),
            Err(_) => format!("{} {}", self.amount_minor, self.currency),
        }
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

fn price_of(exam: &ExamRow) -> PriceView {
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

fn retake_of(exam: &ExamRow) -> RetakeView {
    RetakeView {
        cooldown_days: exam.retake_cooldown_days,
        max_attempts_per_year: exam.retake_max_per_year,
        wait_after_pass_days: exam.retake_wait_after_pass_days,
    }
}

/// A published exam by its public address.
fn published_exam(
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

// ----------------------------------------------------------------------------------- retake policy

/// When the retake policy allows the next attempt, if not now: the latest of (last pass + wait after pass),
/// (last graded attempt, if failed, + cooldown) and (the attempt that must leave the 12-month window for the
/// count to drop below the maximum + 12 months). `None` = allowed now.
pub fn next_attempt_allowed(
    policy: &RetakeView,
    history: &[AttemptHistory],
    now: NaiveDateTime,
) -> Option<(NaiveDateTime, String)> {
    let days = |n: i32| chrono::Duration::days(i64::from(n.max(0)));
    let mut blocks: Vec<(NaiveDateTime, String)> = Vec::new();
    let graded: Vec<&AttemptHistory> = history.iter().filter(|a| a.graded_at.is_some()).collect();
    if policy.wait_after_pass_days > 0 {
        if let Some(last_pass) = graded
            .iter()
            .filter(|a| a.passed == Some(true))
            .filter_map(|a| a.graded_at)
            .max()
        {
            let until = last_pass + days(policy.wait_after_pass_days);
            if until > now {
                blocks.push((
                    until,
                    format!(
                        "you passed this exam on {}; a new attempt is allowed {} after a pass",
                        last_pass.format("%Y-%m-%d"),
                        plural(policy.wait_after_pass_days, "day", "days")
                    ),
                ));
            }
        }
    }
    if policy.cooldown_days > 0 {
        if let Some(last) = graded.iter().max_by_key(|a| a.graded_at) {
            if last.passed != Some(true) {
                let at = last.graded_at.unwrap_or(last.started_at);
                let until = at + days(policy.cooldown_days);
                if until > now {
                    blocks.push((
                        until,
                        format!(
                            "after a failed attempt the policy asks you to wait {} before the next one",
                            plural(policy.cooldown_days, "day", "days")
                        ),
                    ));
                }
            }
        }
    }
    if policy.max_attempts_per_year > 0 {
        let year = Months::new(12);
        let window_start = now.checked_sub_months(year).unwrap_or(NaiveDateTime::MIN);
        let mut recent: Vec<NaiveDateTime> = history
            .iter()
            .map(|a| a.started_at)
            .filter(|&t| t > window_start)
            .collect();
        recent.sort();
        let max = usize::try_from(policy.max_attempts_per_year).unwrap_or(usize::MAX);
        if recent.len() >= max {
            let leaving = recent[recent.len() - max];
            let until = leaving
                .checked_add_months(year)
                .unwrap_or(NaiveDateTime::MAX);
            if until > now {
                blocks.push((
                    until,
                    format!(
                        "the policy allows {} in any 12 months and you have used them",
                        plural(policy.max_attempts_per_year, "attempt", "attempts")
                    ),
                ));
            }
        }
    }
    blocks.into_iter().max_by_key(|(until, _)| *until)
}

// -------------------------------------------------------------------------------------------- attempts

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExamRef {
    pub vendor: String,
    pub slug: String,
    pub title: String,
}

/// `POST /api/v1/exams/{vendor}/{exam}/attempts` → 201.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StartedAttempt {
    pub id: String,
    pub exam: ExamRef,
    #[schema(format = DateTime)]
    pub started_at: String,
    #[schema(format = DateTime)]
    pub deadline: String,
    pub duration_minutes: i32,
    pub questions: Vec<PresentedQuestion>,
    /// A staff preview: no credential, no statistics.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub preview: bool,
}

/// Voucher codes: 12 characters from an alphabet without look-alikes (no 0/O, 1/I/L), grouped 4-4-4, e.g.
/// `K7QM-2XVA-P9RT`; about 59 bits of randomness each.
const VOUCHER_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const VOUCHER_LENGTH: usize = 12;

pub fn new_voucher_code(rng: &mut impl Rng) -> String {
    let mut code = String::with_capacity(VOUCHER_LENGTH + 2);
    for i in 0..VOUCHER_LENGTH {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        code.push(char::from(
            VOUCHER_ALPHABET[rng.gen_range(0..VOUCHER_ALPHABET.len())],
        ));
    }
    code
}

/// A typed code in canonical form: upper case, spaces and dashes ignored, regrouped 4-4-4.
pub fn normalize_voucher_code(input: &str) -> String {
    let compact: String = input
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if compact.len() != VOUCHER_LENGTH {
        return compact;
    }
    compact
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// Grades the person's open attempt at this exam if its deadline has passed, so a new one can start. Run in
/// its own transaction before [`start_attempt`] (a refused start must not undo this grading).
pub fn close_overdue_attempt(
    conn: &mut DbConn,
    user_id: &str,
    vendor_slug: &str,
    exam_slug: &str,
    links: &Links,
    on_pass: &PassHook,
    now: NaiveDateTime,
) -> Result<(), ExamError> {
    let Some((exam, _, _)) = store::find_exam_by_slugs(conn, vendor_slug, exam_slug)? else {
        return Ok(());
    };
    if let Some(open) = store::open_attempt_of(conn, &exam.id, user_id)? {
        if open.deadline < now {
            grade_attempt(
                conn,
                &open.id,
                None,
                GradedBy::DeadlineJob,
                links,
                on_pass,
                now,
            )?;
        }
    }
    Ok(())
}

/// Starts an attempt: one open attempt per person and exam (409), the retake policy (429 with the time the
/// next attempt is allowed), an entitlement (free exam, the voucher given, or a paid unused order; 402
/// otherwise); then draws the form from the latest version's blueprint and records it exactly.
pub fn start_attempt(
    conn: &mut DbConn,
    user_id: &str,
    vendor_slug: &str,
    exam_slug: &str,
    voucher: Option<&str>,
    now: NaiveDateTime,
) -> Result<StartedAttempt, ExamError> {
    let (exam, vendor, _) = published_exam(conn, vendor_slug, exam_slug)?;
    if let Some(open) = store::open_attempt_of(conn, &exam.id, user_id)? {
        return Err(ExamError::AttemptOpen {
            attempt_id: open.id,
        });
    }
    let history = store::attempt_history(conn, &exam.id, user_id)?;
    if let Some((until, reason)) = next_attempt_allowed(&retake_of(&exam), &history, now) {
        let seconds = (until - now).num_seconds().max(0) as u64;
        let retry_after_secs = seconds + u64::from((until - now).subsec_nanos() > 0);
        return Err(ExamError::RetakeNotYet {
            reason,
            next_attempt_at: until,
            retry_after_secs: retry_after_secs.max(1),
        });
    }

    let voucher = voucher.map(str::trim).filter(|v| !v.is_empty());
    let order_id = if exam.price_minor == 0 {
        None
    } else if let Some(code) = voucher {
        Some(redeem_voucher(conn, &exam, user_id, code, now)?)
    } else if let Some(order) = store::unused_paid_order(conn, &exam.id, user_id)? {
        Some(order.id)
    } else {
        return Err(ExamError::EntitlementRequired(format!(
            "this exam costs {}; redeem a voucher or ask the vendor for a paid order",
            price_of(&exam).display()
        )));
    };

    let version_id = exam
        .current_version_id
        .clone()
        .ok_or(ExamError::NotFound("exam"))?;
    let started = record_attempt(
        conn,
        &exam,
        vendor,
        &version_id,
        user_id,
        AttemptKind::Candidate(order_id.as_deref()),
        now,
    )?;
    if let Some(order_id) = &order_id {
        if store::consume_order(conn, order_id, &started.id)? != 1 {
            return Err(ExamError::Conflict(
                "this order was used by another attempt at the same moment; try again".into(),
            ));
        }
    }
    Ok(started)
}

/// Who an attempt is for: a candidate (with the paid order that entitles them, if any) or a
/// staff preview.
#[derive(Debug, Clone, Copy)]
enum AttemptKind<'a> {
    Candidate(Option<&'a str>),
    Preview,
}

/// Draws a form from the version's blueprint and records the open attempt.
fn record_attempt(
    conn: &mut DbConn,
    exam: &ExamRow,
    vendor: String,
    version_id: &str,
    user_id: &str,
    kind: AttemptKind<'_>,
    now: NaiveDateTime,
) -> Result<StartedAttempt, ExamError> {
    let (order_id, preview) = match kind {
        AttemptKind::Candidate(order_id) => (order_id, false),
        AttemptKind::Preview => (None, true),
    };
    let bank = load_bank(conn, version_id)?;
    let form = draw_form(&bank, &mut rand::thread_rng())?;
    let questions = form.present(&bank)?;
    let form_json = serde_json::to_string(&form)
        .map_err(|e| ExamError::Internal(format!("serializing a form: {e}")))?;
    let duration = i32::try_from(bank.exam.duration_minutes).unwrap_or(i32::MAX);
    let deadline = now + chrono::Duration::minutes(i64::from(duration.max(1)));
    let attempt_id = store::insert_attempt(
        conn,
        &store::NewAttempt {
            exam_id: &exam.id,
            version_id,
            user_id,
            order_id,
            form_json: &form_json,
            deadline,
            preview,
        },
        now,
    )
    .map_err(|e| {
        if db::is_unique_violation(&e) {
            // Another start of the same person won the race for the one open attempt.
            ExamError::Conflict(
                "you already have an open attempt at this exam; finish or submit it first".into(),
            )
        } else {
            e.into()
        }
    })?;
    Ok(StartedAttempt {
        id: attempt_id,
        exam: ExamRef {
            vendor,
            slug: exam.slug.clone(),
            title: bank.exam.title.clone(),
        },
        started_at: rfc3339_seconds(now),
        deadline: rfc3339_seconds(deadline),
        duration_minutes: duration,
        questions,
        preview,
    })
}

/// A staff preview of version `number` (a draft, or any other version): taken like an attempt,
/// but free, outside the retake policy, and its result never issues a credential, never mails,
/// and never enters results or statistics.
pub fn start_preview(
    conn: &mut DbConn,
    vendor: &crate::accounts::Vendor,
    exam: &ExamRow,
    number: i32,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<StartedAttempt, ExamError> {
    if let Some(open) = store::open_attempt_of(conn, &exam.id, user_id)? {
        return Err(ExamError::AttemptOpen {
            attempt_id: open.id,
        });
    }
    let version = store::find_version_by_number(conn, &exam.id, number)?
        .ok_or(ExamError::NotFound("exam version"))?;
    record_attempt(
        conn,
        exam,
        vendor.slug.clone(),
        &version.id,
        user_id,
        AttemptKind::Preview,
        now,
    )
}

/// Redeems a voucher for the exam (single use, bound to its exam, not expired) and records its paid order.
fn redeem_voucher(
    conn: &mut DbConn,
    exam: &ExamRow,
    user_id: &str,
    code: &str,
    now: NaiveDateTime,
) -> Result<String, ExamError> {
    let code = normalize_voucher_code(code);
    let rejected = |why: &str| ExamError::VoucherRejected(why.to_owned());
    let voucher = store::find_voucher_by_code(conn, &code)?
        .ok_or_else(|| rejected("no voucher has this code; check it for typos"))?;
    if voucher.exam_id != exam.id {
        return Err(rejected(
            "this voucher is for another exam; use it on the exam it was issued for",
        ));
    }
    if voucher.redeemed_at.is_some() {
        return Err(rejected("this voucher has already been used"));
    }
    if voucher.expires_at.is_some_and(|expires| expires <= now) {
        return Err(rejected("this voucher has expired"));
    }
    let order_id = store::insert_order(
        conn,
        &store::NewOrder {
            exam_id: &exam.id,
            user_id,
            amount_minor: exam.price_minor,
            currency: &exam.currency,
            provider: store::PROVIDER_VOUCHER,
            status: store::ORDER_PAID,
            reference: Some(&voucher.code),
            paid_at: Some(now),
            marked_paid_by: None,
        },
        now,
    )?;
    if store::redeem_voucher(conn, &voucher.id, user_id, &order_id, now)? != 1 {
        return Err(rejected("this voucher has already been used"));
    }
    Ok(order_id)
}

/// The attempt of this person that takes answers now, locked for the save.
fn answerable_attempt(
    conn: &mut DbConn,
    user_id: &str,
    attempt_id: &str,
    now: NaiveDateTime,
) -> Result<AttemptRow, ExamError> {
    let attempt = store::lock_attempt(conn, attempt_id)?
        .filter(|attempt| attempt.user_id == user_id)
        .ok_or(ExamError::NotFound("attempt"))?;
    if attempt.status != store::STATUS_OPEN {
        return Err(ExamError::AttemptClosed(
            "this attempt has been submitted; answers can no longer change".into(),
        ));
    }
    if now > attempt.deadline {
        return Err(ExamError::AttemptClosed(format!(
            "the time for this attempt ran out at {}; answers saved before then will be graded",
            rfc3339_seconds(attempt.deadline)
        )));
    }
    Ok(attempt)
}

/// Saves one answer (replacing the previous one) while the attempt is open and before its deadline.
pub fn save_answer(
    conn: &mut DbConn,
    user_id: &str,
    attempt_id: &str,
    question_id: &str,
    choices: &[String],
    now: NaiveDateTime,
) -> Result<(), ExamError> {
    save_answers(
        conn,
        user_id,
        attempt_id,
        &[(question_id.to_owned(), choices.to_vec())],
        now,
    )
}

/// Saves several answers at once (the taking page without JavaScript); all or none when run in a
/// transaction. Each answer is one statement ([`store::save_answer_if_open`]), checked against
/// the attempt's frame (owner, deadline, form) kept in memory; only a refused save reads the
/// attempt again, to say why.
pub fn save_answers(
    conn: &mut DbConn,
    user_id: &str,
    attempt_id: &str,
    answers: &[(String, Vec<String>)],
    now: NaiveDateTime,
) -> Result<(), ExamError> {
    let frame = match attempt_frame(conn, attempt_id)? {
        Some(frame) if frame.user_id == user_id && now <= frame.deadline => frame,
        // Not this person's, or too late: the full check says which.
        _ => {
            answerable_attempt(conn, user_id, attempt_id, now)?;
            return Err(ExamError::Internal(format!(
                "attempt {attempt_id} changed its owner or deadline"
            )));
        }
    };
    let bank = load_bank(conn, &frame.version_id)?;
    let mut checked = Vec::with_capacity(answers.len());
    for (question_handle, handles) in answers {
        let question_id = frame.form.question_id_of(question_handle)?;
        let choices = frame.form.choice_ids_of(question_id, handles)?;
        validate_answer(&bank, &frame.form.form, question_id, &choices)?;
        let json = serde_json::to_string(&choices)
            .map_err(|e| ExamError::Internal(format!("serializing an answer: {e}")))?;
        checked.push((question_id, json));
    }
    for (question_id, json) in checked {
        if !store::save_answer_if_open(conn, user_id, attempt_id, question_id, &json, now)? {
            answerable_attempt(conn, user_id, attempt_id, now)?;
            return Err(ExamError::Internal(format!(
                "attempt {attempt_id} refused an answer while open"
            )));
        }
    }
    Ok(())
}

/// What saving answers needs of an attempt, none of which changes after it started.
#[derive(Debug)]
struct AttemptFrame {
    user_id: String,
    version_id: String,
    deadline: NaiveDateTime,
    form: IndexedForm,
}

/// The frame of an attempt, from memory after its first save on this node (`None`: no such
/// attempt).
fn attempt_frame(
    conn: &mut DbConn,
    attempt_id: &str,
) -> Result<Option<Arc<AttemptFrame>>, ExamError> {
    static CACHE: LazyLock<Mutex<HashMap<String, Arc<AttemptFrame>>>> =
        LazyLock::new(Default::default);
    // Enough for every candidate of a busy node; past it the cache starts over.
    const CAPACITY: usize = 8192;
    if let Some(frame) = CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(attempt_id)
    {
        return Ok(Some(frame.clone()));
    }
    let Some(attempt) = store::find_attempt(conn, attempt_id)? else {
        return Ok(None);
    };
    let frame = Arc::new(AttemptFrame {
        form: parse_form(&attempt)?.indexed(),
        user_id: attempt.user_id,
        version_id: attempt.version_id,
        deadline: attempt.deadline,
    });
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= CAPACITY {
        cache.clear();
    }
    cache.insert(attempt.id, frame.clone());
    Ok(Some(frame))
}

/// Flags questions for review (or clears their flags) while the attempt is open: (question handle,
/// flagged). Flags are the candidate's notes; grading never reads them.
pub fn set_flags(
    conn: &mut DbConn,
    user_id: &str,
    attempt_id: &str,
    flags: &[(String, bool)],
    now: NaiveDateTime,
) -> Result<(), ExamError> {
    let attempt = answerable_attempt(conn, user_id, attempt_id, now)?;
    let form = parse_form(&attempt)?;
    for (question_handle, flagged) in flags {
        let question_id = form.question_id_of(question_handle)?;
        store::set_flag(conn, attempt_id, question_id, *flagged, now)?;
    }
    Ok(())
}

/// The stored result of a graded attempt (`attempts.result`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResult {
    pub score_bp: u32,
    pub passed: bool,
    pub pass_percent: u8,
    pub points_milli: u64,
    pub max_points_milli: u64,
    pub domains: Vec<DomainScore>,
    pub credential_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DomainResult {
    pub id: String,
    pub title: String,
    pub correct: u32,
    pub total: u32,
    #[schema(value_type = f64)]
    pub score_percent: serde_json::Number,
    #[serde(skip)]
    pub score_bp: u32,
}

/// The score report (`POST /api/v1/attempts/{id}/submit` → 200).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AttemptResult {
    pub attempt_id: String,
    #[schema(value_type = f64)]
    pub score_percent: serde_json::Number,
    pub passed: bool,
    pub pass_percent: u8,
    pub domains: Vec<DomainResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    #[schema(format = DateTime)]
    pub graded_at: String,
    #[serde(skip)]
    pub score_bp: u32,
}

impl AttemptResult {
    fn from_stored(attempt_id: &str, stored: &StoredResult, graded_at: NaiveDateTime) -> Self {
        AttemptResult {
            attempt_id: attempt_id.to_owned(),
            score_percent: percent_json_number(stored.score_bp),
            passed: stored.passed,
            pass_percent: stored.pass_percent,
            domains: stored
                .domains
                .iter()
                .map(|d| DomainResult {
                    id: d.id.clone(),
                    title: d.title.clone(),
                    correct: d.correct,
                    total: d.total,
                    score_percent: percent_json_number(d.score_basis_points),
                    score_bp: d.score_basis_points,
                })
                .collect(),
            credential_id: stored.credential_id.clone(),
            graded_at: rfc3339_seconds(graded_at),
            score_bp: stored.score_bp,
        }
    }
}

fn stored_result(attempt: &AttemptRow) -> Result<AttemptResult, ExamError> {
    let stored: StoredResult = attempt
        .result
        .as_deref()
        .ok_or_else(|| ExamError::Internal(format!("graded attempt {} has no result", attempt.id)))
        .and_then(|text| {
            serde_json::from_str(text).map_err(|e| {
                ExamError::Internal(format!(
                    "result of attempt {} is unreadable: {e}",
                    attempt.id
                ))
            })
        })?;
    Ok(AttemptResult::from_stored(
        &attempt.id,
        &stored,
        attempt.graded_at.unwrap_or(attempt.started_at),
    ))
}

/// The candidate submits: grades the attempt (once, whoever asks first) and returns the score report.
pub fn submit_attempt(
    conn: &mut DbConn,
    user_id: &str,
    attempt_id: &str,
    links: &Links,
    on_pass: &PassHook,
    now: NaiveDateTime,
) -> Result<AttemptResult, ExamError> {
    grade_attempt(
        conn,
        attempt_id,
        Some(user_id),
        GradedBy::Candidate,
        links,
        on_pass,
        now,
    )
}

/// Grades an attempt with its saved answers, exactly once: the conditional `UPDATE … WHERE status = 'open'`
/// is the claim, so of two concurrent submits (or a submit and the deadline job on another node) one grades
/// and the other reads the stored result. In the same transaction: the per-item outcomes, the result, on a
/// pass the credential hook, and the result mail. `owner` limits it to that person's attempt (404 otherwise).
pub fn grade_attempt(
    conn: &mut DbConn,
    attempt_id: &str,
    owner: Option<&str>,
    graded_by: GradedBy,
    links: &Links,
    on_pass: &PassHook,
    now: NaiveDateTime,
) -> Result<AttemptResult, ExamError> {
    let attempt = store::find_attempt(conn, attempt_id)?
        .filter(|attempt| owner.is_none_or(|owner| owner == attempt.user_id))
        .ok_or(ExamError::NotFound("attempt"))?;
    if attempt.status == store::STATUS_GRADED {
        return stored_result(&attempt);
    }
    if store::claim_for_grading(conn, attempt_id, graded_by.as_str(), now)? == 0 {
        let graded =
            store::find_attempt(conn, attempt_id)?.ok_or(ExamError::NotFound("attempt"))?;
        return stored_result(&graded);
    }

    let bank = load_bank(conn, &attempt.version_id)?;
    let form = parse_form(&attempt)?;
    let mut answers: HashMap<String, Vec<String>> = HashMap::new();
    for (question_id, choices) in store::answers_of(conn, attempt_id)? {
        let choices: Vec<String> = serde_json::from_str(&choices).map_err(|e| {
            ExamError::Internal(format!(
                "saved answer of attempt {attempt_id} is unreadable: {e}"
            ))
        })?;
        answers.insert(question_id, choices);
    }
    let graded = grade(&bank, &form, &answers, bank.exam.pass_percent)?;
    let outcomes: Vec<store::ItemOutcome> = graded
        .items
        .iter()
        .enumerate()
        .map(|(position, item)| store::ItemOutcome {
            question_id: &item.question_id,
            position: i32::try_from(position).unwrap_or(i32::MAX),
            domain_id: &item.domain,
            points_milli: i32::try_from(item.points_milli).unwrap_or(0),
            correct: item.correct,
        })
        .collect();
    store::insert_items(conn, attempt_id, &outcomes)?;

    let exam =
        store::find_exam_by_id(conn, &attempt.exam_id)?.ok_or(ExamError::NotFound("exam"))?;
    let score_bp = i32::try_from(graded.score_basis_points).unwrap_or(0);
    let credential_id = if graded.passed && !attempt.preview {
        let passed = PassedExam {
            attempt_id: attempt.id.clone(),
            user_id: attempt.user_id.clone(),
            vendor_id: exam.vendor_id.clone(),
            exam_id: exam.id.clone(),
            exam_slug: exam.slug.clone(),
            exam_title: bank.exam.title.clone(),
            exam_description: bank.exam.description.clone().unwrap_or_default(),
            pass_percent: i32::from(bank.exam.pass_percent),
            score_bp,
            validity_months: i32::try_from(bank.exam.validity_months).unwrap_or(i32::MAX),
            renewal_exam_slug: bank.exam.renewal_exam.clone(),
            graded_at: now,
        };
        on_pass(conn, &passed)?
    } else {
        None
    };
    let stored = StoredResult {
        score_bp: graded.score_basis_points,
        passed: graded.passed,
        pass_percent: graded.pass_percent,
        points_milli: graded.points_milli,
        max_points_milli: graded.max_points_milli,
        domains: graded.domains.clone(),
        credential_id,
    };
    let json = serde_json::to_string(&stored)
        .map_err(|e| ExamError::Internal(format!("serializing a result: {e}")))?;
    store::store_result(conn, attempt_id, score_bp, stored.passed, &json)?;

    let contact = if attempt.preview {
        None
    } else {
        store::user_contact(conn, &attempt.user_id)?
    };
    // A staff preview is not a candidate's attempt: no event for other systems.
    if !attempt.preview {
        webhooks::emit(
            conn,
            &exam.vendor_id,
            EventType::AttemptGraded,
            attempt_id,
            now,
            |_| {
                Ok(json!({
                    "attempt_id": attempt_id,
                    "exam": exam.slug,
                    "candidate": {
                        "id": attempt.user_id,
                        "email": contact.as_ref().map(|(_, email)| email),
                        "name": contact.as_ref().map(|(name, _)| name),
                    },
                    "score_percent": super::format_percent(stored.score_bp),
                    "passed": stored.passed,
                    "pass_percent": stored.pass_percent,
                    "credential_id": stored.credential_id,
                    "graded_at": rfc3339_seconds(now),
                    "result_url": links.attempt_result(attempt_id),
                }))
            },
        )?;
    }
    if let Some((name, email)) = contact {
        let score = super::format_percent(stored.score_bp);
        let link = links.attempt_result(attempt_id);
        let mail = mail::templates::exam_result(
            &email,
            &name,
            &mail::templates::ExamResult {
                exam_title: &bank.exam.title,
                passed: stored.passed,
                score: &score,
                pass_percent: i32::from(stored.pass_percent),
                result_link: &link,
            },
        );
        mail::enqueue(conn, &mail, now)?;
    }
    Ok(AttemptResult::from_stored(attempt_id, &stored, now))
}

/// Open attempts past their deadline, for the deadline job.
pub fn overdue_attempts(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<String>, ExamError> {
    Ok(store::overdue_attempt_ids(conn, now, limit)?)
}

/// A choice on the score report's review (after grading, when the exam allows review).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewChoice {
    pub id: String,
    /// Safe inline HTML.
    pub text: String,
    pub correct: bool,
    pub chosen: bool,
    /// Safe inline HTML.
    pub feedback: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewQuestion {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: QuestionKind,
    pub domain: String,
    /// Safe HTML.
    pub stem: String,
    pub choices: Vec<ReviewChoice>,
    /// Safe HTML.
    pub explanation: Option<String>,
    pub references: Vec<String>,
    pub points_milli: u32,
    pub correct: bool,
}

/// `GET /api/v1/attempts/{id}` for its owner. `questions` only while the attempt takes answers; `result`
/// once graded; `review` (keys, explanations, feedback) only once graded and only if the exam allows review.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Attempt)]
pub struct AttemptView {
    pub id: String,
    pub exam: ExamRef,
    /// `open` (takes answers), `overdue` (deadline passed, being graded with the saved answers) or `graded`.
    pub status: &'static str,
    #[schema(format = DateTime)]
    pub started_at: String,
    #[schema(format = DateTime)]
    pub deadline: String,
    /// Seconds left before the deadline (0 when passed).
    pub remaining_seconds: i64,
    pub answers: BTreeMap<String, Vec<String>>,
    /// Handles of the questions flagged for review.
    pub flagged: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub questions: Option<Vec<PresentedQuestion>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<AttemptResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<Vec<ReviewQuestion>>,
    /// A staff preview: no credential, no statistics.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub preview: bool,
}

pub fn attempt_view(
    conn: &mut DbConn,
    user_id: &str,
    attempt_id: &str,
    now: NaiveDateTime,
) -> Result<AttemptView, ExamError> {
    let attempt = store::find_attempt(conn, attempt_id)?
        .filter(|attempt| attempt.user_id == user_id)
        .ok_or(ExamError::NotFound("attempt"))?;
    let exam =
        store::find_exam_by_id(conn, &attempt.exam_id)?.ok_or(ExamError::NotFound("exam"))?;
    let vendor = crate::accounts::store::find_vendor(conn, &exam.vendor_id)?
        .ok_or(ExamError::NotFound("exam"))?;
    let bank = load_bank(conn, &attempt.version_id)?;
    let form = parse_form(&attempt)?;
    let mut answers = BTreeMap::new();
    for (question_id, choices) in store::answers_of(conn, attempt_id)? {
        let choices: Vec<String> = serde_json::from_str(&choices).unwrap_or_default();
        answers.insert(question_id, choices);
    }
    let graded = attempt.status == store::STATUS_GRADED;
    let status = if graded {
        "graded"
    } else if now > attempt.deadline {
        "overdue"
    } else {
        "open"
    };
    let questions = (status == "open")
        .then(|| form.present(&bank))
        .transpose()?;
    let result = graded.then(|| stored_result(&attempt)).transpose()?;
    let review = if graded && bank.exam.allow_review {
        Some(review_of(&bank, &form, &answers)?)
    } else {
        None
    };
    // The client names questions and choices by this attempt's handles, never by the bank's ids.
    let answers = answers
        .into_iter()
        .map(|(question_id, ids)| {
            let handles = form.choice_handles_of(&question_id, &ids);
            (form.question_handle(&question_id), handles)
        })
        .collect();
    let flagged = store::flags_of(conn, attempt_id)?
        .iter()
        .map(|question_id| form.question_handle(question_id))
        .collect();
    Ok(AttemptView {
        id: attempt.id.clone(),
        exam: ExamRef {
            vendor: vendor.slug,
            slug: exam.slug,
            title: bank.exam.title.clone(),
        },
        status,
        started_at: rfc3339_seconds(attempt.started_at),
        deadline: rfc3339_seconds(attempt.deadline),
        remaining_seconds: (attempt.deadline - now).num_seconds().max(0),
        answers,
        flagged,
        questions,
        result,
        review,
        preview: attempt.preview,
    })
}

fn review_of(
    bank: &Bank,
    form: &Form,
    answers: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<ReviewQuestion>, ExamError> {
    let points: HashMap<String, u32> = {
        let answers: HashMap<String, Vec<String>> = answers.clone().into_iter().collect();
        grade(bank, form, &answers, bank.exam.pass_percent)?
            .items
            .into_iter()
            .map(|item| (item.question_id, item.points_milli))
            .collect()
    };
    let mut review = Vec::new();
    for (item, question) in form.questions(bank)? {
        let chosen = answers.get(&question.id).cloned().unwrap_or_default();
        let format = question.stem_format;
        let choices = item
            .choice_order
            .iter()
            .filter_map(|id| question.choice(id))
            .map(|choice| ReviewChoice {
                id: form.choice_handle(&question.id, &choice.id),
                text: render_text_inline(&choice.text, format),
                correct: choice.correct,
                chosen: chosen.contains(&choice.id),
                feedback: choice
                    .feedback
                    .as_deref()
                    .map(|f| render_text_inline(f, format)),
            })
            .collect();
        let points_milli = points.get(&question.id).copied().unwrap_or(0);
        review.push(ReviewQuestion {
            id: form.question_handle(&question.id),
            kind: question.kind,
            domain: question.domain.clone(),
            stem: render_text(&question.stem, format),
            choices,
            explanation: question
                .explanation
                .as_deref()
                .map(|e| render_text(e, format)),
            references: question.references.clone(),
            points_milli,
            correct: points_milli == super::grading::ITEM_POINTS_MILLI,
        });
    }
    Ok(review)
}

/// One attempt on a person's dashboard.
#[derive(Debug, Clone)]
pub struct AttemptSummary {
    pub id: String,
    pub vendor: String,
    pub exam_slug: String,
    pub exam_title: String,
    pub status: String,
    pub started_at: NaiveDateTime,
    pub deadline: NaiveDateTime,
    pub score_bp: Option<i32>,
    pub passed: Option<bool>,
}

pub fn attempts_of_user(
    conn: &mut DbConn,
    user_id: &str,
) -> Result<Vec<AttemptSummary>, ExamError> {
    Ok(store::attempts_of_user(conn, user_id)?
        .into_iter()
        .map(|(a, exam_slug, exam_title, vendor)| AttemptSummary {
            id: a.id,
            vendor,
            exam_slug,
            exam_title,
            status: a.status,
            started_at: a.started_at,
            deadline: a.deadline,
            score_bp: a.score_bp,
            passed: a.passed,
        })
        .collect())
}

/// Exams the person cannot start again yet, by (vendor slug, exam slug): from when they can,
/// and why.
pub type RetakesNotYet = BTreeMap<(String, String), (NaiveDateTime, String)>;

/// The exams the person cannot start again yet under their retake policy (the dashboard shows
/// these instead of offering them).
pub fn retakes_not_yet(
    conn: &mut DbConn,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<RetakesNotYet, ExamError> {
    let mut blocked = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for (_, exam_slug, _, vendor) in store::attempts_of_user(conn, user_id)? {
        if !seen.insert((vendor.clone(), exam_slug.clone())) {
            continue;
        }
        let Some((exam, _, _)) = store::find_exam_by_slugs(conn, &vendor, &exam_slug)? else {
            continue;
        };
        let history = store::attempt_history(conn, &exam.id, user_id)?;
        if let Some(block) = next_attempt_allowed(&retake_of(&exam), &history, now) {
            blocked.insert((vendor, exam_slug), block);
        }
    }
    Ok(blocked)
}

/// The person's open attempt at an exam, if any (the detail page offers to resume it).
pub fn open_attempt_id(
    conn: &mut DbConn,
    user_id: &str,
    vendor_slug: &str,
    exam_slug: &str,
) -> Result<Option<String>, ExamError> {
    let Some((exam, _, _)) = store::find_exam_by_slugs(conn, vendor_slug, exam_slug)? else {
        return Ok(None);
    };
    Ok(store::open_attempt_of(conn, &exam.id, user_id)?.map(|a| a.id))
}

// -------------------------------------------------------------------------------------------- vouchers

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = VoucherBatchInput)]
pub struct VoucherInput {
    pub count: i64,
    /// `YYYY-MM-DDTHH:MM:SSZ` (any RFC 3339 time) or `YYYY-MM-DD` (valid through that day, UTC).
    #[serde(default)]
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VoucherBatch {
    pub batch_id: String,
    pub exam: String,
    pub codes: Vec<String>,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

pub const MAX_VOUCHERS_PER_BATCH: i64 = 1000;

/// Parses an expiry: an RFC 3339 time, or a date meaning the end of that day (UTC).
pub fn parse_expiry(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(time.naive_utc());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(23, 59, 59))
}

/// Creates a batch of single-use vouchers for an exam.
pub fn create_vouchers(
    conn: &mut DbConn,
    exam: &ExamRow,
    input: &VoucherInput,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<VoucherBatch, ExamError> {
    let mut errors = FieldErrors::new();
    if !(1..=MAX_VOUCHERS_PER_BATCH).contains(&input.count) {
        errors.add(
            "count",
            format!("give a number of vouchers from 1 to {MAX_VOUCHERS_PER_BATCH}"),
        );
    }
    let expires_at = match input.expires_at.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => match parse_expiry(text) {
            Some(at) if at > now => Some(at),
            Some(_) => {
                errors.add("expires_at", "the expiry must be in the future");
                None
            }
            None => {
                errors.add(
                    "expires_at",
                    "write the expiry as 2027-01-31 or 2027-01-31T23:59:59Z",
                );
                None
            }
        },
    };
    errors.finish().map_err(ExamError::Validation)?;
    let batch_id = db::new_id();
    let mut rng = rand::rngs::OsRng;
    let mut codes: Vec<String> = Vec::new();
    let count = usize::try_from(input.count).unwrap_or(0);
    while codes.len() < count {
        let code = new_voucher_code(&mut rng);
        if codes.contains(&code) {
            continue;
        }
        store::insert_voucher(
            conn,
            &exam.id,
            &code,
            &batch_id,
            actor.user_id(),
            expires_at,
            now,
        )
        .map_err(|e| {
            if db::is_unique_violation(&e) {
                ExamError::Conflict("a voucher code collided; create the batch again".into())
            } else {
                e.into()
            }
        })?;
        codes.push(code);
    }
    // The codes are bearer entitlements: the trail names the batch, never the codes.
    audit::record(
        conn,
        actor,
        Action::VouchersIssued,
        Some(&exam.vendor_id),
        &batch_id,
        json!({
            "exam": exam.slug,
            "count": codes.len(),
            "expires_at": expires_at.map(rfc3339_seconds),
        }),
        now,
    )?;
    Ok(VoucherBatch {
        batch_id,
        exam: exam.slug.clone(),
        codes,
        expires_at: expires_at.map(rfc3339_seconds),
    })
}

/// One batch of vouchers on the vendor page.
#[derive(Debug, Clone)]
pub struct VoucherBatchSummary {
    pub batch_id: String,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub count: usize,
    pub redeemed: usize,
}

pub fn voucher_batches(
    conn: &mut DbConn,
    exam: &ExamRow,
) -> Result<Vec<VoucherBatchSummary>, ExamError> {
    let mut batches: Vec<VoucherBatchSummary> = Vec::new();
    for (voucher, _) in store::list_vouchers(conn, &exam.id)? {
        match batches.iter_mut().find(|b| b.batch_id == voucher.batch_id) {
            Some(batch) => {
                batch.count += 1;
                batch.redeemed += usize::from(voucher.redeemed_at.is_some());
            }
            None => batches.push(VoucherBatchSummary {
                batch_id: voucher.batch_id.clone(),
                created_at: voucher.created_at,
                expires_at: voucher.expires_at,
                count: 1,
                redeemed: usize::from(voucher.redeemed_at.is_some()),
            }),
        }
    }
    batches.reverse();
    Ok(batches)
}

/// Every voucher of the exam as CSV: code, batch, created, expires, status, redeemed at, redeemed by.
pub fn vouchers_csv(
    conn: &mut DbConn,
    exam: &ExamRow,
    now: NaiveDateTime,
) -> Result<String, ExamError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| ExamError::Internal(format!("writing CSV: {e}"));
    writer
        .write_record([
            "code",
            "batch_id",
            "created_at",
            "expires_at",
            "status",
            "redeemed_at",
            "redeemed_by",
        ])
        .map_err(csv_error)?;
    for (voucher, email) in store::list_vouchers(conn, &exam.id)? {
        let status = if voucher.redeemed_at.is_some() {
            "redeemed"
        } else if voucher.expires_at.is_some_and(|at| at <= now) {
            "expired"
        } else {
            "available"
        };
        writer
            .write_record([
                voucher.code.as_str(),
                voucher.batch_id.as_str(),
                &rfc3339_seconds(voucher.created_at),
                &voucher.expires_at.map(rfc3339_seconds).unwrap_or_default(),
                status,
                &voucher.redeemed_at.map(rfc3339_seconds).unwrap_or_default(),
                &csv_cell(email.as_deref().unwrap_or("")),
            ])
            .map_err(csv_error)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| ExamError::Internal(format!("writing CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| ExamError::Internal(format!("writing CSV: {e}")))
}

// ---------------------------------------------------------------------------------------------- orders

/// `POST /api/v1/orders` (operator): a manual order (invoice, bank transfer) for a person and an exam.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualOrderInput {
    /// `vendor/exam`, e.g. `postgresql/postgresql-administration`.
    pub exam: String,
    pub email: String,
    pub amount_minor: i64,
    pub currency: String,
    #[serde(default)]
    pub reference: Option<String>,
    /// Record it as paid at once (default: pending until marked paid).
    #[serde(default)]
    pub paid: bool,
}

#[derive(Debug, Clone, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MarkPaid)]
pub struct MarkPaidInput {
    #[serde(default)]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Order)]
pub struct OrderView {
    pub id: String,
    pub exam: String,
    pub user_id: String,
    pub email: String,
    pub amount_minor: i64,
    pub currency: String,
    pub provider: String,
    pub status: String,
    pub reference: Option<String>,
    pub attempt_id: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub paid_at: Option<String>,
}

fn order_view(conn: &mut DbConn, order: store::OrderRow) -> Result<OrderView, ExamError> {
    let exam = store::find_exam_by_id(conn, &order.exam_id)?.ok_or(ExamError::NotFound("exam"))?;
    let vendor = crate::accounts::store::find_vendor(conn, &exam.vendor_id)?
        .ok_or(ExamError::NotFound("exam"))?;
    let email = store::user_contact(conn, &order.user_id)?
        .map(|(_, email)| email)
        .unwrap_or_default();
    Ok(OrderView {
        id: order.id,
        exam: format!("{}/{}", vendor.slug, exam.slug),
        user_id: order.user_id,
        email,
        amount_minor: order.amount_minor,
        currency: order.currency,
        provider: order.provider,
        status: order.status,
        reference: order.reference,
        attempt_id: order.attempt_id,
        created_at: rfc3339_seconds(order.created_at),
        paid_at: order.paid_at.map(rfc3339_seconds),
    })
}

const MAX_REFERENCE: usize = 200;

pub fn create_manual_order(
    conn: &mut DbConn,
    input: &ManualOrderInput,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<OrderView, ExamError> {
    let mut errors = FieldErrors::new();
    let exam = match input.exam.trim().split_once('/') {
        Some((vendor, slug)) => match store::find_exam_by_slugs(conn, vendor, slug)? {
            Some((exam, _, _)) => Some(exam),
            None => {
                errors.add(
                    "exam",
                    "no exam has this address; write it as vendor/exam-slug",
                );
                None
            }
        },
        None => {
            errors.add("exam", "write the exam as vendor/exam-slug");
            None
        }
    };
    let user_id = match normalize_email(&input.email) {
        Ok(email) => match store::user_id_by_email(conn, &email)? {
            Some(id) => Some(id),
            None => {
                errors.add(
                    "email",
                    "no account uses this address; the person registers first",
                );
                None
            }
        },
        Err(message) => {
            errors.add("email", message);
            None
        }
    };
    if input.amount_minor < 0 {
        errors.add(
            "amount_minor",
            "give the amount paid in minor units (0 or more)",
        );
    }
    if crate::money::parse_currency(&input.currency).is_err() {
        errors.add(
            "currency",
            "use an ISO 4217 code in upper case, such as USD or EUR",
        );
    }
    let reference = input
        .reference
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if reference.is_some_and(|r| r.chars().count() > MAX_REFERENCE) {
        errors.add("reference", format!("at most {MAX_REFERENCE} characters"));
    }
    errors.finish().map_err(ExamError::Validation)?;
    let (Some(exam), Some(user_id)) = (exam, user_id) else {
        return Err(ExamError::Internal(
            "validated order input is incomplete".into(),
        ));
    };
    let id = store::insert_order(
        conn,
        &store::NewOrder {
            exam_id: &exam.id,
            user_id: &user_id,
            amount_minor: input.amount_minor,
            currency: &input.currency,
            provider: store::PROVIDER_MANUAL,
            status: if input.paid {
                store::ORDER_PAID
            } else {
                store::ORDER_PENDING
            },
            reference,
            paid_at: input.paid.then_some(now),
            marked_paid_by: if input.paid { actor.user_id() } else { None },
        },
        now,
    )?;
    audit::record(
        conn,
        actor,
        Action::OrderCreated,
        Some(&exam.vendor_id),
        &id,
        json!({
            "exam": exam.slug,
            "user_id": user_id,
            "amount_minor": input.amount_minor,
            "currency": input.currency,
            "paid": input.paid,
            "reference": reference,
        }),
        now,
    )?;
    let order = store::find_order(conn, &id)?.ok_or(ExamError::NotFound("order"))?;
    order_view(conn, order)
}

/// Marks a manual order paid (idempotent: an order already paid is returned as it is).
pub fn mark_order_paid(
    conn: &mut DbConn,
    order_id: &str,
    input: &MarkPaidInput,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<OrderView, ExamError> {
    let order = store::find_order(conn, order_id)?.ok_or(ExamError::NotFound("order"))?;
    if order.provider != store::PROVIDER_MANUAL {
        return Err(ExamError::Conflict(
            "only manual orders are marked paid; voucher orders are paid when redeemed".into(),
        ));
    }
    let reference = input
        .reference
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if reference.is_some_and(|r| r.chars().count() > MAX_REFERENCE) {
        return Err(ExamError::Validation(crate::validation::field_error(
            "reference",
            format!("at most {MAX_REFERENCE} characters"),
        )));
    }
    if order.status == store::ORDER_PENDING {
        store::mark_order_paid(conn, order_id, actor.user_id(), reference, now)?;
        let vendor_id = store::find_exam_by_id(conn, &order.exam_id)?.map(|e| e.vendor_id);
        audit::record(
            conn,
            actor,
            Action::OrderMarkedPaid,
            vendor_id.as_deref(),
            order_id,
            json!({"reference": reference}),
            now,
        )?;
    }
    let order = store::find_order(conn, order_id)?.ok_or(ExamError::NotFound("order"))?;
    order_view(conn, order)
}

// --------------------------------------------------------------------------------------------- revenue

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CurrencyTotal {
    pub currency: String,
    pub amount_minor: i64,
    pub orders: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MonthRevenue {
    /// `YYYY-MM` (UTC) of the payment.
    pub month: String,
    pub totals: Vec<CurrencyTotal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ExamRevenue {
    pub exam: String,
    pub title: String,
    pub months: Vec<MonthRevenue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = Revenue)]
pub struct RevenueReport {
    pub vendor: String,
    pub exams: Vec<ExamRevenue>,
}

/// Month → currency → (amount, orders).
type MonthTotals = BTreeMap<String, BTreeMap<String, (i64, u32)>>;

/// Paid orders per exam per month, summed per currency (never converted).
pub fn revenue(
    conn: &mut DbConn,
    vendor: &crate::accounts::Vendor,
) -> Result<RevenueReport, ExamError> {
    let mut grouped: BTreeMap<(String, String), MonthTotals> = BTreeMap::new();
    for order in store::paid_orders_of_vendor(conn, &vendor.id)? {
        let at = order.paid_at.unwrap_or(order.created_at);
        let entry = grouped
            .entry((order.exam_slug, order.exam_title))
            .or_default()
            .entry(at.format("%Y-%m").to_string())
            .or_default()
            .entry(order.currency)
            .or_default();
        entry.0 = entry.0.saturating_add(order.amount_minor);
        entry.1 += 1;
    }
    Ok(RevenueReport {
        vendor: vendor.slug.clone(),
        exams: grouped
            .into_iter()
            .map(|((exam, title), months)| ExamRevenue {
                exam,
                title,
                months: months
                    .into_iter()
                    .map(|(month, totals)| MonthRevenue {
                        month,
                        totals: totals
                            .into_iter()
                            .map(|(currency, (amount_minor, orders))| CurrencyTotal {
                                currency,
                                amount_minor,
                                orders,
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    })
}

// ------------------------------------------------------------------------------------------ statistics

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ItemStatistics)]
pub struct ItemReport {
    pub question_id: String,
    pub domain: String,
    /// Graded attempts whose form had the question.
    pub responses: usize,
    pub p: Option<f64>,
    pub r_pb: Option<f64>,
    pub flags: Vec<ItemFlag>,
}

/// `GET /api/v1/vendors/{vendor}/exams/{exam}/statistics`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Statistics)]
pub struct StatisticsReport {
    pub exam: String,
    pub version: i32,
    pub attempts: usize,
    pub pass_rate: Option<f64>,
    pub kr20: Option<f64>,
    pub sem: Option<f64>,
    /// Graded attempts per score band: 0–10 %, 10–20 %, …, 90–100 % (100 % is in the last band).
    #[schema(value_type = Vec<u32>, min_items = 10, max_items = 10)]
    pub histogram: [u32; 10],
    pub items: Vec<ItemReport>,
    /// The sample-size guard (`stats_min_attempts`): below it, difficulty, discrimination, flags
    /// and KR-20 are noise, and `too_few_attempts` says so (the figures stay for the curious).
    pub min_attempts: u32,
    pub too_few_attempts: bool,
}

/// Item statistics of one version: `version` or, by default, the latest version with graded attempts (the
/// latest version when none has any).
pub fn statistics(
    conn: &mut DbConn,
    exam: &ExamRow,
    version: Option<i32>,
    min_attempts: u32,
) -> Result<StatisticsReport, ExamError> {
    let number = match version {
        Some(number) => number,
        None => match store::latest_version_with_graded_attempts(conn, &exam.id)? {
            Some(number) => number,
            None => {
                store::latest_version(conn, &exam.id)?
                    .ok_or(ExamError::NotFound("exam version"))?
                    .number
            }
        },
    };
    let version = store::find_version_by_number(conn, &exam.id, number)?
        .ok_or(ExamError::NotFound("exam version"))?;
    let bank = load_bank(conn, &version.id)?;
    let mut outcomes: HashMap<String, HashMap<String, bool>> = HashMap::new();
    for (attempt_id, question_id, correct) in store::item_outcomes_of_version(conn, &version.id)? {
        outcomes
            .entry(attempt_id)
            .or_default()
            .insert(question_id, correct);
    }
    let items: Vec<String> = bank.questions.iter().map(|q| q.id.clone()).collect();
    let attempts = store::graded_attempts_of_version(conn, &version.id)?
        .into_iter()
        .map(|(id, score_bp, passed)| {
            let row = outcomes.get(&id);
            AttemptResponses {
                score_basis_points: u32::try_from(score_bp.unwrap_or(0)).unwrap_or(0),
                passed: passed.unwrap_or(false),
                responses: items
                    .iter()
                    .map(|item| row.and_then(|row| row.get(item).copied()))
                    .collect(),
            }
        })
        .collect();
    let stats = item_statistics(&ResponseMatrix { items, attempts });
    Ok(StatisticsReport {
        exam: exam.slug.clone(),
        version: version.number,
        too_few_attempts: stats.attempts < min_attempts as usize,
        min_attempts,
        attempts: stats.attempts,
        pass_rate: stats.pass_rate,
        kr20: stats.kr20,
        sem: stats.sem,
        histogram: stats.histogram,
        items: stats
            .items
            .into_iter()
            .zip(&bank.questions)
            .map(|(item, question)| ItemReport {
                question_id: item.question_id,
                domain: question.domain.clone(),
                responses: item.responses,
                p: item.p,
                r_pb: item.r_pb,
                flags: item.flags,
            })
            .collect(),
    })
}

// ------------------------------------------------------------------------------------- vendor console

/// One exam on the vendor's exam list.
#[derive(Debug, Clone)]
pub struct VendorExamSummary {
    pub exam: ExamRow,
    pub version: i32,
    pub version_label: String,
    /// The latest version's state (`draft`, `published`, `retired`).
    pub version_state: String,
    pub graded: usize,
    pub passed: usize,
    pub open: usize,
}

pub fn vendor_exams(
    conn: &mut DbConn,
    vendor_id: &str,
) -> Result<Vec<VendorExamSummary>, ExamError> {
    let counts = store::attempt_counts_of_vendor(conn, vendor_id)?;
    let mut out = Vec::new();
    for exam in store::list_vendor_exams(conn, vendor_id)? {
        let latest = store::latest_version(conn, &exam.id)?;
        let mine = counts.iter().filter(|(id, _, _)| id == &exam.id);
        let (mut graded, mut passed, mut open) = (0, 0, 0);
        for (_, status, pass) in mine {
            if status == store::STATUS_GRADED {
                graded += 1;
                passed += usize::from(*pass == Some(true));
            } else {
                open += 1;
            }
        }
        out.push(VendorExamSummary {
            version: latest.as_ref().map_or(0, |v| v.number),
            version_state: latest.as_ref().map(|v| v.state.clone()).unwrap_or_default(),
            version_label: latest.map(|v| v.label).unwrap_or_default(),
            exam,
            graded,
            passed,
            open,
        });
    }
    Ok(out)
}

pub fn versions(conn: &mut DbConn, exam: &ExamRow) -> Result<Vec<store::VersionInfo>, ExamError> {
    Ok(store::list_versions(conn, &exam.id)?)
}

/// One graded attempt on the vendor's results table.
#[derive(Debug, Clone)]
pub struct ExamResultRow {
    pub attempt_id: String,
    pub candidate: String,
    pub email: String,
    pub graded_at: Option<NaiveDateTime>,
    pub graded_by: Option<String>,
    pub score_bp: i32,
    pub passed: bool,
}

pub fn exam_results(
    conn: &mut DbConn,
    exam: &ExamRow,
    limit: i64,
) -> Result<Vec<ExamResultRow>, ExamError> {
    Ok(store::graded_attempts_of_exam(conn, &exam.id, limit)?
        .into_iter()
        .map(|(a, candidate, email)| ExamResultRow {
            attempt_id: a.id,
            candidate,
            email,
            graded_at: a.graded_at,
            graded_by: a.graded_by,
            score_bp: a.score_bp.unwrap_or(0),
            passed: a.passed.unwrap_or(false),
        })
        .collect())
}

/// A form answer for a question whose kind the page needs (radio or checkbox): the taking page submits every
/// question; this maps the posted `q_<handle>` fields to answers for [`save_answers`].
pub fn answers_from_fields(
    question_ids: &[String],
    fields: &[(String, String)],
) -> Vec<(String, Vec<String>)> {
    question_ids
        .iter()
        .map(|id| {
            let name = format!("q_{id}");
            let mut chosen: Vec<String> = Vec::new();
            for (key, value) in fields {
                if key == &name && !chosen.contains(value) {
                    chosen.push(value.clone());
                }
            }
            (id.clone(), chosen)
        })
        .collect()
}

/// The question handles of an attempt's form, in order (for the taking page's form handler, whose fields
/// are named `q_<handle>`).
pub fn form_question_handles(
    conn: &mut DbConn,
    user_id: &str,
    attempt_id: &str,
) -> Result<Vec<String>, ExamError> {
    let attempt = store::find_attempt(conn, attempt_id)?
        .filter(|attempt| attempt.user_id == user_id)
        .ok_or(ExamError::NotFound("attempt"))?;
    let form = parse_form(&attempt)?;
    Ok(form
        .items
        .iter()
        .map(|item| form.question_handle(&item.question_id))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn attempt(started: &str, graded: Option<&str>, passed: Option<bool>) -> AttemptHistory {
        AttemptHistory {
            started_at: at(started),
            graded_at: graded.map(at),
            passed,
        }
    }

    fn policy(cooldown: i32, max: i32, wait: i32) -> RetakeView {
        RetakeView {
            cooldown_days: cooldown,
            max_attempts_per_year: max,
            wait_after_pass_days: wait,
        }
    }

    #[test]
    fn no_policy_and_no_history_allow_an_attempt() {
        let now = at("2026-06-01 12:00");
        assert_eq!(next_attempt_allowed(&policy(0, 0, 0), &[], now), None);
        let history = [attempt(
            "2026-05-31 10:00",
            Some("2026-05-31 11:00"),
            Some(false),
        )];
        assert_eq!(next_attempt_allowed(&policy(0, 0, 0), &history, now), None);
    }

    #[test]
    fn cooldown_after_a_fail_only() {
        let now = at("2026-06-02 12:00");
        let failed = [attempt(
            "2026-06-01 10:00",
            Some("2026-06-01 11:00"),
            Some(false),
        )];
        let (until, reason) = next_attempt_allowed(&policy(14, 0, 0), &failed, now).unwrap();
        assert_eq!(until, at("2026-06-15 11:00"));
        assert!(reason.contains("14 day"), "{reason}");
        assert_eq!(
            next_attempt_allowed(&policy(14, 0, 0), &failed, at("2026-06-15 11:00")),
            None
        );
        let passed = [attempt(
            "2026-06-01 10:00",
            Some("2026-06-01 11:00"),
            Some(true),
        )];
        assert_eq!(next_attempt_allowed(&policy(14, 0, 0), &passed, now), None);
    }

    #[test]
    fn wait_after_pass_and_latest_block_wins() {
        let now = at("2026-06-02 12:00");
        let history = [
            attempt("2026-05-01 10:00", Some("2026-05-01 11:00"), Some(false)),
            attempt("2026-06-01 10:00", Some("2026-06-01 11:00"), Some(true)),
        ];
        let (until, reason) = next_attempt_allowed(&policy(14, 0, 30), &history, now).unwrap();
        assert_eq!(until, at("2026-07-01 11:00"));
        assert!(reason.contains("passed"), "{reason}");
    }

    #[test]
    fn max_attempts_in_any_twelve_months() {
        let history = [
            attempt("2025-07-01 10:00", Some("2025-07-01 11:00"), Some(false)),
            attempt("2026-01-01 10:00", Some("2026-01-01 11:00"), Some(false)),
            attempt("2026-03-01 10:00", Some("2026-03-01 11:00"), Some(false)),
        ];
        let now = at("2026-06-01 12:00");
        // Three in the window, max 3: the oldest leaves the window on 2026-07-01 10:00.
        let (until, _) = next_attempt_allowed(&policy(0, 3, 0), &history, now).unwrap();
        assert_eq!(until, at("2026-07-01 10:00"));
        // Max 2: two must leave, the second oldest leaves on 2027-01-01.
        let (until, _) = next_attempt_allowed(&policy(0, 2, 0), &history, now).unwrap();
        assert_eq!(until, at("2027-01-01 10:00"));
        assert_eq!(next_attempt_allowed(&policy(0, 4, 0), &history, now), None);
        assert_eq!(
            next_attempt_allowed(&policy(0, 3, 0), &history, at("2026-07-01 10:01")),
            None
        );
    }

    #[test]
    fn voucher_codes_are_readable_and_normalized() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let code = new_voucher_code(&mut rng);
        assert_eq!(code.len(), 14);
        assert_eq!(code.matches('-').count(), 2);
        assert!(code
            .chars()
            .all(|c| c == '-' || VOUCHER_ALPHABET.contains(&(c as u8))));
        let typed = code.to_lowercase().replace('-', " ");
        assert_eq!(normalize_voucher_code(&typed), code);
        assert_eq!(normalize_voucher_code(" ab-c "), "ABC");
    }

    #[test]
    fn expiry_accepts_times_and_dates() {
        assert_eq!(
            parse_expiry("2027-01-31"),
            Some(at("2027-01-31 23:59") + chrono::Duration::seconds(59))
        );
        assert_eq!(
            parse_expiry("2027-01-31T10:00:00+02:00"),
            Some(at("2027-01-31 08:00"))
        );
        assert_eq!(parse_expiry("next week"), None);
    }

    #[test]
    fn gift_bank_defaults_and_existing_blueprint() {
        let text = "$CATEGORY: Basics\n::a:: A? {=y ~n}\n\n::b:: B? {=y ~n}\n\n$CATEGORY: Extra\n::c:: C? {T}\n\n$CATEGORY: Empty\n";
        let import = parse_gift("x.gift", text).unwrap();
        let (bank, warnings) = imported_bank("x.gift", "git-basics", import.clone(), None).unwrap();
        assert_eq!(bank.exam.title, "Git basics");
        assert_eq!(bank.exam.duration_minutes, GIFT_DEFAULT_DURATION_MINUTES);
        assert!(bank.exam.price.is_free());
        assert_eq!(
            bank.domains
                .iter()
                .map(|d| (d.id.as_str(), d.questions_per_form))
                .collect::<Vec<_>>(),
            [("basics", 2), ("extra", 1)]
        );
        assert!(warnings.iter().any(|w| w.message.contains("Empty")));

        let mut previous = bank.clone();
        previous.exam.title = "Kept title".into();
        previous.exam.duration_minutes = 15;
        previous.domains[0].questions_per_form = 1;
        previous.domains[0].title = "Kept domain".into();
        let (next, _) =
            imported_bank("x.gift", "git-basics", import.clone(), Some(&previous)).unwrap();
        assert_eq!(next.exam.title, "Kept title");
        assert_eq!(next.exam.duration_minutes, 15);
        assert_eq!(next.domains[0].questions_per_form, 1);
        assert_eq!(next.domains[0].title, "Kept domain");
        assert_eq!(next.domains[1].questions_per_form, 1);

        previous.domains[0].questions_per_form = 5;
        let errors = imported_bank("x.gift", "git-basics", import, Some(&previous)).unwrap_err();
        assert!(errors.errors[0].message.contains("draws 5"), "{errors}");

        let nothing = parse_gift("n.gift", "::e:: Essay {}\n").unwrap();
        let errors = imported_bank("n.gift", "x", nothing, None).unwrap_err();
        assert_eq!(errors.errors.len(), 2, "{errors}");
        assert!(errors.errors[1].message.contains("essay"), "{errors}");
    }

    #[test]
    fn form_fields_become_answers_per_question() {
        let ids = vec!["q1".to_owned(), "q2".to_owned(), "q3".to_owned()];
        let fields = vec![
            ("csrf_token".to_owned(), "x".to_owned()),
            ("q_q1".to_owned(), "a".to_owned()),
            ("q_q2".to_owned(), "b".to_owned()),
            ("q_q2".to_owned(), "c".to_owned()),
            ("q_q2".to_owned(), "c".to_owned()),
        ];
        assert_eq!(
            answers_from_fields(&ids, &fields),
            vec![
                ("q1".to_owned(), vec!["a".to_owned()]),
                ("q2".to_owned(), vec!["b".to_owned(), "c".to_owned()]),
                ("q3".to_owned(), vec![]),
            ]
        );
    }

    #[test]
    fn retake_policy_sentence() {
        assert_eq!(policy(0, 0, 0).describe(), "No restrictions on retakes.");
        assert_eq!(
            policy(14, 3, 365).describe(),
            "Wait 14 days after a failed attempt; at most 3 attempts in any 12 months; no new attempt for 365 days after a pass."
        );
        assert_eq!(
            policy(1, 1, 1).describe(),
            "Wait 1 day after a failed attempt; at most 1 attempt in any 12 months; no new attempt for 1 day after a pass."
        );
    }
}
