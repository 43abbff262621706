//! Exam integrity in a real headless Chromium: four candidates answer a hundred four-choice questions (the
//! bank lists the right choice first and gives no choice ids) by rules that read only the taking page's
//! form values — the smallest value, the first listed, the value `a`, the smallest input by all its
//! attributes — and submit with the page's own buttons (Review and submit, then Submit). Each scores below 45 % and their mean is below
//! 35 %; two candidates' pages name the same question and choice differently.

use std::collections::{HashMap, HashSet};

use crate::common::browser::{Browser, Viewport};
use crate::common::exams as ex;
use crate::common::PASSWORD;
use crate::exams_integrity::{right_first_bank, QUESTIONS};
use serde_json::{json, Value};

/// Every question on the taking page with its inputs' attributes, in page order.
const READ_FORM: &str = r#"return [...document.querySelectorAll('section.question')].map(section => ({
  question: section.dataset.question,
  inputs: [...section.querySelectorAll('input')].map(input => {
    const fields = {};
    for (const attribute of input.attributes) fields[attribute.name] = attribute.value;
    return fields;
  }),
}));"#;

/// Checks the inputs given as `{question handle: value}` (without saving: the form is submitted next).
const CHECK: &str = r#"const picks = arguments[0];
for (const section of document.querySelectorAll('section.question')) {
  const value = picks[section.dataset.question];
  if (value === undefined) continue;
  for (const input of section.querySelectorAll('input')) {
    if (input.value === value) input.checked = true;
  }
}"#;

/// The value a key-blind rule picks among a question's inputs, if any.
fn pick(rule: usize, inputs: &[Value]) -> Option<String> {
    let value = |input: &Value| input["value"].as_str().unwrap().to_string();
    match rule {
        0 => inputs.iter().map(value).min(),
        1 => inputs.first().map(value),
        2 => inputs.iter().map(value).find(|v| v == "a"),
        // An input has no text of its own: every attribute counts.
        _ => inputs
            .iter()
            .min_by_key(|input| input.to_string())
            .map(value),
    }
}

#[actix_web::test]
async fn key_blind_rules_on_the_taking_page_score_near_chance() {
    let app = ex::start_app().await;
    let vendor = ex::vendor_with_examiner(&app, "acme").await;
    ex::upload_toml(&app, &vendor.examiner.token, "acme", &right_first_bank())
        .await
        .expect(201);
    let browser = Browser::start(
        "key_blind_rules_on_the_taking_page_score_near_chance",
        Viewport::Desktop,
    )
    .await;

    let mut scores = Vec::new();
    // Per candidate: bank question id → the values its page showed.
    let mut shown: Vec<HashMap<String, HashSet<String>>> = Vec::new();
    for rule in 0..4 {
        let email = format!("candidate{rule}@example.org");
        let user = app.user(&email, "Candidate").await;
        let started = ex::start(&app, &user, "acme", "integrity", json!({}))
            .await
            .expect(201)
            .json();
        let attempt = started["id"].as_str().unwrap().to_string();
        browser.sign_in(&app.url(""), &email, PASSWORD).await;
        browser
            .visit(&app.url(&format!("/attempts/{attempt}")), "taking-page")
            .await;

        let form = browser.script(READ_FORM).await;
        let questions = form.as_array().unwrap();
        assert_eq!(questions.len(), QUESTIONS);
        let mut picks = serde_json::Map::new();
        let mut values = HashMap::new();
        for question in questions {
            let handle = question["question"].as_str().unwrap();
            let inputs = question["inputs"].as_array().unwrap();
            assert_eq!(inputs.len(), 4);
            for input in inputs {
                let value = input["value"].as_str().unwrap();
                assert!(
                    !["a", "b", "c", "d"].contains(&value),
                    "a bank id reached the page"
                );
                assert_eq!(input["name"], json!(format!("q_{handle}")));
            }
            if let Some(value) = pick(rule, inputs) {
                picks.insert(handle.to_string(), json!(value));
            }
            let bank_id = ex::question_id_of(&app, &attempt, handle).await;
            assert_ne!(handle, bank_id, "a question's bank id reached the page");
            values.insert(
                bank_id,
                inputs
                    .iter()
                    .map(|i| i["value"].as_str().unwrap().to_string())
                    .collect::<HashSet<String>>(),
            );
        }
        // The value `a` is no choice on the page: that candidate answers nothing.
        assert_eq!(picks.len(), if rule == 2 { 0 } else { QUESTIONS });
        browser
            .client
            .execute(CHECK, vec![Value::Object(picks)])
            .await
            .unwrap();
        // Review and submit saves the form; the summary's Submit grades it.
        browser.click("button[name=action][value=review]").await;
        browser.wait_css("#submit-form").await;
        browser
            .click_and_confirm("button[name=action][value=submit]")
            .await;
        browser.wait_css(".result-verdict").await;
        browser.shot("result").await;

        let graded = app
            .get(&format!("/api/v1/attempts/{attempt}"), Some(&user.token))
            .await
            .expect(200)
            .json();
        let score = graded["result"]["score_percent"].as_f64().unwrap();
        assert!(score < 45.0, "rule {rule} scored {score} %");
        scores.push(score);
        shown.push(values);
        browser.sign_out().await;
    }
    let mean = scores.iter().sum::<f64>() / scores.len() as f64;
    assert!(mean < 35.0, "mean {mean} % of {scores:?}");

    // Two candidates' pages name the same choices differently.
    for (question, first) in &shown[0] {
        let second = &shown[1][question];
        assert!(
            first.is_disjoint(second),
            "{question}: {first:?} and {second:?} share a value"
        );
    }
    browser.close().await;
    app.stop().await;
}
