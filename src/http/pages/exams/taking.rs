//! The exam-taking page (works without JavaScript; with it, answers autosave through the API) and the
//! summary before submitting.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::page_error;
use crate::accounts::SessionUser;
use crate::app::AppState;
use crate::exams::service::{self, AttemptView, GradedBy};
use crate::exams::{ExamError, PresentedQuestion};
use crate::http::pages::{render, see_other, Form, PageContext, PageError, PageUser};
use crate::usecases;

struct ChoiceView {
    id: String,
    html: String,
    checked: bool,
}

struct QuestionView {
    number: usize,
    id: String,
    multiple: bool,
    /// What the fieldset asks for: the stem's own count when it names one ("Choose two answers").
    legend: String,
    stem_html: String,
    choices: Vec<ChoiceView>,
    answered: bool,
    flagged: bool,
}

#[derive(Template)]
#[template(path = "exams/take.html")]
struct TakePage {
    ctx: PageContext,
    attempt_id: String,
    exam_title: String,
    exam_href: String,
    deadline: String,
    remaining_seconds: i64,
    remaining_text: String,
    questions: Vec<QuestionView>,
    answered: usize,
    /// A staff preview of a version (no certificate, no statistics).
    preview: bool,
    flagged: usize,
}

fn remaining_text(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

/// The fieldset's instruction. A multiple-answer stem that asks for a number ("(Choose two.)") is
/// repeated, so the stem and the legend never disagree; the number comes from the stem, not the key.
fn legend(multiple: bool, stem_html: &str) -> String {
    if !multiple {
        return "Choose one answer".into();
    }
    match crate::exams::asked_count(stem_html) {
        Some(count) => format!("Choose {} answers", number_word(count)),
        None => "Choose all that apply".into(),
    }
}

/// Small counts in words, as a stem says them ("two"); larger ones in digits.
fn number_word(count: usize) -> String {
    const WORDS: [&str; 9] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    count
        .checked_sub(1)
        .and_then(|index| WORDS.get(index))
        .map_or_else(|| count.to_string(), |word| (*word).to_string())
}

fn question_views(view: &AttemptView, questions: Vec<PresentedQuestion>) -> Vec<QuestionView> {
    let answers: &BTreeMap<String, Vec<String>> = &view.answers;
    questions
        .into_iter()
        .enumerate()
        .map(|(index, q)| {
            let chosen = answers.get(&q.id).cloned().unwrap_or_default();
            let multiple = q.kind == crate::exams::QuestionKind::Multiple;
            QuestionView {
                number: index + 1,
                multiple,
                legend: legend(multiple, &q.stem_html),
                stem_html: q.stem_html,
                answered: !chosen.is_empty(),
                flagged: view.flagged.contains(&q.id),
                choices: q
                    .choices
                    .into_iter()
                    .map(|c| ChoiceView {
                        checked: chosen.contains(&c.id),
                        id: c.id,
                        html: c.text_html,
                    })
                    .collect(),
                id: q.id,
            }
        })
        .collect()
}

fn take_view(ctx: PageContext, view: AttemptView, questions: Vec<PresentedQuestion>) -> TakePage {
    let questions = question_views(&view, questions);
    TakePage {
        ctx,
        answered: questions.iter().filter(|q| q.answered).count(),
        flagged: questions.iter().filter(|q| q.flagged).count(),
        attempt_id: view.id.clone(),
        exam_href: format!("/exams/{}/{}", view.exam.vendor, view.exam.slug),
        exam_title: view.exam.title.clone(),
        deadline: deadline_text(&view.deadline),
        remaining_seconds: view.remaining_seconds,
        remaining_text: remaining_text(view.remaining_seconds),
        questions,
        preview: view.preview,
    }
}

fn deadline_text(deadline: &str) -> String {
    chrono::NaiveDateTime::parse_from_str(deadline, "%Y-%m-%dT%H:%M:%SZ")
        .map(|t| t.format("%H:%M UTC on %-d %b %Y").to_string())
        .unwrap_or_else(|_| deadline.to_owned())
}

pub(super) async fn load_view(
    state: &AppState,
    user_id: String,
    attempt_id: String,
) -> Result<AttemptView, PageError> {
    let now = state.clock.now();
    state
        .db(move |conn| service::attempt_view(conn, &user_id, &attempt_id, now))
        .await
        .map_err(page_error)
}

/// The attempt's view while it is open; otherwise the redirect to its result.
async fn open_view(
    state: &AppState,
    user: &SessionUser,
    attempt_id: &str,
) -> Result<Result<AttemptView, HttpResponse>, PageError> {
    let view = load_view(state, user.id.clone(), attempt_id.to_owned()).await?;
    if view.status != "open" {
        return Ok(Err(see_other(&format!("/attempts/{attempt_id}/result"))));
    }
    Ok(Ok(view))
}

fn no_store(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SavedQuery {
    saved: Option<String>,
}

#[get("/attempts/{id}")]
pub(super) async fn take_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse, PageError> {
    let attempt_id = path.into_inner();
    let mut view = match open_view(&state, &user, &attempt_id).await? {
        Ok(view) => view,
        Err(redirect) => return Ok(redirect),
    };
    let questions = view.questions.take().unwrap_or_default();
    let mut ctx = PageContext::new(&req, Some(user));
    if query.saved.is_some() {
        ctx.notices.push("Your answers are saved.".into());
    }
    Ok(no_store(render(&take_view(ctx, view, questions))))
}

/// The taking page's form without JavaScript: saves every answer on the page and the flags, then
/// toggles a flag (`flag`/`unflag` = question handle), shows the summary (`action=review`), submits
/// (`action=submit`) or comes back to the page.
#[post("/attempts/{id}")]
pub(super) async fn take_submit(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    path: web::Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let attempt_id = path.into_inner();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let action = field("action").unwrap_or_default();
    let toggled = field("flag")
        .map(|handle| (handle, true))
        .or_else(|| field("unflag").map(|handle| (handle, false)));
    let now = state.clock.now();
    let (user_id, id) = (user.id.clone(), attempt_id.clone());
    let flag = toggled.clone();
    let saved = state
        .tx(move |conn| {
            let ids = service::form_question_handles(conn, &user_id, &id)?;
            let answers = service::answers_from_fields(&ids, &fields);
            service::save_answers(conn, &user_id, &id, &answers, now)?;
            let flags: Vec<(String, bool)> = flag.into_iter().collect();
            service::set_flags(conn, &user_id, &id, &flags, now)?;
            Ok(ids)
        })
        .await;
    let ids = match saved {
        Ok(ids) => ids,
        // Submitted already or out of time: grade with what was saved before and show the result.
        Err(ExamError::AttemptClosed(_)) => Vec::new(),
        Err(other) => return Err(page_error(other)),
    };
    if action == "submit" || saved_closed(&state, &user.id, &attempt_id).await? {
        return submit_and_show(&state, &user, &attempt_id).await;
    }
    if action == "review" {
        return Ok(see_other(&format!("/attempts/{attempt_id}/summary")));
    }
    let anchor = toggled
        .and_then(|(handle, _)| ids.iter().position(|id| *id == handle))
        .map(|index| format!("#q-{}", index + 1))
        .unwrap_or_default();
    Ok(see_other(&format!(
        "/attempts/{attempt_id}?saved=1{anchor}"
    )))
}

/// Grades the attempt (or reads the stored grade) and shows the result.
async fn submit_and_show(
    state: &AppState,
    user: &SessionUser,
    attempt_id: &str,
) -> Result<HttpResponse, PageError> {
    usecases::grade_attempt(
        state,
        attempt_id.to_owned(),
        Some(user.id.clone()),
        GradedBy::Candidate,
    )
    .await
    .map_err(page_error)?;
    Ok(see_other(&format!("/attempts/{attempt_id}/result")))
}

#[derive(Clone, Copy)]
struct SummaryItem {
    number: usize,
    answered: bool,
    flagged: bool,
}

#[derive(Template)]
#[template(path = "exams/summary.html")]
struct SummaryPage {
    ctx: PageContext,
    attempt_id: String,
    exam_title: String,
    deadline: String,
    remaining_text: String,
    total: usize,
    unanswered: Vec<SummaryItem>,
    flagged: Vec<SummaryItem>,
    confirm: String,
}

/// The summary before submitting: the questions not answered and those flagged for review, each a
/// link back to it, and the Submit button (which asks once more when questions are unanswered).
#[get("/attempts/{id}/summary")]
pub(super) async fn summary_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let attempt_id = path.into_inner();
    let mut view = match open_view(&state, &user, &attempt_id).await? {
        Ok(view) => view,
        Err(redirect) => return Ok(redirect),
    };
    let questions = view.questions.take().unwrap_or_default();
    let items: Vec<SummaryItem> = question_views(&view, questions)
        .into_iter()
        .map(|q| SummaryItem {
            number: q.number,
            answered: q.answered,
            flagged: q.flagged,
        })
        .collect();
    let total = items.len();
    let (unanswered, answered): (Vec<_>, Vec<_>) = items.into_iter().partition(|q| !q.answered);
    let mut flagged: Vec<SummaryItem> = unanswered
        .iter()
        .chain(&answered)
        .filter(|q| q.flagged)
        .copied()
        .collect();
    flagged.sort_by_key(|q| q.number);
    let confirm = match unanswered.len() {
        0 => "Submit your answers for grading? You can't change them afterwards.".to_string(),
        n => format!(
            "{} not answered. Submit anyway? You can't change your answers afterwards.",
            crate::text::plural(n as i64, "question is", "questions are")
        ),
    };
    let page = SummaryPage {
        ctx: PageContext::new(&req, Some(user)),
        exam_title: view.exam.title.clone(),
        deadline: deadline_text(&view.deadline),
        remaining_text: remaining_text(view.remaining_seconds),
        attempt_id,
        total,
        unanswered,
        flagged,
        confirm,
    };
    Ok(no_store(render(&page)))
}

/// The summary page's Submit button.
#[post("/attempts/{id}/submit")]
pub(super) async fn summary_submit(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    path: web::Path<String>,
    Form(_fields): Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    submit_and_show(&state, &user, &path.into_inner()).await
}

/// Whether the attempt no longer takes answers (deadline passed or already graded).
async fn saved_closed(
    state: &AppState,
    user_id: &str,
    attempt_id: &str,
) -> Result<bool, PageError> {
    let view = load_view(state, user_id.to_owned(), attempt_id.to_owned()).await?;
    Ok(view.status != "open")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_like_a_clock() {
        assert_eq!(remaining_text(59), "00:59");
        assert_eq!(remaining_text(3599), "59:59");
        assert_eq!(remaining_text(3661), "1:01:01");
    }
}
