//! Exam integrity through the HTTP API and the pages: a bank written the usual way (right choice first, no
//! choice ids) cannot be passed by rules that ignore the questions, because the client only ever sees
//! per-attempt handles for questions and choices, in a shuffled order; and nothing else the client receives
//! (JSON shape, markup, order, save responses, the result before review) tells right from wrong.

use std::collections::{BTreeSet, HashSet};

use crate::common::exams as ex;
use crate::common::{TestApp, User};
use serde_json::{json, Value};

/// Enough questions that chance stays far from the rules' bounds: a key-blind rule scores 25 % on
/// average, and reaches 45 % in about 1 run of 100,000 (with forty questions, 1 of 200).
pub(crate) const QUESTIONS: usize = 100;

/// `QUESTIONS` four-choice questions, the right choice first and no choice ids (so the bank's ids are `a`–`d`).
pub(crate) fn right_first_bank() -> String {
    right_first_bank_with("integrity", false)
}

fn right_first_bank_with(slug: &str, allow_review: bool) -> String {
    let mut text = format!(
        r#"[exam]
slug = "{slug}"
allow_review = {allow_review}
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
questions_per_form = {QUESTIONS}
"#
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

    // The same question and choice have other handles in another attempt.
    let handles_of = |started: &Value, handle: &str| -> HashSet<String> {
        let question = started["questions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["id"] == handle)
            .unwrap();
        choices(question).iter().map(id).collect()
    };
    let (first, second) = (
        shown[0]["id"].as_str().unwrap(),
        shown[1]["id"].as_str().unwrap(),
    );
    for n in 1..=QUESTIONS {
        let qid = format!("q{n}");
        let first_handle = ex::question_handle(&app, first, &qid).await;
        let second_handle = ex::question_handle(&app, second, &qid).await;
        assert_ne!(first_handle, qid, "a question's bank id reached the client");
        assert_ne!(
            first_handle, second_handle,
            "{qid} has one handle in two attempts"
        );
        let first_choices = handles_of(&shown[0], &first_handle);
        let second_choices = handles_of(&shown[1], &second_handle);
        assert!(
            first_choices.is_disjoint(&second_choices),
            "{qid}: {first_choices:?} and {second_choices:?} share a handle"
        );
    }
    app.stop().await;
}

/// The markup or JSON with the given texts replaced by `T` and every word made of hex digits only (handles,
/// numbers, positions) by `#`: what is left is the structure the client could compare.
fn shape(text: &str, texts: &[String]) -> String {
    let mut text = text.to_string();
    // Longest first, so "Wrong answer 1 one" is not cut by "Wrong answer 1".
    let mut texts = texts.to_vec();
    texts.sort_by_key(|t| std::cmp::Reverse(t.len()));
    for t in &texts {
        text = text.replace(t.as_str(), "T");
    }
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if !word.is_empty() && word.chars().all(|c| c.is_ascii_hexdigit()) {
            out.push('#');
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Whether a choice text of [`right_first_bank`] is the right one.
fn is_right(text: &str) -> bool {
    text.starts_with("Right answer")
}

fn all_texts() -> Vec<String> {
    (1..=QUESTIONS)
        .flat_map(|n| {
            [
                format!("Question number {n}?"),
                format!("Right answer {n}"),
                format!("Wrong answer {n} one"),
                format!("Wrong answer {n} two"),
                format!("Wrong answer {n} three"),
            ]
        })
        .collect()
}

async fn start_integrity(app: &TestApp, user: &User, exam: &str) -> Value {
    ex::start(app, user, "acme", exam, json!({}))
        .await
        .expect(201)
        .json()
}

#[actix_web::test]
async fn right_and_wrong_choices_look_alike_in_json_markup_order_and_save_responses() {
    let app = ex::start_app().await;
    let vendor = ex::vendor_with_examiner(&app, "acme").await;
    ex::upload_toml(&app, &vendor.examiner.token, "acme", &right_first_bank())
        .await
        .expect(201);
    let pat = app.user("pat@example.org", "Pat").await;
    let started = start_integrity(&app, &pat, "integrity").await;
    let attempt = started["id"].as_str().unwrap().to_string();
    let questions = started["questions"].as_array().unwrap().clone();
    let texts = all_texts();

    // JSON: every choice, right or wrong, has the same shape once handles and texts are normalised.
    let mut right_shapes = BTreeSet::new();
    let mut wrong_shapes = BTreeSet::new();
    let mut right_positions = vec![0usize; 4];
    for question in &questions {
        assert_eq!(
            shape(&question.to_string(), &texts),
            shape(&questions[0].to_string(), &texts),
            "questions differ in shape"
        );
        for (position, choice) in choices(question).iter().enumerate() {
            let text = choice["text"].as_str().unwrap();
            let normalised = shape(&choice.to_string(), &texts);
            if is_right(text) {
                right_positions[position] += 1;
                right_shapes.insert(normalised);
            } else {
                wrong_shapes.insert(normalised);
            }
        }
    }
    assert_eq!(right_shapes.len(), 1, "{right_shapes:?}");
    assert_eq!(right_shapes, wrong_shapes);
    assert_eq!(
        right_shapes.iter().next().unwrap(),
        r##"{"id":"#","text":"T"}"##
    );

    // Order: the bank lists the right choice first; each attempt shuffles, so the right choice is found at
    // every position and first in far fewer than half of the questions (expected: a quarter).
    assert_eq!(right_positions.iter().sum::<usize>(), QUESTIONS);
    assert!(
        right_positions.iter().all(|&n| n > 0) && right_positions[0] < QUESTIONS * 5 / 8,
        "right choices by position: {right_positions:?}"
    );
    // Another attempt orders the choices differently.
    let eve = app.user("eve@example.org", "Eve").await;
    let other = start_integrity(&app, &eve, "integrity").await;
    let order = |started: &Value| -> Vec<Vec<String>> {
        let mut questions: Vec<Vec<String>> = started["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| {
                choices(q)
                    .iter()
                    .map(|c| c["text"].as_str().unwrap().to_string())
                    .collect()
            })
            .collect();
        questions.sort_by(|a, b| a.iter().min().cmp(&b.iter().min()));
        questions
    };
    let (mine, theirs) = (order(&started), order(&other));
    let same = mine.iter().zip(&theirs).filter(|(a, b)| a == b).count();
    assert!(
        same < QUESTIONS / 2,
        "{same} of {QUESTIONS} questions in the same order"
    );

    // Markup: the taking page's choices are identical for right and wrong choices once handles, positions
    // and texts are normalised (element ids, classes, names, values, attributes, nesting).
    let (client, _) = app.browser_session("pat@example.org").await;
    let page = client
        .get(app.url(&format!("/attempts/{attempt}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut right_markup = BTreeSet::new();
    let mut wrong_markup = BTreeSet::new();
    let mut labels = 0;
    for block in page.split("<label class=\"choice\"").skip(1) {
        let label = &block[..block.find("</label>").expect("a closed label")];
        let right = texts
            .iter()
            .any(|t| is_right(t) && label.contains(&format!(">{t}<")));
        let normalised = shape(label, &texts);
        if right {
            right_markup.insert(normalised);
        } else {
            wrong_markup.insert(normalised);
        }
        labels += 1;
    }
    assert_eq!(labels, QUESTIONS * 4);
    assert_eq!(right_markup.len(), 1, "{right_markup:#?}");
    assert_eq!(right_markup, wrong_markup);
    // The questions' sections, too, differ only by handles, numbers and texts.
    let sections: BTreeSet<String> = page
        .split("<section class=\"question\"")
        .skip(1)
        .map(|block| {
            let section = &block[..block.find("</section>").expect("a closed section")];
            let mut section = section.to_string();
            for label in section.clone().split("<label class=\"choice\"").skip(1) {
                let label = &label[..label.find("</label>").unwrap()];
                section = section.replace(label, "");
            }
            shape(&section, &texts)
        })
        .collect();
    assert_eq!(sections.len(), 1, "{sections:#?}");
    for word in ["correct", "key", "right", "wrong"] {
        assert!(
            !shape(&page, &texts).to_lowercase().contains(word),
            "`{word}` on the taking page"
        );
    }

    // Saving a right and a wrong answer: the same status, headers and bytes.
    let comparable = |answer: &crate::common::Answer| {
        let mut headers: Vec<(String, String)> = answer
            .headers
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
            .map(|(name, value)| {
                let value = value.to_str().unwrap_or("");
                // A fresh CSRF cookie per response: compare its name, size and attributes.
                let value = match value.split_once(';') {
                    Some((cookie, attributes)) if name == "set-cookie" => {
                        let (cookie_name, token) = cookie.split_once('=').unwrap_or((cookie, ""));
                        format!("{cookie_name}=<{} bytes>;{attributes}", token.len())
                    }
                    _ => value.to_string(),
                };
                (name.to_string(), value)
            })
            .collect();
        headers.sort();
        (answer.status, headers, answer.text.clone())
    };
    for question in questions.iter().take(10) {
        let qid = question["id"].as_str().unwrap();
        let (right, wrong): (Vec<&Value>, Vec<&Value>) = choices(question)
            .iter()
            .partition(|c| is_right(c["text"].as_str().unwrap()));
        let url = format!("/api/v1/attempts/{attempt}/answers/{qid}");
        let saved_right = app
            .put(&url, Some(&pat.token), json!({ "choices": [id(right[0])] }))
            .await
            .expect(204);
        let saved_wrong = app
            .put(&url, Some(&pat.token), json!({ "choices": [id(wrong[0])] }))
            .await
            .expect(204);
        assert_eq!(comparable(&saved_right), comparable(&saved_wrong));
        assert!(saved_right.text.is_empty());
    }
    // What the attempt shows back is the same for both: the handles saved.
    let view = app
        .get(&format!("/api/v1/attempts/{attempt}"), Some(&pat.token))
        .await
        .expect(200);
    assert!(!view.text.contains("correct") && !view.text.contains("review"));
    app.stop().await;
}

/// Answers half the questions right, half wrong, and submits.
async fn answer_half_and_submit(app: &TestApp, user: &User, started: &Value) {
    let attempt = started["id"].as_str().unwrap();
    for (n, question) in started["questions"].as_array().unwrap().iter().enumerate() {
        let qid = question["id"].as_str().unwrap();
        let pick = choices(question)
            .iter()
            .find(|c| is_right(c["text"].as_str().unwrap()) == (n % 2 == 0))
            .unwrap();
        app.put(
            &format!("/api/v1/attempts/{attempt}/answers/{qid}"),
            Some(&user.token),
            json!({ "choices": [id(pick)] }),
        )
        .await
        .expect(204);
    }
    ex::submit(app, user, attempt).await.expect(200);
}

#[actix_web::test]
async fn keys_appear_only_in_the_review_after_grading_and_only_when_allowed() {
    let app = ex::start_app().await;
    let vendor = ex::vendor_with_examiner(&app, "acme").await;
    for (slug, review) in [("closed", false), ("open-book", true)] {
        ex::upload_toml(
            &app,
            &vendor.examiner.token,
            "acme",
            &right_first_bank_with(slug, review),
        )
        .await
        .expect(201);
    }
    let pat = app.user("pat@example.org", "Pat").await;
    let (client, _) = app.browser_session("pat@example.org").await;
    let page = |path: String| {
        let client = client.clone();
        let url = app.url(&path);
        async move {
            let response = client.get(url).send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.text().await.unwrap()
        }
    };
    let no_key = |what: &str, text: &str| {
        for leak in [
            "Right answer",
            "Wrong answer",
            "correct answer",
            "\"correct\":true",
            "\"key\"",
            "review",
        ] {
            assert!(!text.contains(leak), "`{leak}` in {what}: {text}");
        }
    };

    // An exam without review: before and after grading, neither the API nor the result page shows a key.
    let started = start_integrity(&app, &pat, "closed").await;
    let attempt = started["id"].as_str().unwrap().to_string();
    answer_half_and_submit(&app, &pat, &started).await;
    let graded = app
        .get(&format!("/api/v1/attempts/{attempt}"), Some(&pat.token))
        .await
        .expect(200);
    no_key("the graded attempt", &graded.text);
    assert_eq!(graded.json()["result"]["score_percent"], json!(50.0));
    let result = page(format!("/attempts/{attempt}/result")).await;
    let half = format!("{} of {QUESTIONS}", QUESTIONS / 2);
    assert!(result.contains(&half), "{result}");
    no_key("the result page", &result);

    // An exam with review: nothing while open; after grading the review shows the key for the first time.
    let started = start_integrity(&app, &pat, "open-book").await;
    let attempt = started["id"].as_str().unwrap().to_string();
    let open = app
        .get(&format!("/api/v1/attempts/{attempt}"), Some(&pat.token))
        .await
        .expect(200);
    assert!(!open.text.contains("correct") && !open.text.contains("\"review\""));
    answer_half_and_submit(&app, &pat, &started).await;
    let graded = app
        .get(&format!("/api/v1/attempts/{attempt}"), Some(&pat.token))
        .await
        .expect(200)
        .json();
    let review = graded["review"].as_array().unwrap();
    assert_eq!(review.len(), QUESTIONS);
    for question in review {
        let keys: Vec<&Value> = choices(question)
            .iter()
            .filter(|c| c["correct"] == true)
            .collect();
        assert_eq!(keys.len(), 1);
        assert!(is_right(keys[0]["text"].as_str().unwrap()));
    }
    let result = page(format!("/attempts/{attempt}/result")).await;
    assert!(result.contains("correct answer"), "{result}");
    app.stop().await;
}
