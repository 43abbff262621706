//! Grading and results: submitting (and the deadline sweep), the stored score report, the attempt view with
//! its review, and a person's attempts.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::taking::ExamRef;
use super::{load_bank, parse_form, GradedBy, PassHook, PassedExam};
use crate::clock::rfc3339_seconds;
use crate::db::DbConn;
use crate::exams::store::{self, AttemptRow, ExamRow};
use crate::exams::{
    grade, percent_json_number, render_text, render_text_inline, AttemptStatus, Bank, DomainScore,
    ExamError, Form, GradeResult, PresentedQuestion, QuestionKind,
};
use crate::links::Links;
use crate::mail;
use crate::webhooks::{self, EventType};

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

/// Grades the attempt's saved answers against the bank version it was drawn from.
fn grade_saved_answers(
    conn: &mut DbConn,
    attempt: &AttemptRow,
) -> Result<(Arc<Bank>, GradeResult), ExamError> {
    let bank = load_bank(conn, &attempt.version_id)?;
    let form = parse_form(attempt)?;
    let mut answers: HashMap<String, Vec<String>> = HashMap::new();
    for (question_id, choices) in store::answers_of(conn, &attempt.id)? {
        let choices: Vec<String> = serde_json::from_str(&choices).map_err(|e| {
            ExamError::Internal(format!(
                "saved answer of attempt {} is unreadable: {e}",
                attempt.id
            ))
        })?;
        answers.insert(question_id, choices);
    }
    let graded = grade(&bank, &form, &answers, bank.exam.pass_percent)?;
    Ok((bank, graded))
}

/// What the credential issuer is told of a candidate's pass (`None` for a fail or a staff preview).
fn passed_exam(
    attempt: &AttemptRow,
    exam: &ExamRow,
    bank: &Bank,
    graded: &GradeResult,
    graded_at: NaiveDateTime,
) -> Option<PassedExam> {
    (graded.passed && !attempt.preview).then(|| PassedExam {
        attempt_id: attempt.id.clone(),
        user_id: attempt.user_id.clone(),
        vendor_id: exam.vendor_id.clone(),
        exam_id: exam.id.clone(),
        exam_slug: exam.slug.clone(),
        exam_title: bank.exam.title.clone(),
        exam_description: bank.exam.description.clone().unwrap_or_default(),
        pass_percent: i32::from(bank.exam.pass_percent),
        score_bp: i32::try_from(graded.score_basis_points).unwrap_or(0),
        validity_months: i32::try_from(bank.exam.validity_months).unwrap_or(i32::MAX),
        renewal_exam_slug: bank.exam.renewal_exam.clone(),
        graded_at,
    })
}

/// The pass that grading the open attempt would record if it ran now, read without a transaction
/// or a write, so its credential can be prepared ahead of the grading (see [`grade_attempt`], which
/// grades again and decides). `None` when the attempt is not open, not `owner`'s, or would not pass.
pub fn pass_in_prospect(
    conn: &mut DbConn,
    attempt_id: &str,
    owner: Option<&str>,
    now: NaiveDateTime,
) -> Result<Option<PassedExam>, ExamError> {
    let Some(attempt) = store::find_attempt(conn, attempt_id)?
        .filter(|attempt| owner.is_none_or(|owner| owner == attempt.user_id))
        .filter(|attempt| attempt.status == AttemptStatus::Open)
    else {
        return Ok(None);
    };
    let (bank, graded) = grade_saved_answers(conn, &attempt)?;
    let exam =
        store::find_exam_by_id(conn, &attempt.exam_id)?.ok_or(ExamError::NotFound("exam"))?;
    Ok(passed_exam(&attempt, &exam, &bank, &graded, now))
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
    if attempt.status == AttemptStatus::Graded {
        return stored_result(&attempt);
    }
    if store::claim_for_grading(conn, attempt_id, graded_by.as_str(), now)? == 0 {
        let graded =
            store::find_attempt(conn, attempt_id)?.ok_or(ExamError::NotFound("attempt"))?;
        return stored_result(&graded);
    }

    let (bank, graded) = grade_saved_answers(conn, &attempt)?;
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
    let credential_id = match passed_exam(&attempt, &exam, &bank, &graded, now) {
        Some(passed) => on_pass(conn, &passed)?,
        None => None,
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
                    "score_percent": crate::exams::format_percent(stored.score_bp),
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
        let score = crate::exams::format_percent(stored.score_bp);
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
    let graded = attempt.status == AttemptStatus::Graded;
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
            correct: points_milli == crate::exams::grading::ITEM_POINTS_MILLI,
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
    pub status: AttemptStatus,
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
