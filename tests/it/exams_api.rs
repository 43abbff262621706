//! Exams through the HTTP API: bank uploads and versions, the catalog, attempts (answer keys never sent,
//! autosave, deadline, grading once), entitlements (vouchers, manual orders), the retake policy, revenue and
//! authorization.

use crate::common::eventually;
use crate::common::exams::{self as ex, BankSpec};
use serde_json::{json, Value};
use std::time::Duration;

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/exams/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[actix_web::test]
async fn bank_upload_makes_versions_only_for_changed_content() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    let spec = BankSpec::paid("demo", 4900);

    let first = ex::publish(&app, &v, &spec).await;
    assert_eq!(first["exam"], "demo");
    assert_eq!(first["vendor"], "acme");
    assert_eq!(first["version"], 1);
    assert_eq!(first["created"], true);
    assert_eq!(first["questions"], 5);
    assert_eq!(first["warnings"], json!([]));

    // The same content again (even reformatted) is a no-op answering the current version.
    let reformatted = spec
        .toml()
        .replace("pass_percent = 60", "pass_percent   =   60");
    let again = ex::upload_toml(&app, &v.examiner.token, "acme", &reformatted)
        .await
        .expect(200)
        .json();
    assert_eq!(again["version"], 1);
    assert_eq!(again["created"], false);

    // Changed content is version 2; the exam mirrors the latest metadata.
    let changed = BankSpec {
        pass_percent: 75,
        ..spec.clone()
    };
    let second = ex::publish(&app, &v, &changed).await;
    assert_eq!(second["version"], 2);
    let catalog = app.get("/api/v1/exams", None).await.expect(200).json();
    assert_eq!(
        catalog,
        json!([{
            "vendor": "acme",
            "slug": "demo",
            "title": "Demo exam demo",
            "version": 2,
            "duration_minutes": 30,
            "pass_percent": 75,
            "question_count": 4,
            "price": {"amount_minor": 4900, "currency": "EUR"},
            "validity_months": 12
        }])
    );
    let details = app
        .get("/api/v1/exams/acme/demo", None)
        .await
        .expect(200)
        .json();
    assert_eq!(details["pass_percent"], 75);
    assert_eq!(details["version"], 2);
    assert_eq!(details["description"], "A *small* exam for tests.");
    assert_eq!(
        details["domains"],
        json!([
            {"id": "basics", "title": "Basics", "questions": 2},
            {"id": "advanced", "title": "Advanced", "questions": 2}
        ])
    );
    assert_eq!(
        details["retake"],
        json!({"cooldown_days": 0, "max_attempts_per_year": 0, "wait_after_pass_days": 0})
    );
    app.get("/api/v1/exams/acme/nope", None).await.expect(404);
    app.get("/api/v1/exams/nobody/demo", None).await.expect(404);

    // Versions are never rewritten: version 1 still holds its own content.
    assert_eq!(
        ex::count_rows(&app, "SELECT COUNT(*) AS n FROM exam_versions").await,
        2
    );
    app.stop().await;
}

#[actix_web::test]
async fn the_real_banks_import_and_are_listed() {
    let app = ex::start_app().await;
    let pg = ex::vendor_with_examiner(&app, "postgresql").await;
    let git = ex::vendor_with_examiner(&app, "git").await;
    for (vendor, file) in [
        (&pg, "exam-banks/postgresql/postgresql-administration.toml"),
        (&git, "exam-banks/git/git-fundamentals.toml"),
    ] {
        let text =
            std::fs::read_to_string(format!("{}/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let imported = ex::upload_toml(&app, &vendor.examiner.token, &vendor.slug, &text)
            .await
            .expect(201)
            .json();
        assert!(imported["questions"].as_u64().unwrap() >= 60, "{imported}");
        assert!(imported["questions_per_form"].as_u64().unwrap() >= 30);
    }
    let catalog = app.get("/api/v1/exams", None).await.expect(200).json();
    let slugs: Vec<&str> = catalog
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["git-fundamentals", "postgresql-administration"]);
    app.stop().await;
}

#[actix_web::test]
async fn invalid_banks_are_refused_with_every_line_file_and_question() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    let answer = app
        .post_raw(
            "/api/v1/vendors/acme/banks?filename=single_correct.toml",
            Some(&v.examiner.token),
            "application/toml",
            fixture("bad/single_correct.toml").into_bytes(),
        )
        .await
        .expect(422);
    assert_eq!(
        answer.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    let body = answer.json();
    assert_eq!(
        body["errors"],
        json!([
            {"field": "line:22", "message": "single_correct.toml:22: question q1: `single` question has 2 correct choices; mark exactly one (or make it `multiple`)"},
            {"field": "line:33", "message": "single_correct.toml:33: question q2: `single` question has no correct choice; mark exactly one with `correct = true`"}
        ])
    );

    // Every bad fixture is refused, each error naming the file and its line.
    let dir = format!("{}/tests/fixtures/exams/bad", env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let answer = app
            .post_raw(
                &format!("/api/v1/vendors/acme/banks?filename={name}"),
                Some(&v.examiner.token),
                "application/toml",
                std::fs::read(&path).unwrap(),
            )
            .await
            .expect(422);
        let body = answer.json();
        let errors = body["errors"].as_array().unwrap();
        assert!(!errors.is_empty(), "{name}");
        for error in errors {
            let field = error["field"].as_str().unwrap();
            let line = field.strip_prefix("line:").expect("line:N field");
            assert!(
                error["message"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{name}:{line}: ")),
                "{name}: {error}"
            );
        }
    }
    // Nothing was stored.
    assert_eq!(
        ex::count_rows(&app, "SELECT COUNT(*) AS n FROM exams").await,
        0
    );
    app.stop().await;
}

#[actix_web::test]
async fn bank_uploads_check_type_size_and_who_asks() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    let other = ex::vendor_with_examiner(&app, "other").await;
    let practitioner = app.user("pat@example.org", "Pat").await;
    let text = BankSpec::free("demo").toml();

    app.post_raw(
        "/api/v1/vendors/acme/banks",
        Some(&v.examiner.token),
        "application/json",
        text.clone().into_bytes(),
    )
    .await
    .expect(415);
    ex::upload_toml(&app, &practitioner.token, "acme", &text)
        .await
        .expect(403);
    ex::upload_toml(&app, &other.examiner.token, "acme", &text)
        .await
        .expect(403);
    ex::upload_toml(&app, &v.examiner.token, "nobody", &text)
        .await
        .expect(404);
    app.post_raw(
        "/api/v1/vendors/acme/banks",
        None,
        "application/toml",
        text.clone().into_bytes(),
    )
    .await
    .expect(401);
    let huge = "#".repeat(5 * 1024 * 1024);
    ex::upload_toml(&app, &v.examiner.token, "acme", &huge)
        .await
        .expect(413);
    app.post_raw(
        "/api/v1/vendors/acme/banks",
        Some(&v.examiner.token),
        "application/toml",
        vec![0xff, 0xfe, 0x00],
    )
    .await
    .expect(422);
    // GIFT needs the exam it belongs to.
    let gift = app
        .post_raw(
            "/api/v1/vendors/acme/banks",
            Some(&v.examiner.token),
            "text/plain; format=gift",
            fixture("gift/mixed.gift").into_bytes(),
        )
        .await
        .expect(422);
    assert_eq!(gift.error_fields(), ["exam"]);
    // The vendor's API key may publish banks; the owner may too.
    let key = app.api_key("acme", &v.owner).await;
    ex::upload_toml(&app, &key, "acme", &text).await.expect(201);
    let other_key = app.api_key("other", &other.owner).await;
    ex::upload_toml(&app, &other_key, "acme", &text)
        .await
        .expect(403);
    app.stop().await;
}

#[actix_web::test]
async fn gift_file_mixing_types_imports_the_supported_and_lists_the_rest() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    let upload = |text: String| {
        let token = v.examiner.token.clone();
        let app = &app;
        async move {
            app.post_raw(
                "/api/v1/vendors/acme/banks?exam=geo-basics&filename=mixed.gift",
                Some(&token),
                "text/plain; format=gift",
                text.into_bytes(),
            )
            .await
        }
    };
    let imported = upload(fixture("gift/mixed.gift")).await.expect(201).json();
    assert_eq!(imported["exam"], "geo-basics");
    assert_eq!(imported["version"], 1);
    assert_eq!(imported["questions"], 10);
    let warnings: Vec<String> = imported["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            format!(
                "{} {} {}",
                w["line"],
                w["question_id"].as_str().unwrap_or("-"),
                w["message"].as_str().unwrap()
            )
        })
        .collect();
    for expected in [
        "26 essay skipped: unsupported question type \"essay\"",
        "28 q-007 skipped: unsupported question type \"matching\"",
        "30 pi skipped: unsupported question type \"numerical\"",
        "32 q-009 skipped: unsupported question type \"short answer\"",
        "36 q-011 skipped: unsupported question type \"description\"",
    ] {
        assert!(
            warnings.iter().any(|w| w == expected),
            "{expected} not in {warnings:#?}"
        );
    }
    // Defaults of a new exam created from GIFT.
    let details = app
        .get("/api/v1/exams/acme/geo-basics", None)
        .await
        .expect(200)
        .json();
    assert_eq!(details["title"], "Geo basics");
    assert_eq!(details["duration_minutes"], 60);
    assert_eq!(details["pass_percent"], 70);
    assert_eq!(
        details["price"],
        json!({"amount_minor": 0, "currency": "XXX"})
    );
    assert_eq!(details["question_count"], 10);

    // The same file again changes nothing.
    let again = upload(fixture("gift/mixed.gift")).await.expect(200).json();
    assert_eq!(again["created"], false);

    // Into an existing exam: its metadata stays, and the blueprint of domains it already has.
    let mut toml = String::from(
        "[exam]\nslug = \"geo-basics\"\ntitle = \"Geography Basics\"\nversion = \"2\"\nduration_minutes = 20\npass_percent = 50\n\n[[domains]]\nid = \"general\"\ntitle = \"General knowledge\"\nquestions_per_form = 1\n\n",
    );
    for (i, right) in ["Paris", "Rome"].iter().enumerate() {
        toml.push_str(&format!(
            "[[questions]]\nid = \"g{i}\"\ndomain = \"general\"\ntype = \"single\"\nstem = \"Capital {i}?\"\nchoices = [{{ text = \"{right}\", correct = true }}, {{ text = \"Oslo\" }}]\n\n"
        ));
    }
    ex::upload_toml(&app, &v.examiner.token, "acme", &toml)
        .await
        .expect(201);
    let third = upload(fixture("gift/mixed.gift")).await.expect(201).json();
    assert_eq!(third["version"], 3);
    let details = app
        .get("/api/v1/exams/acme/geo-basics", None)
        .await
        .expect(200)
        .json();
    assert_eq!(details["title"], "Geography Basics");
    assert_eq!(details["duration_minutes"], 20);
    assert_eq!(details["pass_percent"], 50);
    let domains = details["domains"].as_array().unwrap();
    assert_eq!(
        domains[0],
        json!({"id": "general", "title": "General knowledge", "questions": 1})
    );
    assert_eq!(domains[1]["id"], "geography-basics");
    assert_eq!(domains[1]["questions"], 5);
    app.stop().await;
}

/// No answer key, explanation or feedback anywhere in an answer of an open attempt (the word `correct` may
/// not appear at all: the test bank's texts avoid it).
fn assert_no_answer_key(raw: &str) {
    assert_no_review(raw);
    assert!(
        !raw.to_ascii_lowercase().contains("correct"),
        "`correct` leaked in {raw}"
    );
}

/// No per-choice key, explanation or feedback (a graded result may count `correct` questions per domain).
fn assert_no_review(raw: &str) {
    for secret in [
        "\"correct\":true",
        "\"correct\":false",
        "explanation",
        "feedback",
        "SECRET",
        "partial_credit",
        "references",
        "review",
    ] {
        assert!(
            !raw.to_ascii_lowercase()
                .contains(&secret.to_ascii_lowercase()),
            "`{secret}` leaked in {raw}"
        );
    }
}

#[actix_web::test]
async fn an_attempt_never_shows_answer_keys_and_grades_by_domain() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    ex::publish(&app, &v, &BankSpec::free("demo")).await;
    let pat = app.user("pat@example.org", "Pat").await;
    let eve = app.user("eve@example.org", "Eve").await;

    let started = ex::start(&app, &pat, "acme", "demo", json!({}))
        .await
        .expect(201);
    assert_no_answer_key(&started.text);
    let started = started.json();
    let attempt = started["id"].as_str().unwrap().to_string();
    let questions = started["questions"].as_array().unwrap();
    assert_eq!(questions.len(), 4);
    for q in questions {
        let keys: Vec<&String> = q.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["choices", "id", "stem", "type"]);
        for c in q["choices"].as_array().unwrap() {
            let keys: Vec<&String> = c.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["id", "text"]);
        }
    }
    assert!(started["deadline"].as_str().unwrap().ends_with('Z'));

    // The attempt while open: questions, no keys.
    let open = app
        .get(&format!("/api/v1/attempts/{attempt}"), Some(&pat.token))
        .await
        .expect(200);
    assert_no_answer_key(&open.text);
    let open = open.json();
    assert_eq!(open["status"], "open");
    assert_eq!(open["questions"], started["questions"]);

    // Answers: validated, saved one at a time, replaced.
    let ids = ex::question_ids(&app, &started).await;
    let first = &ids[0];
    let first_handle = ex::question_handle(&app, &attempt, first).await;
    ex::answer(&app, &pat, &attempt, first, &["nope"])
        .await
        .expect(422);
    ex::answer(&app, &pat, &attempt, "not-on-form", &["right"])
        .await
        .expect(404);
    ex::answer(&app, &eve, &attempt, first, &ex::key(first))
        .await
        .expect(404);
    let single = ids.iter().find(|id| *id != "a1" && *id != "b3");
    if let Some(single) = single {
        let too_many = ex::answer(&app, &pat, &attempt, single, &["right", "wrong"])
            .await
            .expect(422);
        assert_eq!(too_many.error_fields(), ["choices"]);
    }
    ex::answer(&app, &pat, &attempt, first, &ex::wrong(first))
        .await
        .expect(204);
    ex::answer(&app, &pat, &attempt, first, &ex::key(first))
        .await
        .expect(204);
    let saved = app
        .get(&format!("/api/v1/attempts/{attempt}"), Some(&pat.token))
        .await
        .json();
    assert_eq!(
        saved["answers"][&first_handle],
        json!(ex::handles(&app, &attempt, first, &ex::key(first)).await)
    );
    // Malformed bodies are 4xx, never 500.
    app.put(
        &format!("/api/v1/attempts/{attempt}/answers/{first_handle}"),
        Some(&pat.token),
        json!({"choices": "right"}),
    )
    .await
    .expect(422);

    // Others can't see or submit it.
    app.get(&format!("/api/v1/attempts/{attempt}"), Some(&eve.token))
        .await
        .expect(404);
    ex::submit(&app, &eve, &attempt).await.expect(404);
    app.get("/api/v1/attempts/nope", Some(&pat.token))
        .await
        .expect(404);

    // Everything right in basics, the first domain; advanced all wrong.
    let basics: Vec<&str> = ["b1", "b2", "b3"].to_vec();
    ex::answer_all(&app, &pat, &started, &basics).await;
    let result = ex::submit(&app, &pat, &attempt).await.expect(200).json();
    assert_eq!(result["passed"], false);
    assert_eq!(result["score_percent"], json!(50.0));
    assert_eq!(result["pass_percent"], 60);
    assert_eq!(
        result["domains"],
        json!([
            {"id": "basics", "title": "Basics", "correct": 2, "total": 2, "score_percent": 100.0},
            {"id": "advanced", "title": "Advanced", "correct": 0, "total": 2, "score_percent": 0.0}
        ])
    );
    assert!(result.get("credential_id").is_none());

    // After grading: the result, and (the exam allows review) explanations and keys.
    let graded = app
        .get(&format!("/api/v1/attempts/{attempt}"), Some(&pat.token))
        .await
        .expect(200)
        .json();
    assert_eq!(graded["status"], "graded");
    assert!(graded.get("questions").is_none());
    assert_eq!(graded["result"]["score_percent"], json!(50.0));
    let review = graded["review"].as_array().unwrap();
    assert_eq!(review.len(), 4);
    // Review names questions and choices by the attempt's handles, like everything else the client saw.
    let review_ids: Vec<&Value> = review.iter().map(|q| &q["id"]).collect();
    let shown_ids: Vec<&Value> = started["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| &q["id"])
        .collect();
    assert_eq!(review_ids, shown_ids);
    if ids.iter().any(|id| id == "b1") {
        let b1 = ex::question_handle(&app, &attempt, "b1").await;
        let b1 = review.iter().find(|q| q["id"] == b1.as_str()).unwrap();
        assert!(b1["explanation"]
            .as_str()
            .unwrap()
            .contains("SECRET-EXPLANATION"));
    }

    // Answers after submit are refused; a second submit answers the stored result.
    ex::answer(&app, &pat, &attempt, first, &ex::key(first))
        .await
        .expect(409);
    let again = ex::submit(&app, &pat, &attempt).await.expect(200).json();
    assert_eq!(again, result);

    // The result mail.
    let mail = app
        .smtp
        .wait_for("pat@example.org", |m| m.subject.contains("Your result"))
        .await;
    assert!(mail.text.contains("did not pass"), "{}", mail.text);
    assert!(mail.text.contains("50%"), "{}", mail.text);
    assert!(mail.text.contains(&format!("/attempts/{attempt}/result")));

    // The person's attempts.
    let mine = app
        .get("/api/v1/me/attempts", Some(&pat.token))
        .await
        .expect(200)
        .json();
    assert_eq!(mine[0]["id"], attempt.as_str());
    assert_eq!(mine[0]["status"], "graded");
    app.stop().await;
}

#[actix_web::test]
async fn without_review_the_score_report_has_no_explanations() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    ex::publish(
        &app,
        &v,
        &BankSpec {
            allow_review: false,
            ..BankSpec::free("demo")
        },
    )
    .await;
    let pat = app.user("pat@example.org", "Pat").await;
    let result = ex::pass_exam(&app, &pat, "acme", "demo").await;
    assert_eq!(result["passed"], true);
    assert_eq!(result["score_percent"], json!(100.0));
    let graded = app
        .get(
            &format!(
                "/api/v1/attempts/{}",
                result["attempt_id"].as_str().unwrap()
            ),
            Some(&pat.token),
        )
        .await
        .expect(200);
    assert!(graded.json().get("review").is_none());
    assert_no_review(&graded.text);
    app.stop().await;
}

#[actix_web::test]
async fn two_concurrent_submits_grade_once_and_agree() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    ex::publish(&app, &v, &BankSpec::free("demo")).await;
    for round in 0..3 {
        let pat = app.user(&format!("pat{round}@example.org"), "Pat").await;
        let started = ex::start(&app, &pat, "acme", "demo", json!({}))
            .await
            .expect(201)
            .json();
        let attempt = started["id"].as_str().unwrap().to_string();
        ex::answer_all(&app, &pat, &started, &["b1", "a1", "b3"]).await;
        let (a, b) = tokio::join!(
            ex::submit(&app, &pat, &attempt),
            ex::submit(&app, &pat, &attempt)
        );
        let (a, b) = (a.expect(200).json(), b.expect(200).json());
        assert_eq!(a, b);
        let items = ex::count_rows(
            &app,
            &format!("SELECT COUNT(*) AS n FROM attempt_items WHERE attempt_id = '{attempt}'"),
        )
        .await;
        assert_eq!(items, 4);
        let mails = ex::count_rows(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM outbox WHERE to_address = 'pat{round}@example.org' AND subject LIKE 'Your result%'"
            ),
        )
        .await;
        assert_eq!(mails, 1, "one grading, one result mail");
    }
    app.stop().await;
}

#[actix_web::test]
async fn the_deadline_is_enforced_and_the_job_grades_overdue_attempts() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    ex::publish(
        &app,
        &v,
        &BankSpec {
            duration_minutes: 10,
            ..BankSpec::free("demo")
        },
    )
    .await;
    let pat = app.user("pat@example.org", "Pat").await;
    let started = ex::start(&app, &pat, "acme", "demo", json!({}))
        .await
        .expect(201)
        .json();
    let attempt = started["id"].as_str().unwrap().to_string();
    let ids = ex::question_ids(&app, &started).await;
    // Two right answers saved before the deadline.
    for id in &ids[..2] {
        ex::answer(&app, &pat, &attempt, id, &ex::key(id))
            .await
            .expect(204);
    }
    // The late answer is prepared before the clock moves, so the deadline job has as little time as
    // possible to grade the attempt first.
    let late_question = ex::question_handle(&app, &attempt, &ids[2]).await;
    let late_choices = ex::handles(&app, &attempt, &ids[2], &ex::key(&ids[2])).await;
    app.state.clock.advance(chrono::Duration::minutes(11));
    let late = app
        .put(
            &format!("/api/v1/attempts/{attempt}/answers/{late_question}"),
            Some(&pat.token),
            json!({ "choices": late_choices }),
        )
        .await
        .expect(409);
    assert!(late.json()["detail"].as_str().unwrap().contains("ran out"));

    // The job grades it with the saved answers: 2 of 4.
    let graded = eventually("the deadline job", Duration::from_secs(10), || async {
        let view = app
            .get(&format!("/api/v1/attempts/{attempt}"), Some(&pat.token))
            .await
            .json();
        (view["status"] == "graded").then_some(view)
    })
    .await;
    assert_eq!(graded["result"]["score_percent"], json!(50.0));
    let by = ex::count_rows(
        &app,
        &format!(
            "SELECT COUNT(*) AS n FROM attempts WHERE id = '{attempt}' AND graded_by = 'deadline_job'"
        ),
    )
    .await;
    assert_eq!(by, 1);
    // A late submit answers the same stored result.
    let submitted = ex::submit(&app, &pat, &attempt).await.expect(200).json();
    assert_eq!(submitted, graded["result"]);
    app.stop().await;
}

#[actix_web::test]
async fn one_open_attempt_per_exam_even_under_races() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    ex::publish(&app, &v, &BankSpec::free("demo")).await;
    ex::publish(&app, &v, &BankSpec::free("other")).await;
    let pat = app.user("pat@example.org", "Pat").await;
    let first = ex::start(&app, &pat, "acme", "demo", json!({}))
        .await
        .expect(201)
        .json();
    let conflict = ex::start(&app, &pat, "acme", "demo", json!({}))
        .await
        .expect(409);
    assert!(conflict.json()["detail"]
        .as_str()
        .unwrap()
        .contains(first["id"].as_str().unwrap()));
    // Another exam is fine.
    ex::start(&app, &pat, "acme", "other", json!({}))
        .await
        .expect(201);

    // Concurrent starts of another person: exactly one wins.
    let eve = app.user("eve@example.org", "Eve").await;
    let (a, b) = tokio::join!(
        ex::start(&app, &eve, "acme", "demo", json!({})),
        ex::start(&app, &eve, "acme", "demo", json!({}))
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    app.stop().await;
}

#[actix_web::test]
async fn paid_exams_need_an_entitlement_and_vouchers_are_single_use() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    let other = ex::vendor_with_examiner(&app, "other").await;
    ex::publish(&app, &v, &BankSpec::paid("paid", 9900)).await;
    ex::publish(&app, &v, &BankSpec::paid("second", 5000)).await;
    let pat = app.user("pat@example.org", "Pat").await;
    let eve = app.user("eve@example.org", "Eve").await;

    let refused = ex::start(&app, &pat, "acme", "paid", json!({}))
        .await
        .expect(402);
    assert!(refused.json()["detail"]
        .as_str()
        .unwrap()
        .contains("99.00 EUR"));

    // Voucher batches: examiners of the vendor only, 1..=1000, future expiry.
    let path = "/api/v1/vendors/acme/exams/paid/vouchers";
    app.post(path, Some(&pat.token), json!({"count": 2}))
        .await
        .expect(403);
    app.post(path, Some(&other.examiner.token), json!({"count": 2}))
        .await
        .expect(403);
    let bad = app
        .post(
            path,
            Some(&v.examiner.token),
            json!({"count": 0, "expires_at": "yesterday"}),
        )
        .await
        .expect(422);
    assert_eq!(bad.error_fields(), ["count", "expires_at"]);
    app.post(path, Some(&v.examiner.token), json!({"count": 1001}))
        .await
        .expect(422);
    app.post(
        path,
        Some(&v.examiner.token),
        json!({"count": 1, "expires_at": "2001-01-01"}),
    )
    .await
    .expect(422);
    app.post(
        "/api/v1/vendors/acme/exams/nope/vouchers",
        Some(&v.examiner.token),
        json!({"count": 1}),
    )
    .await
    .expect(404);
    let batch = app
        .post(path, Some(&v.examiner.token), json!({"count": 3}))
        .await
        .expect(201)
        .json();
    let codes: Vec<String> = batch["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 3);
    let unique: std::collections::HashSet<&String> = codes.iter().collect();
    assert_eq!(unique.len(), 3);
    for code in &codes {
        assert!(
            code.len() == 14
                && code
                    .chars()
                    .all(|c| c == '-' || c.is_ascii_uppercase() || c.is_ascii_digit()),
            "{code}"
        );
    }

    // Redeeming (typed loosely) starts the attempt and records a paid order.
    let typed = codes[0].to_lowercase().replace('-', " ");
    ex::start(&app, &pat, "acme", "paid", json!({"voucher": typed}))
        .await
        .expect(201);
    // Single use.
    let used = ex::start(&app, &eve, "acme", "paid", json!({"voucher": codes[0]}))
        .await
        .expect(402);
    assert!(used.json()["detail"]
        .as_str()
        .unwrap()
        .contains("already been used"));
    // Bound to its exam.
    let wrong_exam = ex::start(&app, &eve, "acme", "second", json!({"voucher": codes[1]}))
        .await
        .expect(402);
    assert!(wrong_exam.json()["detail"]
        .as_str()
        .unwrap()
        .contains("another exam"));
    let unknown = ex::start(
        &app,
        &eve,
        "acme",
        "paid",
        json!({"voucher": "AAAA-BBBB-CCCC"}),
    )
    .await
    .expect(402);
    assert!(unknown.json()["detail"]
        .as_str()
        .unwrap()
        .contains("no voucher"));
    // Expiring.
    let expiring = app
        .post(
            "/api/v1/vendors/acme/exams/second/vouchers",
            Some(&v.examiner.token),
            json!({"count": 1, "expires_at": (app.state.clock.now() + chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string()}),
        )
        .await
        .expect(201)
        .json();
    app.state.clock.advance(chrono::Duration::days(2));
    // Sessions last hours: sign in again after moving the clock by days.
    let eve = ex::relogin(&app, eve).await;
    let pat = ex::relogin(&app, pat).await;
    let v = ex::ExamVendor {
        examiner: ex::relogin(&app, v.examiner).await,
        ..v
    };
    let expired = ex::start(
        &app,
        &eve,
        "acme",
        "second",
        json!({"voucher": expiring["codes"][0]}),
    )
    .await
    .expect(402);
    assert!(expired.json()["detail"]
        .as_str()
        .unwrap()
        .contains("expired"));
    // A failed redemption consumed nothing.
    ex::start(&app, &eve, "acme", "paid", json!({"voucher": codes[1]}))
        .await
        .expect(201);

    // CSV export for examiners.
    let csv_path = "/api/v1/vendors/acme/exams/paid/vouchers.csv";
    app.get(csv_path, Some(&pat.token)).await.expect(403);
    let csv = app.get(csv_path, Some(&v.examiner.token)).await.expect(200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(
        lines[0],
        "code,batch_id,created_at,expires_at,status,redeemed_at,redeemed_by"
    );
    assert_eq!(lines.len(), 4);
    let row = lines.iter().find(|l| l.starts_with(&codes[0])).unwrap();
    assert!(
        row.contains(",redeemed,") && row.ends_with("pat@example.org"),
        "{row}"
    );
    let row = lines.iter().find(|l| l.starts_with(&codes[2])).unwrap();
    assert!(row.contains(",available,"), "{row}");

    // Voucher orders are paid orders at the exam's price.
    assert_eq!(
        ex::count_rows(
            &app,
            "SELECT COUNT(*) AS n FROM orders WHERE provider = 'voucher' AND status = 'paid' AND amount_minor = 9900 AND attempt_id IS NOT NULL"
        )
        .await,
        2
    );
    app.stop().await;
}

#[actix_web::test]
async fn manual_orders_entitle_once_and_revenue_sums_by_month_and_currency() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    ex::publish(&app, &v, &BankSpec::paid("paid", 9900)).await;
    let pat = app.user("pat@example.org", "Pat").await;
    let operator = app.login("operator@credo.test").await;

    // Operators only; every field checked.
    let order = json!({"exam": "acme/paid", "email": "PAT@example.org", "amount_minor": 9000, "currency": "EUR", "reference": "INV-1"});
    app.post("/api/v1/orders", Some(&pat.token), order.clone())
        .await
        .expect(403);
    let invalid = app
        .post(
            "/api/v1/orders",
            Some(&operator),
            json!({"exam": "acme/none", "email": "ghost@example.org", "amount_minor": -1, "currency": "eur"}),
        )
        .await
        .expect(422);
    assert_eq!(
        invalid.error_fields(),
        ["exam", "email", "amount_minor", "currency"]
    );
    let created = app
        .post("/api/v1/orders", Some(&operator), order)
        .await
        .expect(201)
        .json();
    assert_eq!(created["status"], "pending");
    assert_eq!(created["provider"], "manual");
    assert_eq!(created["email"], "pat@example.org");
    assert_eq!(created["exam"], "acme/paid");
    let id = created["id"].as_str().unwrap();

    // Pending is no entitlement; paid is, once.
    ex::start(&app, &pat, "acme", "paid", json!({}))
        .await
        .expect(402);
    app.post(
        &format!("/api/v1/orders/{id}/paid"),
        Some(&pat.token),
        json!({}),
    )
    .await
    .expect(403);
    app.post("/api/v1/orders/nope/paid", Some(&operator), json!({}))
        .await
        .expect(404);
    let paid = app
        .post(
            &format!("/api/v1/orders/{id}/paid"),
            Some(&operator),
            json!({"reference": "BANK-77"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["reference"], "BANK-77");
    // Marking again is harmless.
    app.post(
        &format!("/api/v1/orders/{id}/paid"),
        Some(&operator),
        json!({}),
    )
    .await
    .expect(200);
    let started = ex::start(&app, &pat, "acme", "paid", json!({}))
        .await
        .expect(201)
        .json();
    ex::submit(&app, &pat, started["id"].as_str().unwrap())
        .await
        .expect(200);
    ex::start(&app, &pat, "acme", "paid", json!({}))
        .await
        .expect(402);

    // A second manual order in USD, paid at once, and a voucher order next month.
    app.post(
        "/api/v1/orders",
        Some(&operator),
        json!({"exam": "acme/paid", "email": "pat@example.org", "amount_minor": 10000, "currency": "USD", "paid": true}),
    )
    .await
    .expect(201);
    let month1 = app.state.clock.now().format("%Y-%m").to_string();
    app.state.clock.advance(chrono::Duration::days(32));
    let month2 = app.state.clock.now().format("%Y-%m").to_string();
    let pat = ex::relogin(&app, pat).await;
    let v = ex::ExamVendor {
        examiner: ex::relogin(&app, v.examiner).await,
        owner: ex::relogin(&app, v.owner).await,
        ..v
    };
    let eve = app.user("eve@example.org", "Eve").await;
    let batch = app
        .post(
            "/api/v1/vendors/acme/exams/paid/vouchers",
            Some(&v.examiner.token),
            json!({"count": 1}),
        )
        .await
        .expect(201)
        .json();
    ex::start(
        &app,
        &eve,
        "acme",
        "paid",
        json!({"voucher": batch["codes"][0]}),
    )
    .await
    .expect(201);

    let revenue_path = "/api/v1/vendors/acme/revenue";
    app.get(revenue_path, Some(&pat.token)).await.expect(403);
    let manager = app.user("pm@example.org", "PM").await;
    app.add_member("acme", &v.owner, &manager, "program_manager")
        .await;
    app.get(revenue_path, Some(&manager.token))
        .await
        .expect(403);
    let revenue = app
        .get(revenue_path, Some(&v.owner.token))
        .await
        .expect(200)
        .json();
    assert_eq!(
        revenue,
        json!({
            "vendor": "acme",
            "exams": [{
                "exam": "paid",
                "title": "Demo exam paid",
                "months": [
                    {"month": month1, "totals": [
                        {"currency": "EUR", "amount_minor": 9000, "orders": 1},
                        {"currency": "USD", "amount_minor": 10000, "orders": 1}
                    ]},
                    {"month": month2, "totals": [
                        {"currency": "EUR", "amount_minor": 9900, "orders": 1}
                    ]}
                ]
            }]
        })
    );
    let by_examiner = app
        .get(revenue_path, Some(&v.examiner.token))
        .await
        .expect(200)
        .json();
    assert_eq!(by_examiner, revenue);
    app.stop().await;
}

#[actix_web::test]
async fn the_retake_policy_answers_429_with_the_next_allowed_time() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    ex::publish(
        &app,
        &v,
        &BankSpec {
            cooldown_days: 14,
            max_attempts_per_year: 3,
            wait_after_pass_days: 30,
            ..BankSpec::free("demo")
        },
    )
    .await;
    let pat = app.user("pat@example.org", "Pat").await;
    let failed = ex::fail_exam(&app, &pat, "acme", "demo").await;
    assert_eq!(failed["passed"], false);

    let blocked = ex::start(&app, &pat, "acme", "demo", json!({}))
        .await
        .expect(429);
    let body = blocked.json();
    let retry = body["retry_after"].as_u64().unwrap();
    assert!((14 * 86400 - 60..=14 * 86400).contains(&retry), "{retry}");
    assert_eq!(blocked.header("retry-after"), Some(retry.to_string()));
    let next = chrono::NaiveDateTime::parse_from_str(
        body["next_attempt_at"].as_str().unwrap(),
        "%Y-%m-%dT%H:%M:%SZ",
    )
    .unwrap();
    let expected = app.state.clock.now() + chrono::Duration::days(14);
    assert!(
        (expected - next).num_seconds().abs() <= 60,
        "{next} vs {expected}"
    );
    assert!(body["detail"].as_str().unwrap().contains("14 day"));

    // After the cooldown: allowed; a second fail, another cooldown, then the yearly maximum.
    app.state.clock.advance(chrono::Duration::days(15));
    let pat = ex::relogin(&app, pat).await;
    ex::fail_exam(&app, &pat, "acme", "demo").await;
    app.state.clock.advance(chrono::Duration::days(15));
    let pat = ex::relogin(&app, pat).await;
    ex::fail_exam(&app, &pat, "acme", "demo").await;
    app.state.clock.advance(chrono::Duration::days(15));
    let pat = ex::relogin(&app, pat).await;
    let yearly = ex::start(&app, &pat, "acme", "demo", json!({}))
        .await
        .expect(429);
    assert!(yearly.json()["detail"]
        .as_str()
        .unwrap()
        .contains("3 attempts in any 12 months"));
    app.state.clock.advance(chrono::Duration::days(330));
    let pat = ex::relogin(&app, pat).await;

    // A pass, then the wait after a pass.
    let passed = ex::pass_exam(&app, &pat, "acme", "demo").await;
    assert_eq!(passed["passed"], true);
    let after_pass = ex::start(&app, &pat, "acme", "demo", json!({}))
        .await
        .expect(429);
    let body = after_pass.json();
    assert!(body["detail"].as_str().unwrap().contains("passed"));
    assert!(body["retry_after"].as_u64().unwrap() > 29 * 86400);
    app.stop().await;
}

#[actix_web::test]
async fn starting_needs_a_person_and_a_published_exam() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    ex::publish(&app, &v, &BankSpec::free("demo")).await;
    app.post("/api/v1/exams/acme/demo/attempts", None, json!({}))
        .await
        .expect(401);
    let key = app.api_key("acme", &v.owner).await;
    app.post("/api/v1/exams/acme/demo/attempts", Some(&key), json!({}))
        .await
        .expect(403);
    let pat = app.user("pat@example.org", "Pat").await;
    ex::start(&app, &pat, "acme", "missing", json!({}))
        .await
        .expect(404);
    ex::start(&app, &pat, "acme", "demo", json!({"coupon": "x"}))
        .await
        .expect(422);
    // No body at all is fine.
    let answer = app
        .post_raw(
            "/api/v1/exams/acme/demo/attempts",
            Some(&pat.token),
            "application/json",
            Vec::new(),
        )
        .await
        .expect(201);
    let started: Value = answer.json();
    assert!(started["id"].is_string());
    app.stop().await;
}

#[actix_web::test]
async fn attempts_keep_their_version_and_new_attempts_use_the_latest() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    let spec = BankSpec::free("demo");
    ex::publish(&app, &v, &spec).await;
    let pat = app.user("pat@example.org", "Pat").await;
    let eve = app.user("eve@example.org", "Eve").await;
    let old = ex::start(&app, &pat, "acme", "demo", json!({}))
        .await
        .expect(201)
        .json();
    let attempt = old["id"].as_str().unwrap().to_string();
    ex::answer_all(&app, &pat, &old, &["b1", "b2", "b3", "a1", "a2"]).await;

    // Version 2 rewords every stem.
    let v2 = BankSpec {
        stem_suffix: " (reworded)".into(),
        ..spec
    };
    assert_eq!(ex::publish(&app, &v, &v2).await["version"], 2);

    // The open attempt still shows and grades against version 1.
    let view = app
        .get(&format!("/api/v1/attempts/{attempt}"), Some(&pat.token))
        .await
        .expect(200)
        .json();
    assert_eq!(view["questions"], old["questions"]);
    let result = ex::submit(&app, &pat, &attempt).await.expect(200).json();
    assert_eq!(result["score_percent"], json!(100.0));
    let review = app
        .get(&format!("/api/v1/attempts/{attempt}"), Some(&pat.token))
        .await
        .json();
    assert!(!review.to_string().contains("reworded"));

    // A new attempt uses version 2.
    let new = ex::start(&app, &eve, "acme", "demo", json!({}))
        .await
        .expect(201)
        .json();
    assert!(new["questions"][0]["stem"]
        .as_str()
        .unwrap()
        .contains("(reworded)"));
    assert_eq!(
        ex::count_rows(
            &app,
            "SELECT COUNT(*) AS n FROM attempts a JOIN exam_versions v ON v.id = a.version_id WHERE v.number = 1"
        )
        .await,
        1
    );
    app.stop().await;
}
