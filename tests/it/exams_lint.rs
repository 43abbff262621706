//! Bank linting: `credo bank validate`, the upload API and the upload page warn (and still accept the bank)
//! when its text gives answers away, naming the question and its line; the shipped banks lint clean.

use crate::common::exams as ex;
use crate::exams_cli::{credo, manifest, stdout};
use crate::exams_pages::multipart;
use serde_json::Value;

/// A TOML bank with planted give-aways: in every single-answer question the right choice is the longest;
/// one stem asks for more choices than are correct; one choice is "All of the above".
fn planted_toml() -> String {
    let mut text = String::from(
        r#"[exam]
slug = "giveaways"
title = "Give-aways"
version = "1"
duration_minutes = 30
pass_percent = 70
validity_months = 0

[[domains]]
id = "all"
title = "All"
questions_per_form = 3
"#,
    );
    for n in 1..=5 {
        text.push_str(&format!(
            r#"
[[questions]]
id = "long-{n}"
domain = "all"
type = "single"
stem = "Which port does service {n} listen on?"
choices = [
  {{ text = "Port 80{n}, unless it is configured otherwise in the service's file", correct = true }},
  {{ text = "Port 22" }},
  {{ text = "Port 25" }},
]
"#
        ));
    }
    text.push_str(
        r#"
[[questions]]
id = "count"
domain = "all"
type = "multiple"
stem = "Which of these are prime numbers? (Choose three.)"
choices = [
  { text = "2", correct = true },
  { text = "3", correct = true },
  { text = "4" },
  { text = "9" },
]

[[questions]]
id = "above"
domain = "all"
type = "single"
stem = "Which of these are colours?"
choices = [
  { text = "Red" },
  { text = "Blue" },
  { text = "**All** of the above", correct = true },
]

[[questions]]
id = "fine"
domain = "all"
type = "multiple"
stem = "Which of these are even? (Choose two.)"
choices = [
  { text = "2", correct = true },
  { text = "4", correct = true },
  { text = "5" },
]
"#,
    );
    text
}

/// The line of the `[[questions]]` header of question `id`.
fn question_line(text: &str, id: &str) -> usize {
    let id_line = text
        .lines()
        .position(|line| line == format!("id = \"{id}\""))
        .unwrap_or_else(|| panic!("no question {id}"));
    assert_eq!(text.lines().nth(id_line - 1), Some("[[questions]]"));
    id_line
}

/// `(line, question, message part)` of every warning the planted TOML bank must get.
fn expected_toml_warnings(text: &str) -> Vec<(usize, &'static str, &'static str)> {
    let mut expected: Vec<(usize, &'static str, &'static str)> =
        ["long-1", "long-2", "long-3", "long-4", "long-5", "above"]
            .into_iter()
            .map(|id| {
                (
                    question_line(text, id),
                    id,
                    "the right choice is the longest, as in 6 of 6 single-answer questions",
                )
            })
            .collect();
    expected.push((
        question_line(text, "count"),
        "count",
        "the stem asks for 3 choice(s) but 2 are correct",
    ));
    expected.push((
        question_line(text, "above"),
        "above",
        "refers to the other choices (\"all of the above\")",
    ));
    expected
}

#[test]
fn validate_warns_about_each_give_away_with_question_and_line_and_accepts_the_bank() {
    let dir = tempfile::tempdir().unwrap();
    let text = planted_toml();
    let path = dir.path().join("giveaways.toml");
    std::fs::write(&path, &text).unwrap();
    let file = path.to_str().unwrap();
    let output = credo(dir.path(), &["bank", "validate", file], &[]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}");
    let warnings: Vec<&str> = out.lines().filter(|l| l.contains(": warning: ")).collect();
    let expected = expected_toml_warnings(&text);
    for (line, question, message) in &expected {
        let prefix = format!("{file}:{line}: question {question}: warning: ");
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with(&prefix) && w.contains(message)),
            "no `{prefix}…{message}…` in\n{out}"
        );
    }
    assert_eq!(warnings.len(), expected.len(), "{out}");
    assert!(!out.contains("question fine:"), "{out}");
    assert!(
        out.contains(&format!("{file}: ok: exam giveaways")) && out.contains("8 warning(s)"),
        "{out}"
    );
}

#[test]
fn the_shipped_banks_lint_clean() {
    let dir = tempfile::tempdir().unwrap();
    for bank in [
        "exam-banks/postgresql/postgresql-administration.toml",
        "exam-banks/git/git-fundamentals.toml",
    ] {
        let path = manifest(bank);
        let output = credo(
            dir.path(),
            &["bank", "validate", path.to_str().unwrap()],
            &[],
        );
        let out = stdout(&output);
        assert_eq!(output.status.code(), Some(0), "{out}");
        assert!(
            !out.contains(": warning: "),
            "{bank} gives answers away:\n{out}"
        );
        assert!(out.contains(", 0 warning(s)"), "{out}");
    }
}

/// A GIFT file with planted give-aways; the question lines are where each question starts.
const PLANTED_GIFT: &str = "// Give-aways in GIFT.
$CATEGORY: geography

::capital:: What is the capital of France? {
  =Paris
  ~Rome
  ~None of the above
}

::count:: Which are capitals? (Choose three.) {
  ~%50%Paris
  ~%50%Rome
  ~%0%Lyon
}

::fine:: Which river flows through Paris? {
  =The Seine
  ~The Rhine
  ~The Danube
}
";

fn warnings_of(imported: &Value) -> Vec<(u64, String, String)> {
    imported["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["line"].as_u64().unwrap(),
                w["question_id"].as_str().unwrap_or("-").to_string(),
                w["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn uploads_through_the_api_warn_for_toml_and_gift() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    let text = planted_toml();
    let imported = ex::upload_toml(&app, &v.examiner.token, "acme", &text)
        .await
        .expect(201)
        .json();
    assert_eq!(imported["created"], true, "warnings do not refuse the bank");
    let warnings = warnings_of(&imported);
    let expected = expected_toml_warnings(&text);
    for (line, question, message) in &expected {
        assert!(
            warnings
                .iter()
                .any(|(l, q, m)| *l == *line as u64 && q == question && m.contains(message)),
            "no warning {line} {question} {message} in {warnings:#?}"
        );
    }
    assert_eq!(warnings.len(), expected.len(), "{warnings:#?}");

    let imported = app
        .post_raw(
            "/api/v1/vendors/acme/banks?exam=geo&filename=giveaways.gift",
            Some(&v.examiner.token),
            "text/plain; format=gift",
            PLANTED_GIFT.as_bytes().to_vec(),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(imported["questions"], 3);
    let warnings = warnings_of(&imported);
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert_eq!(warnings[0].0, 4, "{warnings:#?}");
    assert_eq!(warnings[0].1, "capital");
    assert!(
        warnings[0].2.contains("\"none of the above\""),
        "{warnings:#?}"
    );
    assert_eq!(warnings[1].0, 10, "{warnings:#?}");
    assert_eq!(warnings[1].1, "count");
    assert!(
        warnings[1]
            .2
            .contains("asks for 3 choice(s) but 2 are correct"),
        "{warnings:#?}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn the_upload_page_lists_the_warnings_and_imports_the_bank() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    let (client, csrf) = app.browser_session(&v.examiner.email).await;
    let text = planted_toml();
    let (content_type, body) = multipart(
        &[("csrf_token", &csrf), ("format", "toml"), ("text", &text)],
        None,
    );
    let imported = client
        .post(app.url("/vendor/acme/exams/upload"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(imported.status(), 201);
    let page = imported.text().await.unwrap();
    assert!(page.contains("Import warnings"), "{page}");
    assert!(page.contains("8 warnings"), "{page}");
    let count = question_line(&text, "count");
    assert!(
        page.contains(&format!(
            "pasted.toml:{count}: question count: the stem asks for 3 choice(s) but 2 are correct"
        )),
        "{page}"
    );
    let above = question_line(&text, "above");
    assert!(
        page.contains(&format!("pasted.toml:{above}: question above: the choice")),
        "{page}"
    );
    app.stop().await;
}
