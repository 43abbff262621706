//! Exam integrity through the HTTP API: a bank written the usual way (right choice first, no choice ids)
//! cannot be passed by rules that ignore the questions, because the client only ever sees per-attempt
//! handles for the choices, in a shuffled order.

use std::collections::HashSet;

use crate::common::exams as ex;
use serde_json::{json, Value};

const QUESTIONS: usize = 40;

/// Forty four-choice questions, the right choice first and no choice ids (so the bank's ids are `a`–`d`).
fn right_first_bank() -> String {
    let mut text = String::from(
        r#"[exam]
slug = "integrity"
title = "Integrity exam"
version = "2026.1"
duration_minutes = 60
pass_percent = 70
validity_months = 12

[exam.price]
amount_minor = 0
currency = "EUR"

[[domains]]
id = "all"
title = "Everything"
questions_per_form = 40
"#,
    );
    for n in 1..=QUESTIONS {
        text.push_str(&format!(
            r#"
[[questions]]
id = "q{n}"
domain = "all"
type = "single"
stem = "Question number {n}?"
choices = [
  {{ text = "Right answer {n}", correct = true }},
  {{ text = "Wrong answer {n} one" }},
  {{ text = "Wrong answer {n} two" }},
  {{ text = "Wrong answer {n} three" }},
]
"#
        ));
    }
    text
}

fn choices(question: &Value) -> &Vec<Value> {
    question["choices"].as_array().expect("choices")
}

fn id(choice: &Value) -> String {
    choice["id"].as_str().expect("choice id").to_string()
}

/// Key-blind answering rules, each reading only the attempt JSON.
fn pick(rule: usize, question: &Value) -> String {
    let choices = choices(question);
    match rule {
        0 => choices.iter().map(id).min().unwrap(),
        1 => id(&choices[0]),
        2 => "a".to_string(),
        _ => choices
            .iter()
            .min_by_key(|choice| {
                let mut fields = choice.as_object().unwrap().clone();
                fields.remove("text");
                serde_json::to_string(&fields).unwrap()
            })
            .map(id)
            .unwrap(),
    }
}

#[actix_web::test]
async fn key_blind_rules_score_near_chance_and_handles_differ_between_attempts() {
    let app = ex::start_app().await;
    let vendor = ex::vendor_with_examiner(&app, "acme").await;
    ex::upload_toml(&app, &vendor.examiner.token, "acme", &right_first_bank())
        .await
        .expect(201);

    let mut scores = Vec::new();
    let mut shown: Vec<Value> = Vec::new();
    for rule in 0..4 {
        let user = app
            .user(&format!("candidate{rule}@example.org"), "Candidate")
            .await;
        let started = ex::start(&app, &user, "acme", "integrity", json!({}))
            .await
            .expect(201)
            .json();
        let attempt = started["id"].as_str().unwrap().to_string();
        let questions = started["questions"].as_array().unwrap().clone();
        assert_eq!(questions.len(), QUESTIONS);
        for question in &questions {
            let handles: Vec<String> = choices(question).iter().map(id).collect();
            for bank_id in ["a", "b", "c", "d"] {
                assert!(
                    !handles.iter().any(|h| h == bank_id),
                    "a bank id reached the client: {handles:?}"
                );
            }
            let qid = question["id"].as_str().unwrap();
            let answer = app
                .put(
                    &format!("/api/v1/attempts/{attempt}/answers/{qid}"),
                    Some(&user.token),
                    json!({ "choices": [pick(rule, question)] }),
                )
                .await;
            // A guessed bank id is no handle: refused, so the question stays unanswered.
            assert_eq!(answer.status, if rule == 2 { 422 } else { 204 });
        }
        let result = ex::submit(&app, &user, &attempt).await.expect(200).json();
        let score = result["score_percent"].as_f64().unwrap();
        assert!(score < 45.0, "rule {rule} scored {score} %");
        scores.push(score);
        shown.push(started);
    }
    let mean = scores.iter().sum::<f64>() / scores.len() as f64;
    assert!(mean < 35.0, "mean {mean} % of {scores:?}");

    // The same choice has another handle in another attempt.
    let handles_of = |started: &Value, qid: &str| -> HashSet<String> {
        let question = started["questions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["id"] == qid)
            .unwrap();
        choices(question).iter().map(id).collect()
    };
    for n in 1..=QUESTIONS {
        let qid = format!("q{n}");
        let first = handles_of(&shown[0], &qid);
        let second = handles_of(&shown[1], &qid);
        assert!(
            first.is_disjoint(&second),
            "{qid}: {first:?} and {second:?} share a handle"
        );
    }
    app.stop().await;
}
