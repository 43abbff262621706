//! The session cache and one-statement answer saves, through HTTP: a session this node checked
//! is believed without a database read, yet logout, disabling an account and staff changes made
//! on this node hold from the very next request; a change made elsewhere (another node, a direct
//! write) holds once the entry ages out (`CREDO_SESSION_CACHE_MS`). Saves stay correct.

use std::time::Duration;

use serde_json::json;

use crate::common::exams::{self as ex, BankSpec};
use crate::common::TestApp;

async fn me(app: &TestApp, token: &str) -> u16 {
    app.get("/api/v1/me", Some(token)).await.status.as_u16()
}

#[actix_web::test]
async fn revocations_on_this_node_hold_from_the_next_request() {
    let app = ex::start_app().await;
    let vendor = ex::vendor_with_examiner(&app, "acme").await;
    ex::publish(&app, &vendor, &BankSpec::free("cache")).await;
    let ada = app.user("ada@example.org", "Ada").await;
    let bob = app.user("bob@example.org", "Bob").await;
    // `vendor_with_examiner` made the operator who created the vendor.
    let operator = app.login("operator@credo.test").await;

    // Ada saves answers; her session is now cached.
    let started = ex::start(&app, &ada, "acme", "cache", json!({}))
        .await
        .expect(201)
        .json();
    let attempt = started["id"].as_str().unwrap().to_string();
    let questions = ex::question_ids(&app, &started).await;
    for _ in 0..2 {
        ex::answer(&app, &ada, &attempt, &questions[0], &ex::key(&questions[0]))
            .await
            .expect(204);
    }
    // Logout: the very next save with the old session is refused.
    app.post("/api/v1/auth/logout", Some(&ada.token), json!({}))
        .await
        .expect(204);
    ex::answer(&app, &ada, &attempt, &questions[1], &ex::key(&questions[1]))
        .await
        .expect(401);

    // Disabling an account ends its cached session at once.
    assert_eq!(me(&app, &bob.token).await, 200);
    assert_eq!(me(&app, &bob.token).await, 200);
    app.post(
        &format!("/api/v1/admin/accounts/{}/disable", bob.id),
        Some(&operator),
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(me(&app, &bob.token).await, 401);

    // Roles are part of the cached session: a new staff member may act at once, and a removed
    // one is signed out at once.
    let carol = app.user("carol@example.org", "Carol").await;
    app.get("/api/v1/vendors/acme/members", Some(&carol.token))
        .await
        .expect(403);
    app.add_member("acme", &vendor.owner, &carol, "owner").await;
    app.get("/api/v1/vendors/acme/members", Some(&carol.token))
        .await
        .expect(200);
    app.request(
        reqwest::Method::DELETE,
        &format!("/api/v1/vendors/acme/members/{}", carol.id),
        Some(&vendor.owner.token),
        None,
    )
    .await
    .expect(204);
    assert_eq!(me(&app, &carol.token).await, 401);
    app.stop().await;
}

#[actix_web::test]
async fn a_change_made_elsewhere_holds_once_the_cached_entry_ages_out() {
    let bound = Duration::from_millis(1500);
    let app = TestApp::builder()
        .env("CREDO_SESSION_CACHE_MS", &bound.as_millis().to_string())
        .start()
        .await;
    let ada = app.user("ada@example.org", "Ada").await;
    assert_eq!(me(&app, &ada.token).await, 200);
    // Another node (or `credo admin`) disables her: a write this node's store never saw.
    let id = ada.id.clone();
    app.state
        .db(move |conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query("UPDATE users SET disabled_at = updated_at WHERE id = $1")
                .bind::<diesel::sql_types::Text, _>(id)
                .execute(conn)
                .map_err(credo::db::DbError::from)
        })
        .await
        .unwrap();
    // Served from the cache (no database read) until the bound...
    assert_eq!(me(&app, &ada.token).await, 200);
    // ...and refused after it.
    tokio::time::sleep(bound + Duration::from_millis(100)).await;
    assert_eq!(me(&app, &ada.token).await, 401);
    app.stop().await;
}

#[actix_web::test]
async fn without_the_cache_every_request_reads_the_session() {
    let app = TestApp::builder()
        .env("CREDO_SESSION_CACHE_MS", "0")
        .start()
        .await;
    let ada = app.user("ada@example.org", "Ada").await;
    assert_eq!(me(&app, &ada.token).await, 200);
    let id = ada.id.clone();
    app.state
        .db(move |conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query("UPDATE sessions SET revoked_at = created_at WHERE user_id = $1")
                .bind::<diesel::sql_types::Text, _>(id)
                .execute(conn)
                .map_err(credo::db::DbError::from)
        })
        .await
        .unwrap();
    assert_eq!(me(&app, &ada.token).await, 401);
    app.stop().await;
}

#[actix_web::test]
async fn one_statement_saves_keep_the_last_answer_and_refuse_what_they_must() {
    let app = ex::start_app().await;
    let vendor = ex::vendor_with_examiner(&app, "acme").await;
    ex::publish(&app, &vendor, &BankSpec::free("saves")).await;
    let ada = app.user("ada@example.org", "Ada").await;
    let eve = app.user("eve@example.org", "Eve").await;
    let started = ex::start(&app, &ada, "acme", "saves", json!({}))
        .await
        .expect(201)
        .json();
    let attempt = started["id"].as_str().unwrap().to_string();
    let questions = ex::question_ids(&app, &started).await;
    let first = &questions[0];

    // Wrong first, then right: the last save counts, one row per question.
    ex::answer(&app, &ada, &attempt, first, &ex::wrong(first))
        .await
        .expect(204);
    ex::answer(&app, &ada, &attempt, first, &ex::key(first))
        .await
        .expect(204);
    let rows = ex::count_rows(
        &app,
        &format!("SELECT COUNT(*) AS n FROM attempt_answers WHERE attempt_id = '{attempt}'"),
    )
    .await;
    assert_eq!(rows, 1);
    // Someone else's attempt is not found; a choice of another question is refused.
    ex::answer(&app, &eve, &attempt, first, &ex::key(first))
        .await
        .expect(404);
    let other = ex::handles(&app, &attempt, &questions[1], &ex::key(&questions[1])).await;
    let handle = ex::question_handle(&app, &attempt, first).await;
    app.put(
        &format!("/api/v1/attempts/{attempt}/answers/{handle}"),
        Some(&ada.token),
        json!({ "choices": other }),
    )
    .await
    .expect(422);

    // Only the first question is right: the grade shows the last save of it was kept.
    let result = ex::submit(&app, &ada, &attempt).await.expect(200).json();
    let correct: u64 = result["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["correct"].as_u64().unwrap())
        .sum();
    assert_eq!(correct, 1, "{result}");
    // Submitted: saves are refused with the reason.
    let closed = ex::answer(&app, &ada, &attempt, first, &ex::wrong(first)).await;
    assert_eq!(closed.status, 409, "{}", closed.text);
    app.stop().await;
}
