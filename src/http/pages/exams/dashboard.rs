//! The exams section of the person's dashboard.

use askama::Template;

use super::{page_error, when};
use crate::accounts::SessionUser;
use crate::app::AppState;
use crate::exams::service::{self, CatalogEntry};
use crate::exams::{format_percent, AttemptStatus, ExamError};
use crate::http::pages::PageError;

struct DashboardAttempt {
    href: String,
    exam_title: String,
    started: String,
    deadline: String,
    score: String,
    passed: bool,
}

/// An exam the person cannot take again yet: when they can, and why.
struct NotYet {
    href: String,
    exam_title: String,
    from: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "exams/dashboard_section.html")]
struct DashboardSection {
    open: Vec<DashboardAttempt>,
    graded: Vec<DashboardAttempt>,
    available: Vec<CatalogEntry>,
    not_yet: Vec<NotYet>,
}

/// The person's attempts (open ones to resume, graded ones with their score) and the exams they can take.
pub async fn dashboard_section(state: &AppState, user: &SessionUser) -> Result<String, PageError> {
    let user_id = user.id.clone();
    let now = state.clock.now();
    let (attempts, catalog, blocked) = state
        .db(move |conn| {
            Ok::<_, ExamError>((
                service::attempts_of_user(conn, &user_id)?,
                service::catalog(conn)?,
                service::retakes_not_yet(conn, &user_id, now)?,
            ))
        })
        .await
        .map_err(page_error)?;
    // Exams in progress are resumed above; those the retake policy holds back say from when.
    let in_progress: Vec<(String, String)> = attempts
        .iter()
        .filter(|a| a.status == AttemptStatus::Open)
        .map(|a| (a.vendor.clone(), a.exam_slug.clone()))
        .collect();
    let mut available = Vec::new();
    let mut not_yet = Vec::new();
    for exam in catalog {
        let key = (exam.vendor.clone(), exam.slug.clone());
        if in_progress.contains(&key) {
            continue;
        }
        match blocked.get(&key) {
            Some((until, reason)) => not_yet.push(NotYet {
                href: format!("/exams/{}/{}", exam.vendor, exam.slug),
                exam_title: exam.title,
                from: when(*until),
                reason: reason.clone(),
            }),
            None => available.push(exam),
        }
    }
    let mut open = Vec::new();
    let mut graded = Vec::new();
    for a in attempts {
        let item = DashboardAttempt {
            exam_title: a.exam_title,
            started: when(a.started_at),
            deadline: when(a.deadline),
            score: a
                .score_bp
                .map(|bp| format_percent(u32::try_from(bp).unwrap_or(0)))
                .unwrap_or_default(),
            passed: a.passed == Some(true),
            href: if a.status == AttemptStatus::Open {
                format!("/attempts/{}", a.id)
            } else {
                format!("/attempts/{}/result", a.id)
            },
        };
        if a.status == AttemptStatus::Open {
            open.push(item);
        } else {
            graded.push(item);
        }
    }
    DashboardSection {
        open,
        graded,
        available,
        not_yet,
    }
    .render()
    .map_err(|e| PageError::Internal(format!("template: {e}")))
}
