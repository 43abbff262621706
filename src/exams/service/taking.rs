//! Taking an exam: starting an attempt (entitlement and retake policy) or a staff preview, saving answers
//! and flags while it is open, and reading the taking page's form fields.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use chrono::NaiveDateTime;
use serde::Serialize;

use super::catalog::{price_of, published_exam, retake_of};
use super::results::grade_attempt;
use super::retakes::next_attempt_allowed;
use super::vouchers::redeem_voucher;
use super::{load_bank, parse_form, GradedBy, PassHook};
use crate::clock::rfc3339_seconds;
use crate::db::{self, DbConn};
use crate::exams::store::{self, AttemptRow, ExamRow};
use crate::exams::{
    draw_form, validate_answer, AttemptStatus, ExamError, IndexedForm, PresentedQuestion,
};
use crate::links::Links;

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
    if attempt.status != AttemptStatus::Open {
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
