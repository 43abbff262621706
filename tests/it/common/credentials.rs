//! Credential test helpers: the exam, version and passed-attempt rows grading would leave behind,
//! and issuing through `credentials::issue_for_pass` in one transaction, as grading does.

use chrono::NaiveDateTime;
use credo::credentials::{self, IssueRequest};
use credo::db::schema::{attempts, exam_versions, exams};
use credo::db::{new_id, DbError};
use diesel::prelude::*;
use serde_json::Value;

use super::{TestApp, User};

/// A vendor with one examiner-capable owner.
pub struct VendorFixture {
    pub slug: String,
    pub id: String,
    pub owner: User,
}

pub async fn vendor(app: &TestApp, slug: &str) -> VendorFixture {
    let owner = app
        .user(&format!("owner@{slug}.example"), &format!("{slug} owner"))
        .await;
    let vendor = app.vendor(slug, &owner).await;
    VendorFixture {
        slug: slug.to_string(),
        id: vendor["id"].as_str().unwrap().to_string(),
        owner,
    }
}

#[derive(Debug, Clone)]
pub struct ExamFixture {
    pub vendor_id: String,
    pub id: String,
    pub slug: String,
    pub title: String,
    pub version_id: String,
    pub pass_percent: i32,
    pub validity_months: i32,
    pub renewal_exam_slug: Option<String>,
}

/// Inserts an exam with one version, as a bank import would.
pub async fn exam(
    app: &TestApp,
    vendor: &VendorFixture,
    slug: &str,
    validity_months: i32,
    renewal_exam_slug: Option<&str>,
) -> ExamFixture {
    let now = app.state.clock.now();
    let fixture = ExamFixture {
        vendor_id: vendor.id.clone(),
        id: new_id(),
        slug: slug.to_string(),
        title: format!("{} Certified {}", vendor.slug, slug),
        version_id: new_id(),
        pass_percent: 70,
        validity_months,
        renewal_exam_slug: renewal_exam_slug.map(str::to_string),
    };
    let f = fixture.clone();
    app.state
        .tx(move |conn| {
            diesel::insert_into(exams::table)
                .values((
                    exams::id.eq(&f.id),
                    exams::vendor_id.eq(&f.vendor_id),
                    exams::slug.eq(&f.slug),
                    exams::title.eq(&f.title),
                    exams::description.eq("Installing, configuring and running the product."),
                    exams::current_version_id.eq(&f.version_id),
                    exams::price_minor.eq(0i64),
                    exams::currency.eq("USD"),
                    exams::duration_minutes.eq(60),
                    exams::pass_percent.eq(f.pass_percent),
                    exams::validity_months.eq(f.validity_months),
                    exams::allow_review.eq(true),
                    exams::renewal_exam_slug.eq(&f.renewal_exam_slug),
                    exams::retake_cooldown_days.eq(0),
                    exams::retake_max_per_year.eq(0),
                    exams::retake_wait_after_pass_days.eq(0),
                    exams::questions_per_form.eq(10),
                    exams::created_at.eq(now),
                    exams::updated_at.eq(now),
                ))
                .execute(conn)?;
            diesel::insert_into(exam_versions::table)
                .values((
                    exam_versions::id.eq(&f.version_id),
                    exam_versions::exam_id.eq(&f.id),
                    exam_versions::number.eq(1),
                    exam_versions::label.eq("2026.1"),
                    exam_versions::content_hash.eq("0"),
                    exam_versions::bank.eq("{}"),
                    exam_versions::source_format.eq("toml"),
                    exam_versions::source_name.eq("test.toml"),
                    exam_versions::created_at.eq(now),
                ))
                .execute(conn)?;
            Ok::<_, DbError>(())
        })
        .await
        .unwrap();
    fixture
}

/// Inserts a graded, passed attempt of `user` at `now`; returns its id.
pub async fn passed_attempt(
    app: &TestApp,
    exam: &ExamFixture,
    user_id: &str,
    now: NaiveDateTime,
) -> String {
    let id = new_id();
    let (attempt, exam, user) = (id.clone(), exam.clone(), user_id.to_string());
    app.state
        .tx(move |conn| {
            diesel::insert_into(attempts::table)
                .values((
                    attempts::id.eq(&attempt),
                    attempts::exam_id.eq(&exam.id),
                    attempts::version_id.eq(&exam.version_id),
                    attempts::user_id.eq(&user),
                    attempts::status.eq("graded"),
                    attempts::form.eq("{}"),
                    attempts::started_at.eq(now),
                    attempts::deadline.eq(now),
                    attempts::submitted_at.eq(now),
                    attempts::graded_at.eq(now),
                    attempts::score_bp.eq(8450),
                    attempts::passed.eq(true),
                ))
                .execute(conn)?;
            Ok::<_, DbError>(())
        })
        .await
        .unwrap();
    id
}

pub fn request(exam: &ExamFixture, attempt_id: &str, user_id: &str) -> IssueRequest {
    IssueRequest {
        attempt_id: attempt_id.to_string(),
        user_id: user_id.to_string(),
        vendor_id: exam.vendor_id.clone(),
        exam_id: exam.id.clone(),
        exam_slug: exam.slug.clone(),
        exam_title: exam.title.clone(),
        exam_description: "Installing, configuring and running the product.".into(),
        pass_percent: exam.pass_percent,
        score_bp: 8450,
        validity_months: exam.validity_months,
        renewal_exam_slug: exam.renewal_exam_slug.clone(),
    }
}

/// Issues the credential of an attempt as grading does: prepared on a pooled connection, then
/// `issue_for_pass` inside one transaction.
pub async fn issue_attempt(app: &TestApp, request: IssueRequest) -> String {
    let ctx = app.state.issue_context();
    let now = app.state.clock.now();
    let (context, ahead) = (ctx.clone(), request.clone());
    let prepared = app
        .state
        .db(move |conn| credentials::prepare_issue(conn, &context, &ahead, now))
        .await
        .expect("prepare_issue");
    app.state
        .tx(move |conn| credentials::issue_for_pass(conn, &ctx, &request, prepared, now))
        .await
        .expect("issue_for_pass")
}

/// A passed attempt and its credential; returns the credential id.
pub async fn certify(app: &TestApp, exam: &ExamFixture, user: &User) -> String {
    let now = app.state.clock.now();
    let attempt = passed_attempt(app, exam, &user.id, now).await;
    issue_attempt(app, request(exam, &attempt, &user.id)).await
}

/// The stored credential JSON, as served.
pub async fn credential_json(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/v1/credentials/{id}"), None)
        .await
        .expect(200)
        .json()
}

/// `POST /api/v1/verify` of a JSON document.
pub async fn verify(app: &TestApp, credential: &Value) -> Value {
    app.post("/api/v1/verify", None, credential.clone())
        .await
        .expect(200)
        .json()
}

/// The named check of a verify answer.
pub fn check<'a>(answer: &'a Value, name: &str) -> &'a Value {
    answer["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {answer}"))
}
