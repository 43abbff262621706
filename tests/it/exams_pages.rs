//! Exam pages through a cookie-keeping client, as a browser without JavaScript uses them: catalog, exam page
//! and start form (errors as friendly messages), the taking page (saved answers pre-checked, save and submit
//! by form post, the autosave API call with the CSRF header), the score report, the dashboard section, and
//! the vendor pages (bank upload with errors by line, vouchers, statistics).

use crate::common::exams::{self as ex, BankSpec};
use crate::common::TestApp;
use serde_json::json;

async fn get(client: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let response = client.get(app.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn post_form(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(app.url(path))
        .form(fields)
        .send()
        .await
        .unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[actix_web::test]
async fn from_the_catalog_to_the_score_report_without_javascript() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    ex::publish(&app, &v, &BankSpec::paid("demo", 4900)).await;
    let pat = app.user("pat@example.org", "Pat").await;

    // Anyone sees the catalog and the exam's page.
    let (status, catalog) = get(&app.client, &app, "/exams").await;
    assert_eq!(status, 200);
    assert!(
        catalog.contains("Demo exam demo") && catalog.contains("49.00 EUR"),
        "{catalog}"
    );
    let (status, detail) = get(&app.client, &app, "/exams/acme/demo").await;
    assert_eq!(status, 200);
    assert!(detail.contains("Sign in to take this exam"));
    assert!(
        detail.contains("<td>Basics</td><td class=\"num\">2</td>"),
        "{detail}"
    );
    assert!(detail.contains("No restrictions on retakes."));
    assert_eq!(get(&app.client, &app, "/exams/acme/nope").await.0, 404);

    // Signed in: the start form asks for a voucher; without one, a friendly 402 next to the field.
    let (client, csrf) = app.browser_session("pat@example.org").await;
    let (_, detail) = get(&client, &app, "/exams/acme/demo").await;
    assert!(detail.contains("<label for=\"voucher\">"));
    let refused = post_form(
        &client,
        &app,
        "/exams/acme/demo/start",
        &[("csrf_token", &csrf), ("voucher", "")],
    )
    .await;
    assert_eq!(refused.status(), 402);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("id=\"voucher-error\"") && page.contains("49.00 EUR"),
        "{page}"
    );
    assert!(page.contains("aria-invalid=\"true\""));
    let bad = post_form(
        &client,
        &app,
        "/exams/acme/demo/start",
        &[("csrf_token", &csrf), ("voucher", "ZZZZ-ZZZZ-ZZZZ")],
    )
    .await;
    assert_eq!(bad.status(), 402);
    assert!(bad
        .text()
        .await
        .unwrap()
        .contains("no voucher has this code"));

    let codes = app
        .post(
            "/api/v1/vendors/acme/exams/demo/vouchers",
            Some(&v.examiner.token),
            json!({"count": 1}),
        )
        .await
        .expect(201)
        .json();
    let code = codes["codes"][0].as_str().unwrap();
    let started = post_form(
        &client,
        &app,
        "/exams/acme/demo/start",
        &[("csrf_token", &csrf), ("voucher", code)],
    )
    .await;
    assert_eq!(started.status(), 303);
    let attempt_path = location(&started);
    assert!(attempt_path.starts_with("/attempts/"), "{attempt_path}");
    let attempt = attempt_path.trim_start_matches("/attempts/").to_string();

    // The exam page now offers to resume; starting again is a friendly 409.
    let (_, detail) = get(&client, &app, "/exams/acme/demo").await;
    assert!(detail.contains(&format!("href=\"/attempts/{attempt}\"")));

    // The taking page: questions with labelled choices, navigator, timer, CSRF meta; no answer keys.
    let (status, page) = get(&client, &app, &attempt_path).await;
    assert_eq!(status, 200);
    assert!(page.contains("<meta name=\"csrf-token\" content=\""));
    assert!(page.contains("class=\"navigator\""));
    assert!(
        page.contains("data-remaining=\"1800\"") || page.contains("data-remaining=\"1799\""),
        "timer"
    );
    // Fields are named by the attempt's question handles; `a1` (multiple) is on every form of this bank.
    let a1 = ex::question_handle(&app, &attempt, "a1").await;
    assert!(page.contains(&format!("type=\"checkbox\" name=\"q_{a1}\"")));
    for bank_id in ["a1", "a2", "b1", "b2", "b3"] {
        assert!(
            !page.contains(&format!("\"q_{bank_id}\""))
                && !page.contains(&format!("=\"{bank_id}\"")),
            "the bank id {bank_id} reached the taking page"
        );
    }
    assert!(page.contains("<label class=\"choice\" for=\"q-1-1\">"));
    for secret in ["SECRET", "correct", "explanation"] {
        assert!(
            !page.to_lowercase().contains(&secret.to_lowercase()),
            "{secret} on the taking page"
        );
    }
    // Which questions did this form draw?
    let view = app
        .get(&format!("/api/v1/attempts/{attempt}"), Some(&pat.token))
        .await
        .json();
    let ids = ex::question_ids(&app, &view).await;

    // Autosave path: the API with the session cookie needs the CSRF header.
    let first_handle = ex::question_handle(&app, &attempt, &ids[0]).await;
    let url = app.url(&format!(
        "/api/v1/attempts/{attempt}/answers/{first_handle}"
    ));
    let without = client
        .put(&url)
        .json(&json!({"choices": ex::handles(&app, &attempt, &ids[0], &ex::key(&ids[0])).await}))
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), 403);
    let with = client
        .put(&url)
        .header("X-CSRF-Token", &csrf)
        .json(&json!({"choices": ex::handles(&app, &attempt, &ids[0], &ex::key(&ids[0])).await}))
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 204);

    // Without JavaScript: the form saves every answer on the page; a reload shows them checked.
    let mut fields: Vec<(String, String)> = vec![
        ("csrf_token".into(), csrf.clone()),
        ("action".into(), "save".into()),
    ];
    for id in &ids {
        let handle = ex::question_handle(&app, &attempt, id).await;
        for choice in ex::handles(&app, &attempt, id, &ex::key(id)).await {
            fields.push((format!("q_{handle}"), choice.to_string()));
        }
    }
    let saved = client
        .post(app.url(&attempt_path))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    assert_eq!(location(&saved), format!("{attempt_path}?saved=1"));
    let (_, page) = get(&client, &app, &format!("{attempt_path}?saved=1")).await;
    assert!(page.contains("Your answers are saved."));
    for id in &ids {
        let handle = ex::question_handle(&app, &attempt, id).await;
        for choice in ex::handles(&app, &attempt, id, &ex::key(id)).await {
            assert!(
                page.contains(&format!("name=\"q_{handle}\" value=\"{choice}\" checked")),
                "{id}/{choice} not checked"
            );
        }
    }
    assert!(page.contains("4 of 4 answered"));

    // Someone else can't open it.
    app.user("eve@example.org", "Eve").await;
    let (eve, _) = app.browser_session("eve@example.org").await;
    assert_eq!(get(&eve, &app, &attempt_path).await.0, 404);
    assert_eq!(
        get(&eve, &app, &format!("{attempt_path}/result")).await.0,
        404
    );

    // Submit by form: the score report.
    let mut submit = fields.clone();
    submit[1] = ("action".into(), "submit".into());
    let submitted = client
        .post(app.url(&attempt_path))
        .form(&submit)
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), 303);
    assert_eq!(location(&submitted), format!("{attempt_path}/result"));
    let (status, report) = get(&client, &app, &format!("{attempt_path}/result")).await;
    assert_eq!(status, 200);
    assert!(
        report.contains("Passed") && report.contains("100&nbsp;%") && report.contains("60&nbsp;%"),
        "{report}"
    );
    assert!(
        report.contains("<td>Advanced</td><td class=\"num\">2 of 2</td>"),
        "{report}"
    );
    if ids.contains(&"b1".to_string()) {
        assert!(
            report.contains("SECRET-EXPLANATION"),
            "review shows explanations"
        );
    }
    // The taking page of a graded attempt goes to the report.
    let graded = client.get(app.url(&attempt_path)).send().await.unwrap();
    assert_eq!(graded.status(), 303);

    // The dashboard section lists it with its score, and the exams to take.
    let now = app.state.clock.now();
    let keys = app.state.session_keys.clone();
    let token = pat.token.clone();
    let user = app
        .state
        .db(move |conn| credo::accounts::authenticate_session(conn, &keys, &token, now))
        .await
        .unwrap();
    let section = credo::http::pages::exams::dashboard_section(&app.state, &user)
        .await
        .unwrap();
    assert!(section.starts_with("<section class=\"card\""), "{section}");
    assert!(section.contains(&format!("href=\"{attempt_path}/result\"")));
    assert!(section.contains("100&nbsp;%"));
    assert!(section.contains("href=\"/exams/acme/demo\""));
    app.stop().await;
}

#[actix_web::test]
async fn start_problems_and_the_deadline_show_as_pages() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    ex::publish(
        &app,
        &v,
        &BankSpec {
            duration_minutes: 5,
            cooldown_days: 7,
            ..BankSpec::free("demo")
        },
    )
    .await;
    let pat = app.user("pat@example.org", "Pat").await;
    let (client, csrf) = app.browser_session("pat@example.org").await;
    let started = post_form(
        &client,
        &app,
        "/exams/acme/demo/start",
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(started.status(), 303);
    let attempt_path = location(&started);
    let attempt = attempt_path.trim_start_matches("/attempts/").to_string();
    let again = post_form(
        &client,
        &app,
        "/exams/acme/demo/start",
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(again.status(), 409);
    let page = again.text().await.unwrap();
    assert!(
        page.contains("Resume your attempt") && page.contains(&attempt_path),
        "{page}"
    );
    // Without the CSRF token the form is refused.
    let forged = post_form(&client, &app, "/exams/acme/demo/start", &[]).await;
    assert_eq!(forged.status(), 403);

    // One answer saved, then the time runs out: a late form post saves nothing and grades what was saved.
    let view = app
        .get(
            &format!(
                "/api/v1/attempts/{}",
                attempt_path.trim_start_matches("/attempts/")
            ),
            Some(&pat.token),
        )
        .await
        .json();
    let shown = ex::question_ids(&app, &view).await;
    let (first, second) = (&shown[0], &shown[1]);
    let (first_handle, second_handle) = (
        ex::question_handle(&app, &attempt, first).await,
        ex::question_handle(&app, &attempt, second).await,
    );
    let mut fields = vec![
        ("csrf_token".to_string(), csrf.clone()),
        ("action".to_string(), "save".to_string()),
    ];
    for choice in ex::handles(&app, &attempt, first, &ex::key(first)).await {
        fields.push((format!("q_{first_handle}"), choice.to_string()));
    }
    let saved = client
        .post(app.url(&attempt_path))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    app.state.clock.advance(chrono::Duration::minutes(6));
    for choice in ex::handles(&app, &attempt, second, &ex::key(second)).await {
        fields.push((format!("q_{second_handle}"), choice.to_string()));
    }
    let late = client
        .post(app.url(&attempt_path))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 303);
    assert_eq!(location(&late), format!("{attempt_path}/result"));
    let (_, report) = get(&client, &app, &format!("{attempt_path}/result")).await;
    assert!(
        report.contains("25&nbsp;%"),
        "only the answer saved in time counts: {report}"
    );

    // The retake policy: a friendly 429 with the date.
    let blocked = post_form(
        &client,
        &app,
        "/exams/acme/demo/start",
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(blocked.status(), 429);
    let page = blocked.text().await.unwrap();
    assert!(
        page.contains("Not yet") && page.contains("You can start a new attempt from"),
        "{page}"
    );
    app.stop().await;
}

/// A `multipart/form-data` body as a browser sends the upload form.
pub(crate) fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str)>) -> (String, Vec<u8>) {
    let boundary = "----credo-test-boundary-7MA4YWxk";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    let (filename, content) = file.unwrap_or(("", ""));
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n{content}\r\n--{boundary}--\r\n"
    ));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

#[actix_web::test]
async fn vendor_pages_upload_banks_create_vouchers_and_show_statistics() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    ex::vendor_with_examiner(&app, "other").await;
    app.user("pat@example.org", "Pat").await;
    let (client, csrf) = app.browser_session(&v.examiner.email).await;

    let (status, page) = get(&client, &app, "/vendor/acme/exams").await;
    assert_eq!(status, 200);
    assert!(page.contains("enctype=\"multipart/form-data\""));

    // A bad file: every problem listed with its line next to the inputs.
    let bad = std::fs::read_to_string(format!(
        "{}/tests/fixtures/exams/bad/single_correct.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let (content_type, body) = multipart(
        &[
            ("csrf_token", &csrf),
            ("format", "toml"),
            ("exam", ""),
            ("text", ""),
        ],
        Some(("single_correct.toml", &bad)),
    );
    let refused = client
        .post(app.url("/vendor/acme/exams/upload"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("single_correct.toml, line 22</span> · question <code>q1</code>"),
        "{page}"
    );
    assert!(page.contains("line 33"));
    assert!(page.contains("aria-describedby=\"bank-errors\""));

    // Pasted text works too, and a wrong CSRF token is refused.
    let (content_type, body) = multipart(
        &[
            ("csrf_token", "forged"),
            ("format", "toml"),
            ("text", &BankSpec::free("demo").toml()),
        ],
        None,
    );
    let forged = client
        .post(app.url("/vendor/acme/exams/upload"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    // Not multipart: 415 saying what to send.
    let urlencoded = client
        .post(app.url("/vendor/acme/exams/upload"))
        .form(&[("csrf_token", csrf.as_str()), ("text", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(urlencoded.status(), 415);
    let page = urlencoded.text().await.unwrap();
    assert!(
        page.contains("send the upload form as multipart/form-data"),
        "{page}"
    );
    // Published at once (the box ticked); without it the version would be a draft.
    let (content_type, body) = multipart(
        &[
            ("csrf_token", &csrf),
            ("format", "toml"),
            ("text", &BankSpec::free("demo").toml()),
            ("publish", "on"),
        ],
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
    assert!(
        page.contains("Imported pasted.toml: version 1 with 5 questions."),
        "{page}"
    );
    assert!(page.contains("It is published: candidates take it from now on."));
    assert!(page.contains("data-label=\"Version\">1</td>"), "{page}");
    assert!(page.contains("data-label=\"Label\">2026.1<br>"), "{page}");
    assert!(page.contains("badge version-published"), "{page}");
    // The same file again: nothing changes. A GIFT file with skipped questions lists them as warnings.
    let (content_type, body) = multipart(
        &[
            ("csrf_token", &csrf),
            ("format", "toml"),
            ("text", &BankSpec::free("demo").toml()),
        ],
        None,
    );
    let again = client
        .post(app.url("/vendor/acme/exams/upload"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("is identical to version 1; nothing changed."));
    let gift = std::fs::read_to_string(format!(
        "{}/tests/fixtures/exams/gift/mixed.gift",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let (content_type, body) = multipart(
        &[
            ("csrf_token", &csrf),
            ("format", "gift"),
            ("exam", "geo"),
            ("text", ""),
        ],
        Some(("mixed.gift", &gift)),
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
    assert!(
        page.contains(
            "mixed.gift:26: question essay: skipped: unsupported question type &#34;essay&#34;"
        ),
        "{page}"
    );

    // Some results for the statistics.
    for i in 0..3 {
        let user = app.user(&format!("c{i}@example.org"), "Candidate").await;
        if i == 0 {
            ex::fail_exam(&app, &user, "acme", "demo").await;
        } else {
            ex::pass_exam(&app, &user, "acme", "demo").await;
        }
    }

    // Vouchers from the page: errors by field, then the new codes.
    let invalid = post_form(
        &client,
        &app,
        "/vendor/acme/exams/demo/vouchers",
        &[("csrf_token", &csrf), ("count", "0"), ("expires_at", "")],
    )
    .await;
    assert_eq!(invalid.status(), 422);
    assert!(invalid.text().await.unwrap().contains("id=\"count-error\""));
    let created = post_form(
        &client,
        &app,
        "/vendor/acme/exams/demo/vouchers",
        &[
            ("csrf_token", &csrf),
            ("count", "3"),
            ("expires_at", "2099-12-31"),
        ],
    )
    .await;
    assert_eq!(created.status(), 201);
    let page = created.text().await.unwrap();
    assert_eq!(page.matches("<li><code>").count(), 3, "{page}");
    assert!(page.contains("/api/v1/vendors/acme/exams/demo/vouchers.csv"));
    assert!(page.contains("31 Dec 2099, 23:59 UTC"));
    // The CSV link works with the page's session.
    let csv = client
        .get(app.url("/api/v1/vendors/acme/exams/demo/vouchers.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.text().await.unwrap().lines().count(), 4);

    let (_, page) = get(&client, &app, "/vendor/acme/exams/demo").await;
    assert!(page.contains("67 %"), "pass rate of 2 in 3: {page}");
    assert!(page.contains("candidate") || page.contains("Candidate"));

    // Statistics: a histogram chart and the item table with flags.
    let (status, page) = get(&client, &app, "/vendor/acme/exams/demo/statistics").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("<svg") && page.contains("role=\"img\""),
        "{page}"
    );
    assert!(page.contains("<code>b1</code>"));
    assert!(page.contains("Attempts by score"));
    assert_eq!(
        get(
            &client,
            &app,
            "/vendor/acme/exams/demo/statistics?version=9"
        )
        .await
        .0,
        404
    );

    // Others: a practitioner and another vendor's examiner are not allowed.
    let (pat, _) = app.browser_session("pat@example.org").await;
    assert_eq!(get(&pat, &app, "/vendor/acme/exams").await.0, 403);
    assert_eq!(
        get(&pat, &app, "/vendor/acme/exams/demo/statistics")
            .await
            .0,
        403
    );
    let (other, _) = app.browser_session("examiner@other.example.org").await;
    assert_eq!(get(&other, &app, "/vendor/acme/exams/demo").await.0, 403);
    // Signed out: to the sign-in page.
    let anonymous = app
        .client
        .get(app.url("/vendor/acme/exams"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303);
    app.stop().await;
}
