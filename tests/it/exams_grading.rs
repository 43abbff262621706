//! Grading internals through the library and the API: the pass hook runs in the grading transaction (its
//! credential id is stored with the result; its failure rolls the grading back), and item statistics from
//! real attempts equal hand-computed values.

use std::sync::{Arc, Mutex};

use crate::common::exams::{self as ex, BankSpec};
use credo::exams::service::{self, GradedBy};
use credo::exams::{ExamError, PassedExam};
use serde_json::json;

#[actix_web::test]
async fn a_pass_calls_the_hook_in_the_grading_transaction() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    ex::publish(&app, &v, &BankSpec::free("demo")).await;
    let pat = app.user("pat@example.org", "Pat").await;

    // A failing hook rolls everything back: still open, no items, no mail.
    let started = ex::start(&app, &pat, "acme", "demo", json!({}))
        .await
        .expect(201)
        .json();
    let attempt = started["id"].as_str().unwrap().to_string();
    let all: Vec<String> = ex::question_ids(&app, &started).await;
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    ex::answer_all(&app, &pat, &started, &refs).await;
    let (id, links, now) = (
        attempt.clone(),
        app.state.links.clone(),
        app.state.clock.now(),
    );
    let failed = app
        .state
        .tx(move |conn| {
            service::grade_attempt(
                conn,
                &id,
                None,
                GradedBy::Candidate,
                &links,
                &|_: &mut credo::db::DbConn, _: &PassedExam| {
                    Err(ExamError::Credential("signing key unavailable".into()))
                },
                now,
            )
        })
        .await;
    assert!(
        matches!(failed, Err(ExamError::Credential(_))),
        "{failed:?}"
    );
    let view = app
        .get(&format!("/api/v1/attempts/{attempt}"), Some(&pat.token))
        .await
        .json();
    assert_eq!(view["status"], "open");
    assert_eq!(
        ex::count_rows(&app, "SELECT COUNT(*) AS n FROM attempt_items").await,
        0
    );
    assert_eq!(
        ex::count_rows(
            &app,
            "SELECT COUNT(*) AS n FROM outbox WHERE subject LIKE 'Your result%'"
        )
        .await,
        0
    );

    // A working hook: called once with the pass, writes in the same transaction, its id is stored.
    let seen: Arc<Mutex<Vec<PassedExam>>> = Arc::default();
    let record = seen.clone();
    let (id, links, now) = (
        attempt.clone(),
        app.state.links.clone(),
        app.state.clock.now(),
    );
    let result = app
        .state
        .tx(move |conn| {
            let hook = move |conn: &mut credo::db::DbConn, passed: &PassedExam| {
                record.lock().unwrap().push(passed.clone());
                let mail = credo::mail::Email {
                    to: "hook@example.org".into(),
                    subject: "issued".into(),
                    text: "hook".into(),
                    attachments: vec![],
                    one_time_link: false,
                };
                credo::mail::enqueue(conn, &mail, passed.graded_at)?;
                Ok(Some("cred-0001".to_string()))
            };
            service::grade_attempt(conn, &id, None, GradedBy::Candidate, &links, &hook, now)
        })
        .await
        .unwrap();
    assert_eq!(result.credential_id.as_deref(), Some("cred-0001"));
    let calls = seen.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    let passed = &calls[0];
    assert_eq!(passed.attempt_id, attempt);
    assert_eq!(passed.user_id, pat.id);
    assert_eq!(passed.exam_slug, "demo");
    assert_eq!(passed.exam_title, "Demo exam demo");
    assert_eq!(passed.exam_description, "A *small* exam for tests.");
    assert_eq!(passed.pass_percent, 60);
    assert_eq!(passed.score_bp, 10_000);
    assert_eq!(passed.validity_months, 12);
    assert_eq!(passed.renewal_exam_slug, None);
    assert_eq!(
        ex::count_rows(
            &app,
            "SELECT COUNT(*) AS n FROM outbox WHERE to_address = 'hook@example.org'"
        )
        .await,
        1
    );

    // The credential id is part of the stored result, for every later reader.
    let submitted = ex::submit(&app, &pat, &attempt).await.expect(200).json();
    assert_eq!(submitted["credential_id"], "cred-0001");
    let view = app
        .get(&format!("/api/v1/attempts/{attempt}"), Some(&pat.token))
        .await
        .json();
    assert_eq!(view["result"]["credential_id"], "cred-0001");

    // A fail never calls the hook.
    let eve = app.user("eve@example.org", "Eve").await;
    let started = ex::start(&app, &eve, "acme", "demo", json!({}))
        .await
        .expect(201)
        .json();
    let (id, links, now) = (
        started["id"].as_str().unwrap().to_string(),
        app.state.links.clone(),
        app.state.clock.now(),
    );
    let result = app
        .state
        .tx(move |conn| {
            service::grade_attempt(
                conn,
                &id,
                None,
                GradedBy::Candidate,
                &links,
                &|_: &mut credo::db::DbConn, _: &PassedExam| panic!("the hook ran for a fail"),
                now,
            )
        })
        .await
        .unwrap();
    assert!(!result.passed);
    app.stop().await;
}

/// Population Pearson correlation, written out for the test.
fn pearson(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let cov: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum::<f64>().sqrt();
    let sy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum::<f64>().sqrt();
    cov / (sx * sy)
}

#[actix_web::test]
async fn statistics_of_real_attempts_match_hand_computation() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    // One domain of four single questions, all on every form.
    let mut bank = String::from(
        "[exam]\nslug = \"stats\"\ntitle = \"Stats\"\nversion = \"1\"\nduration_minutes = 10\npass_percent = 60\n\n[[domains]]\nid = \"all\"\ntitle = \"All\"\nquestions_per_form = 4\n\n",
    );
    for q in 1..=4 {
        bank.push_str(&format!(
            "[[questions]]\nid = \"q{q}\"\ndomain = \"all\"\ntype = \"single\"\nstem = \"Q{q}\"\nchoices = [{{ id = \"right\", text = \"R\", correct = true }}, {{ id = \"wrong\", text = \"W\" }}]\n\n"
        ));
    }
    ex::upload_toml(&app, &v.examiner.token, "acme", &bank)
        .await
        .expect(201);

    // Five candidates; rows are q1..q4 right (1) or wrong (0).
    let matrix = [
        [1, 1, 1, 1],
        [1, 1, 1, 0],
        [1, 1, 0, 0],
        [1, 0, 0, 1],
        [0, 0, 0, 0],
    ];
    for (i, row) in matrix.iter().enumerate() {
        let user = app.user(&format!("c{i}@example.org"), "Candidate").await;
        let started = ex::start(&app, &user, "acme", "stats", json!({}))
            .await
            .expect(201)
            .json();
        let attempt = started["id"].as_str().unwrap();
        for (q, right) in row.iter().enumerate() {
            let choice = if *right == 1 { "right" } else { "wrong" };
            ex::answer(&app, &user, attempt, &format!("q{}", q + 1), &[choice])
                .await
                .expect(204);
        }
        ex::submit(&app, &user, attempt).await.expect(200);
    }

    let path = "/api/v1/vendors/acme/exams/stats/statistics";
    let pat = app.user("pat@example.org", "Pat").await;
    app.get(path, Some(&pat.token)).await.expect(403);
    let other = ex::vendor_with_examiner(&app, "other").await;
    app.get(path, Some(&other.examiner.token)).await.expect(403);
    app.get(&format!("{path}?version=2"), Some(&v.examiner.token))
        .await
        .expect(404);
    app.get(&format!("{path}?version=x"), Some(&v.examiner.token))
        .await
        .expect(422);
    let stats = app
        .get(path, Some(&v.examiner.token))
        .await
        .expect(200)
        .json();
    assert_eq!(stats["version"], 1);
    assert_eq!(stats["attempts"], 5);
    let close = |value: &serde_json::Value, expected: f64| {
        let actual = value.as_f64().unwrap_or(f64::NAN);
        assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
    };
    // Scores 100, 75, 50, 50, 0 %: two passes at 60 %.
    close(&stats["pass_rate"], 0.4);
    assert_eq!(stats["histogram"], json!([1, 0, 0, 0, 0, 2, 0, 1, 0, 1]));
    // Totals 4,3,2,2,0: mean 2.2, population variance 1.76; Σpq = .16+.24+.24+.24 = .88;
    // KR-20 = 4/3 · (1 − .88/1.76) = 2/3; SEM = √1.76 · √(1/3).
    close(&stats["kr20"], 2.0 / 3.0);
    close(&stats["sem"], (1.76f64 / 3.0).sqrt());
    let items = stats["items"].as_array().unwrap();
    let totals: Vec<f64> = matrix
        .iter()
        .map(|r| r.iter().sum::<i32>() as f64)
        .collect();
    for (q, expected_p) in [0.8, 0.6, 0.4, 0.4].into_iter().enumerate() {
        let item = &items[q];
        assert_eq!(item["question_id"], format!("q{}", q + 1));
        assert_eq!(item["domain"], "all");
        assert_eq!(item["responses"], 5);
        close(&item["p"], expected_p);
        let x: Vec<f64> = matrix.iter().map(|r| r[q] as f64).collect();
        let rest: Vec<f64> = totals.iter().zip(&x).map(|(t, x)| t - x).collect();
        close(&item["r_pb"], pearson(&x, &rest));
    }
    // q4: x = 1,0,0,1,0 against rest 3,3,2,1,0 → r = 0.4/√8.16 ≈ 0.14: low discrimination.
    close(&items[3]["r_pb"], 0.4 / 8.16f64.sqrt());
    assert_eq!(items[3]["flags"], json!(["low_discrimination"]));
    assert_eq!(items[0]["flags"], json!([]));
    app.stop().await;
}
