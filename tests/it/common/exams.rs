//! Exam test helpers: a small bank whose answer key the tests know, a vendor with an examiner, uploads,
//! and answering an attempt right or wrong.

use serde_json::{json, Value};

use super::{Answer, TestApp, User};

/// A test app whose login limit does not get in the way of tests that sign many people in (and in again
/// after moving the clock past their sessions).
pub async fn start_app() -> TestApp {
    TestApp::builder()
        .env("CREDO_LOGIN_ATTEMPTS_PER_MINUTE", "1000")
        .start()
        .await
}

/// Settings of the generated bank.
#[derive(Debug, Clone)]
pub struct BankSpec {
    pub slug: String,
    pub price_minor: i64,
    pub duration_minutes: u32,
    pub pass_percent: u32,
    pub allow_review: bool,
    pub cooldown_days: u32,
    pub max_attempts_per_year: u32,
    pub wait_after_pass_days: u32,
    /// Appended to every stem (makes a changed version).
    pub stem_suffix: String,
}

impl BankSpec {
    pub fn free(slug: &str) -> Self {
        BankSpec {
            slug: slug.to_string(),
            price_minor: 0,
            duration_minutes: 30,
            pass_percent: 60,
            allow_review: true,
            cooldown_days: 0,
            max_attempts_per_year: 0,
            wait_after_pass_days: 0,
            stem_suffix: String::new(),
        }
    }

    pub fn paid(slug: &str, price_minor: i64) -> Self {
        BankSpec {
            price_minor,
            ..Self::free(slug)
        }
    }

    /// Two domains drawing 2 of 3 and 2 of 2 questions: single, multiple and true/false questions.
    pub fn toml(&self) -> String {
        let s = &self.stem_suffix;
        format!(
            r#"[exam]
slug = "{slug}"
title = "Demo exam {slug}"
version = "2026.1"
description = "A *small* exam for tests."
duration_minutes = {duration}
pass_percent = {pass}
validity_months = 12
allow_review = {review}

[exam.price]
amount_minor = {price}
currency = "EUR"

[exam.retake]
cooldown_days = {cooldown}
max_attempts_per_year = {max}
wait_after_pass_days = {wait}

[[domains]]
id = "basics"
title = "Basics"
questions_per_form = 2

[[domains]]
id = "advanced"
title = "Advanced"
questions_per_form = 2

[[questions]]
id = "b1"
domain = "basics"
type = "single"
stem = "Which one is right?{s}"
explanation = "SECRET-EXPLANATION: right is right."
choices = [
  {{ id = "right", text = "Right", correct = true }},
  {{ id = "wrong", text = "Wrong", feedback = "SECRET-FEEDBACK" }},
  {{ id = "other", text = "Other" }},
]

[[questions]]
id = "b2"
domain = "basics"
type = "single"
stem = "Pick the right one again.{s}"
choices = [
  {{ id = "wrong", text = "Nope" }},
  {{ id = "right", text = "Yes", correct = true }},
]

[[questions]]
id = "b3"
domain = "basics"
type = "true_false"
stem = "Water is wet.{s}"
answer = true

[[questions]]
id = "a1"
domain = "advanced"
type = "multiple"
stem = "Which two are right?{s}"
choices = [
  {{ id = "right1", text = "First right", correct = true }},
  {{ id = "wrong", text = "Wrong" }},
  {{ id = "right2", text = "Second right", correct = true }},
]

[[questions]]
id = "a2"
domain = "advanced"
type = "single"
stem = "The last one.{s}"
choices = [
  {{ id = "right", text = "Fine", correct = true }},
  {{ id = "wrong", text = "Bad" }},
]
"#,
            slug = self.slug,
            duration = self.duration_minutes,
            pass = self.pass_percent,
            review = self.allow_review,
            price = self.price_minor,
            cooldown = self.cooldown_days,
            max = self.max_attempts_per_year,
            wait = self.wait_after_pass_days,
        )
    }
}

/// The correct choices of every question of [`BankSpec::toml`].
pub fn key(question_id: &str) -> Vec<&'static str> {
    match question_id {
        "b3" => vec!["true"],
        "a1" => vec!["right1", "right2"],
        _ => vec!["right"],
    }
}

/// A wrong answer for every question.
pub fn wrong(question_id: &str) -> Vec<&'static str> {
    match question_id {
        "b3" => vec!["false"],
        _ => vec!["wrong"],
    }
}

/// A vendor with an owner and an examiner.
pub struct ExamVendor {
    pub slug: String,
    pub owner: User,
    pub examiner: User,
}

pub async fn vendor_with_examiner(app: &TestApp, slug: &str) -> ExamVendor {
    let owner = app
        .user(&format!("owner@{slug}.example.org"), "Owner")
        .await;
    let examiner = app
        .user(&format!("examiner@{slug}.example.org"), "Examiner")
        .await;
    app.vendor(slug, &owner).await;
    app.add_member(slug, &owner, &examiner, "examiner").await;
    ExamVendor {
        slug: slug.to_string(),
        owner,
        examiner,
    }
}

pub async fn upload_toml(app: &TestApp, token: &str, vendor: &str, text: &str) -> Answer {
    app.post_raw(
        &format!("/api/v1/vendors/{vendor}/banks?filename=demo.toml"),
        Some(token),
        "application/toml",
        text.as_bytes().to_vec(),
    )
    .await
}

/// Uploads a bank and expects it stored as a new version.
pub async fn publish(app: &TestApp, vendor: &ExamVendor, spec: &BankSpec) -> Value {
    upload_toml(app, &vendor.examiner.token, &vendor.slug, &spec.toml())
        .await
        .expect(201)
        .json()
}

pub async fn start(app: &TestApp, user: &User, vendor: &str, exam: &str, body: Value) -> Answer {
    app.post(
        &format!("/api/v1/exams/{vendor}/{exam}/attempts"),
        Some(&user.token),
        body,
    )
    .await
}

/// The bank ids of a started attempt's questions, in the order shown, read from the recorded form (the
/// client itself only sees handles).
pub async fn question_ids(app: &TestApp, started: &Value) -> Vec<String> {
    let attempt = started["id"].as_str().expect("attempt id");
    recorded_form(app, attempt)
        .await
        .expect("a recorded form")
        .items
        .into_iter()
        .map(|item| item.question_id)
        .collect()
}

/// The attempt's handle of a question given by its bank id; a value that is no question of the form stays
/// as given (so tests can send unknown questions).
pub async fn question_handle(app: &TestApp, attempt: &str, question: &str) -> String {
    match recorded_form(app, attempt).await {
        Some(form) if form.item(question).is_some() => form.question_handle(question),
        _ => question.to_string(),
    }
}

/// The bank id of the question an attempt's handle names.
pub async fn question_id_of(app: &TestApp, attempt: &str, handle: &str) -> String {
    let form = recorded_form(app, attempt).await.expect("a recorded form");
    form.question_id_of(handle)
        .expect("a question handle of the attempt")
        .to_string()
}

/// The attempt's recorded form, read from the database (what a test that knows the bank may use to find
/// the handles the client sees; the client itself never receives it).
pub async fn recorded_form(app: &TestApp, attempt: &str) -> Option<credo::exams::Form> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        form: String,
    }
    let attempt = attempt.to_string();
    let row = app
        .state
        .db(move |conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query("SELECT form FROM attempts WHERE id = $1")
                .bind::<diesel::sql_types::Text, _>(attempt)
                .get_results::<Row>(conn)
                .map_err(credo::db::DbError::from)
        })
        .await
        .unwrap()
        .pop()?;
    Some(serde_json::from_str(&row.form).expect("a recorded form"))
}

/// The handles of an attempt for the bank's choice ids of a question; ids that are no choice of it stay as
/// given (so tests can send unknown values).
pub async fn handles(app: &TestApp, attempt: &str, question: &str, ids: &[&str]) -> Vec<String> {
    let form = recorded_form(app, attempt).await;
    ids.iter()
        .map(|id| match form.as_ref() {
            Some(form)
                if form
                    .item(question)
                    .is_some_and(|item| item.choice_order.iter().any(|c| c == id)) =>
            {
                form.choice_handle(question, id)
            }
            _ => id.to_string(),
        })
        .collect()
}

/// Saves an answer given by the bank's question and choice ids (translated to the attempt's handles).
pub async fn answer(
    app: &TestApp,
    user: &User,
    attempt: &str,
    question: &str,
    choices: &[&str],
) -> Answer {
    let choices = handles(app, attempt, question, choices).await;
    let question = question_handle(app, attempt, question).await;
    app.put(
        &format!("/api/v1/attempts/{attempt}/answers/{question}"),
        Some(&user.token),
        json!({ "choices": choices }),
    )
    .await
}

/// Answers the listed questions right and every other question wrong.
pub async fn answer_all(app: &TestApp, user: &User, started: &Value, right: &[&str]) {
    let attempt = started["id"].as_str().unwrap();
    for id in question_ids(app, started).await {
        let choices = if right.contains(&id.as_str()) {
            key(&id)
        } else {
            wrong(&id)
        };
        answer(app, user, attempt, &id, &choices).await.expect(204);
    }
}

pub async fn submit(app: &TestApp, user: &User, attempt: &str) -> Answer {
    app.post(
        &format!("/api/v1/attempts/{attempt}/submit"),
        Some(&user.token),
        json!({}),
    )
    .await
}

/// Starts, answers every question right and submits: a pass.
pub async fn pass_exam(app: &TestApp, user: &User, vendor: &str, exam: &str) -> Value {
    let started = start(app, user, vendor, exam, json!({}))
        .await
        .expect(201)
        .json();
    let all: Vec<String> = question_ids(app, &started).await;
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    answer_all(app, user, &started, &refs).await;
    submit(app, user, started["id"].as_str().unwrap())
        .await
        .expect(200)
        .json()
}

/// Starts, answers everything wrong and submits: a fail.
pub async fn fail_exam(app: &TestApp, user: &User, vendor: &str, exam: &str) -> Value {
    let started = start(app, user, vendor, exam, json!({}))
        .await
        .expect(201)
        .json();
    answer_all(app, user, &started, &[]).await;
    submit(app, user, started["id"].as_str().unwrap())
        .await
        .expect(200)
        .json()
}

/// Rows in a table, counted through the application's own pool.
pub async fn count_rows(app: &TestApp, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let sql = sql.to_string();
    app.state
        .db(move |conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query(sql)
                .get_result::<Count>(conn)
                .map(|c| c.n)
                .map_err(credo::db::DbError::from)
        })
        .await
        .unwrap()
}

/// Signs in again (sessions last hours; tests move the clock by days).
pub async fn relogin(app: &TestApp, user: User) -> User {
    User {
        token: app.login(&user.email).await,
        ..user
    }
}
