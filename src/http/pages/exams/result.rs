//! The score report (or the grading page while it is being graded).

use actix_web::{get, web, HttpRequest, HttpResponse};
use askama::Template;

use super::taking::load_view;
use crate::app::AppState;
use crate::exams::format_percent;
use crate::exams::service::{self, AttemptResult, ReviewQuestion};
use crate::http::pages::{human_time_text, render, see_other, PageContext, PageError, PageUser};

struct DomainRow {
    title: String,
    correct: u32,
    total: u32,
    percent: String,
}

#[derive(Template)]
#[template(path = "exams/result.html")]
struct ResultPage {
    ctx: PageContext,
    exam_title: String,
    exam_href: String,
    score: String,
    pass_percent: u8,
    passed: bool,
    graded_at: String,
    domains: Vec<DomainRow>,
    review: Option<Vec<ReviewQuestion>>,
    credential_href: Option<String>,
    preview: bool,
}

#[derive(Template)]
#[template(path = "exams/grading.html")]
struct GradingPage {
    ctx: PageContext,
    attempt_id: String,
    exam_title: String,
}

#[get("/attempts/{id}/result")]
pub(super) async fn result_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let attempt_id = path.into_inner();
    let view = load_view(&state, user.id.clone(), attempt_id.clone()).await?;
    let ctx = PageContext::new(&req, Some(user));
    match (view.status, view.result) {
        ("open", _) => Ok(see_other(&format!("/attempts/{attempt_id}"))),
        (_, Some(result)) => Ok(render(&ResultPage {
            preview: view.preview,
            ..result_view(ctx, &view.exam, result, view.review)
        })),
        // Overdue: the deadline job grades it within moments.
        _ => Ok(render(&GradingPage {
            ctx,
            attempt_id,
            exam_title: view.exam.title,
        })),
    }
}

fn result_view(
    ctx: PageContext,
    exam: &service::ExamRef,
    result: AttemptResult,
    review: Option<Vec<ReviewQuestion>>,
) -> ResultPage {
    ResultPage {
        ctx,
        exam_title: exam.title.clone(),
        exam_href: format!("/exams/{}/{}", exam.vendor, exam.slug),
        score: format_percent(result.score_bp),
        pass_percent: result.pass_percent,
        passed: result.passed,
        graded_at: human_time_text(&result.graded_at),
        domains: result
            .domains
            .iter()
            .map(|d| DomainRow {
                title: d.title.clone(),
                correct: d.correct,
                total: d.total,
                percent: format_percent(d.score_bp),
            })
            .collect(),
        review,
        credential_href: result.credential_id.map(|id| format!("/c/{id}")),
        preview: false,
    }
}
