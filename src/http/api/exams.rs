//! Exams API: bank uploads, the public catalog, vouchers, manual orders, revenue, attempts (start, answer,
//! submit, read) and item statistics. Handlers parse, authorize, run one `exams::service` use case in a
//! transaction and answer its result.

use actix_web::http::header;
use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::accounts::{Principal, VendorRole};
use crate::app::AppState;
use crate::exams::service::{
    self, BankSource, GradedBy, ManualOrderInput, MarkPaidInput, VoucherInput,
};
use crate::http::auth::{actor, operators_only, user_actor, Caller, CurrentUser};
use crate::http::download;
use crate::http::extract::{
    optional_json, query_flag, read_body, refuse_control_chars, whole_number, Json, BANK_LIMIT,
};
use crate::http::openapi::{
    Conflict, Invalid, JsonBody, NotFound, PaymentRequired, SignedIn, TooLarge, TooMany,
    UnsupportedType,
};
use crate::http::problem::ApiError;
use crate::usecases::{self, start_for, vendor_for};

crate::http::openapi::routes!("exams":
    upload_bank,
    preview_version,
    publish_version,
    unpublish_version,
    retire_version,
    export_qti,
    catalog,
    exam_details,
    start_attempt,
    save_answer,
    flag_question,
    submit_attempt,
    get_attempt,
    my_attempts,
    create_vouchers,
    vouchers_csv,
    statistics,
    revenue,
    create_order,
    mark_order_paid,
);

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
struct BankQuery {
    /// GIFT and QTI uploads: the exam the questions belong to.
    exam: Option<String>,
    /// The file name used in messages (default `bank.toml` / `bank.gift`).
    filename: Option<String>,
    /// `false`: keep the new version as a draft (staff preview it, then publish it). The API
    /// publishes by default, as it did before versions had states.
    #[param(value_type = Option<bool>)]
    publish: Option<String>,
}

/// What the upload's `Content-Type` says the body is.
enum UploadFormat {
    Toml,
    Gift,
    /// A QTI zip package or XML file, told apart by its bytes.
    Qti,
}

fn upload_format(req: &HttpRequest) -> Result<UploadFormat, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut parts = content_type.split(';').map(str::trim);
    let mime = parts.next().unwrap_or("");
    let gift_param = parts.any(|p| p.replace(' ', "") == "format=gift");
    match mime {
        "application/toml" | "text/toml" | "text/x-toml" => Ok(UploadFormat::Toml),
        "text/plain" if gift_param => Ok(UploadFormat::Gift),
        "application/zip" | "application/x-zip-compressed" | "application/xml" | "text/xml" => {
            Ok(UploadFormat::Qti)
        }
        _ => Err(ApiError::UnsupportedMediaType(
            "send a TOML bank as `Content-Type: application/toml`, Moodle GIFT as `Content-Type: text/plain; format=gift`, or QTI as `application/zip` (package) or `application/xml` (item or test), the last two with `?exam=<slug>`".into(),
        )),
    }
}

/// A file name fit for messages: the last path segment, printable, at most 120 characters.
fn display_name(name: Option<&str>, default: &str) -> String {
    let name = name
        .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n))
        .map(|n| {
            n.chars()
                .filter(|c| !c.is_control())
                .take(120)
                .collect::<String>()
        })
        .filter(|n| !n.trim().is_empty());
    name.unwrap_or_else(|| default.to_owned())
}

/// Import a bank file (TOML, Moodle GIFT, or QTI 3.0/2.x/1.2)
///
/// A new exam, a new immutable version, or nothing when the content equals the current version
/// (200, `created: false`). Examiners, owners, the vendor's API key. GIFT and QTI need `?exam=<slug>`.
/// A 422 names every problem: `field` is `line:N`, the message reads `file:line: question ID: message`.
#[utoipa::path(
    operation_id = "publishBankVersion",
    params(BankQuery),
    request_body(description = "The bank file", content(
        (String = "application/toml"),
        (String = "text/plain; format=gift"),
        ("application/zip"),
        (String = "application/xml")
    )),
    responses(
        (status = 201, description = "A new version", body = service::ImportOutcome),
        (status = 200, description = "Unchanged: the content equals the current version", body = service::ImportOutcome),
        SignedIn, NotFound, TooLarge, UnsupportedType, Invalid
    ),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/vendors/{vendor}/banks")]
async fn upload_bank(
    state: web::Data<AppState>,
    req: HttpRequest,
    Caller(principal): Caller,
    path: web::Path<String>,
    query: web::Query<BankQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let mut payload = payload.into_inner();
    let format = upload_format(&req)?;
    let actor = actor(&req, &principal);
    let vendor = vendor_for(&state, principal, path.into_inner(), VendorRole::Examiner).await?;
    let body = read_body(&mut payload, BANK_LIMIT).await?;
    let utf8 = || {
        let text = String::from_utf8(body.to_vec()).map_err(|_| {
            ApiError::validation("body", "the bank file is not UTF-8 text; save it as UTF-8")
        })?;
        refuse_control_chars("body", &text)?;
        Ok::<_, ApiError>(text)
    };
    let query = query.into_inner();
    let publish = query_flag("publish", query.publish.as_deref(), true)?;
    let now = state.clock.now();
    let outcome = match format {
        UploadFormat::Qti => {
            if !crate::exams::looks_like_qti(&body) {
                return Err(ApiError::validation(
                    "body",
                    "the body is neither a zip package nor XML; send the QTI package (.zip) or an item/test XML file",
                ));
            }
            let exam = query.exam.unwrap_or_default();
            let name = display_name(query.filename.as_deref(), "qti");
            state
                .tx(move |conn| {
                    service::import_bank(
                        conn,
                        &vendor,
                        &BankSource::Qti {
                            name: &name,
                            bytes: &body,
                            exam_slug: exam.trim(),
                        },
                        publish,
                        &actor,
                        now,
                    )
                })
                .await?
        }
        UploadFormat::Toml => {
            let text = utf8()?;
            let name = display_name(query.filename.as_deref(), "bank.toml");
            state
                .tx(move |conn| {
                    service::import_bank(
                        conn,
                        &vendor,
                        &BankSource::Toml {
                            name: &name,
                            text: &text,
                        },
                        publish,
                        &actor,
                        now,
                    )
                })
                .await?
        }
        UploadFormat::Gift => {
            let text = utf8()?;
            let exam = query.exam.unwrap_or_default();
            let name = display_name(query.filename.as_deref(), "bank.gift");
            state
                .tx(move |conn| {
                    service::import_bank(
                        conn,
                        &vendor,
                        &BankSource::Gift {
                            name: &name,
                            text: &text,
                            exam_slug: exam.trim(),
                        },
                        publish,
                        &actor,
                        now,
                    )
                })
                .await?
        }
    };
    Ok(if outcome.created {
        HttpResponse::Created().json(outcome)
    } else {
        HttpResponse::Ok().json(outcome)
    })
}

/// Publish a version (draft or retired)
///
/// It enters the catalog and candidates take it; the version published before is retired.
/// Examiners, owners, the vendor's API key.
#[utoipa::path(
    operation_id = "publishExamVersion",
    responses((status = 200, description = "The version's state", body = service::VersionState), SignedIn, NotFound, Conflict, Invalid),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/vendors/{vendor}/exams/{exam}/versions/{version}/publish")]
async fn publish_version(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    change_version_state(
        &state,
        &req,
        caller,
        path.into_inner(),
        service::VersionChange::Publish,
    )
    .await
}

/// Unpublish the published version
///
/// It becomes a draft and the exam leaves the catalog until a version is published.
#[utoipa::path(
    operation_id = "unpublishExamVersion",
    responses((status = 200, description = "The version's state", body = service::VersionState), SignedIn, NotFound, Conflict, Invalid),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/vendors/{vendor}/exams/{exam}/versions/{version}/unpublish")]
async fn unpublish_version(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let change = service::VersionChange::Unpublish;
    change_version_state(&state, &req, caller, path.into_inner(), change).await
}

/// Retire a version
///
/// Kept for its attempts, offered to nobody (unpublished if it was published).
#[utoipa::path(
    operation_id = "retireExamVersion",
    responses((status = 200, description = "The version's state", body = service::VersionState), SignedIn, NotFound, Conflict, Invalid),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/vendors/{vendor}/exams/{exam}/versions/{version}/retire")]
async fn retire_version(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    change_version_state(
        &state,
        &req,
        caller,
        path.into_inner(),
        service::VersionChange::Retire,
    )
    .await
}

/// An examiner (or the vendor's API key) changes a version's state, audited.
async fn change_version_state(
    state: &AppState,
    req: &HttpRequest,
    Caller(principal): Caller,
    (vendor, exam, version): (String, String, String),
    change: service::VersionChange,
) -> Result<HttpResponse, ApiError> {
    let number = version_number(&version)?;
    let actor = actor(req, &principal);
    let (vendor, exam) = vendor_exam(state, principal, vendor, exam, VendorRole::Examiner).await?;
    let now = state.clock.now();
    let answer = state
        .tx(move |conn| {
            service::set_version_state(conn, &vendor, &exam, number, change, &actor, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// A version number in a path.
fn version_number(text: &str) -> Result<i32, ApiError> {
    whole_number("version", Some(text))?
        .ok_or_else(|| ApiError::validation("version", "give a version number such as 1 or 2"))
}

/// Preview a version as a candidate would
///
/// A staff member (examiner or owner; a person, not an API key) takes any version, drafts
/// included: free, outside the retake policy; the attempt never issues a credential and never
/// enters results or statistics. Answer as for starting an attempt, with `preview: true`.
#[utoipa::path(
    operation_id = "previewExamVersion",
    responses((status = 201, description = "The preview attempt", body = service::StartedAttempt), SignedIn, NotFound, Conflict, Invalid),
    extensions(("x-credo-not-audited" = json!("a staff member's own preview attempt (no credential, no statistics; kept in attempts with preview = true)")))
)]
#[post("/api/v1/vendors/{vendor}/exams/{exam}/versions/{version}/preview")]
async fn preview_version(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (vendor, exam, version) = path.into_inner();
    let number = version_number(&version)?;
    let user_id = user.id.clone();
    let (vendor, exam) = vendor_exam(
        &state,
        Principal::User(user),
        vendor,
        exam,
        VendorRole::Examiner,
    )
    .await?;
    let now = state.clock.now();
    let started = state
        .tx(move |conn| service::start_preview(conn, &vendor, &exam, number, &user_id, now))
        .await?;
    Ok(HttpResponse::Created().json(started))
}

/// A version of the exam as a QTI 3.0 package
///
/// `{version}` is a number or `latest`. The package (imsmanifest.xml, test.xml with one section per
/// domain, items/<id>.xml) imports back to the identical bank. Owners, examiners, the vendor's API
/// key.
#[utoipa::path(
    responses(
        (status = 200, description = "The package, as a download", content(("application/zip"))),
        SignedIn, NotFound, Invalid
    )
)]
#[get("/api/v1/vendors/{vendor}/exams/{exam}/versions/{version}/qti")]
async fn export_qti(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (vendor, exam, version) = path.into_inner();
    let version = match version.as_str() {
        "latest" => None,
        number => Some(whole_number("version", Some(number))?.ok_or_else(|| {
            ApiError::validation("version", "give a version number such as 1, or `latest`")
        })?),
    };
    let (_, exam) = vendor_exam(&state, principal, vendor, exam, VendorRole::Examiner).await?;
    let (file_name, bytes) = state
        .db(move |conn| service::export_qti(conn, &exam, version))
        .await?;
    Ok(download("application/zip", &file_name, bytes))
}

/// Public exam catalog
#[utoipa::path(responses((status = 200, description = "The published exams", body = Vec<service::CatalogEntry>)), security())]
#[get("/api/v1/exams")]
async fn catalog(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let entries = state.db(service::catalog).await?;
    Ok(HttpResponse::Ok().json(entries))
}

/// Exam details: price, duration, domains, pass mark, retake policy
#[utoipa::path(responses((status = 200, description = "The exam", body = service::ExamDetails), NotFound), security())]
#[get("/api/v1/exams/{vendor}/{exam}")]
async fn exam_details(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (vendor, exam) = path.into_inner();
    let details = state
        .db(move |conn| service::exam_details(conn, &vendor, &exam))
        .await?;
    Ok(HttpResponse::Ok().json(details))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StartAttempt)]
struct StartInput {
    /// A voucher code: the entitlement for this attempt.
    #[serde(default)]
    voucher: Option<String>,
}

/// Start an attempt (a person's session)
///
/// Needs an entitlement: a free exam, the voucher given, or a paid unused order (402 without). The
/// form is drawn from the latest version's blueprint; no answer keys are sent. 409 while another
/// attempt at the exam is open; 429 with `retry_after` and `next_attempt_at` under the retake
/// policy. The body is optional.
#[utoipa::path(
    request_body(content = Option<StartInput>, description = "Optional: a voucher"),
    responses(
        (status = 201, description = "Started", body = service::StartedAttempt),
        SignedIn, JsonBody, PaymentRequired, NotFound, Conflict, TooMany
    ),
    extensions(("x-credo-not-audited" = json!("a candidate's own attempt (kept in attempts)")))
)]
#[post("/api/v1/exams/{vendor}/{exam}/attempts")]
async fn start_attempt(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let input: StartInput = optional_json(&req, &mut payload.into_inner()).await?;
    let (vendor, exam) = path.into_inner();
    let started = start_for(&state, user.id, vendor, exam, input.voucher).await?;
    Ok(HttpResponse::Created().json(started))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Answer)]
struct AnswerInput {
    /// The chosen choices' ids; empty clears the answer.
    choices: Vec<String>,
}

/// Save one answer (replaces the previous one); an empty list clears it
///
/// 409 once the attempt is submitted or past its deadline.
#[utoipa::path(
    request_body = AnswerInput,
    responses((status = 204, description = "Saved"), SignedIn, NotFound, JsonBody, Conflict),
    extensions(("x-credo-not-audited" = json!("a candidate's own answer (kept in the attempt)")))
)]
#[put("/api/v1/attempts/{id}/answers/{question_id}")]
async fn save_answer(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
    Json(input): Json<AnswerInput>,
) -> Result<HttpResponse, ApiError> {
    let (attempt_id, question_id) = path.into_inner();
    let now = state.clock.now();
    // One statement (see `service::save_answers`).
    state
        .write(move |conn| {
            service::save_answer(
                conn,
                &user.id,
                &attempt_id,
                &question_id,
                &input.choices,
                now,
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Flag)]
struct FlagInput {
    flagged: bool,
}

/// Flag a question for review, or clear its flag
///
/// The candidate's note; grading never reads it.
#[utoipa::path(
    operation_id = "flagQuestion",
    request_body = FlagInput,
    responses((status = 204, description = "Saved"), SignedIn, NotFound, JsonBody, Conflict),
    extensions(("x-credo-not-audited" = json!("a candidate's own note on their attempt")))
)]
#[put("/api/v1/attempts/{id}/flags/{question_id}")]
async fn flag_question(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
    Json(input): Json<FlagInput>,
) -> Result<HttpResponse, ApiError> {
    let (attempt_id, question_id) = path.into_inner();
    let now = state.clock.now();
    state
        .tx(move |conn| {
            service::set_flags(
                conn,
                &user.id,
                &attempt_id,
                &[(question_id, input.flagged)],
                now,
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Submit and grade
///
/// Once: concurrent submits get the same stored result.
#[utoipa::path(
    responses((status = 200, description = "The score report", body = service::AttemptResult), SignedIn, NotFound, Conflict),
    extensions(("x-credo-not-audited" = json!("a candidate's own submission (kept in the attempt)")))
)]
#[post("/api/v1/attempts/{id}/submit")]
async fn submit_attempt(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let result = usecases::grade_attempt(
        &state,
        path.into_inner(),
        Some(user.id),
        GradedBy::Candidate,
    )
    .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// An attempt of the caller
///
/// Status, deadline, saved answers, questions while open, result and (if the exam allows review)
/// the review once graded.
#[utoipa::path(responses((status = 200, description = "The attempt", body = service::AttemptView), SignedIn, NotFound))]
#[get("/api/v1/attempts/{id}")]
async fn get_attempt(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let attempt_id = path.into_inner();
    let now = state.clock.now();
    let view = state
        .db(move |conn| service::attempt_view(conn, &user.id, &attempt_id, now))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(view))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = AttemptSummary)]
struct MyAttempt {
    id: String,
    /// `vendor/exam`.
    exam: String,
    title: String,
    status: String,
    #[schema(format = DateTime)]
    started_at: String,
    #[schema(format = DateTime)]
    deadline: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    score_percent: Option<serde_json::Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    passed: Option<bool>,
}

/// The caller's attempts, newest first
#[utoipa::path(responses((status = 200, description = "The attempts", body = Vec<MyAttempt>), SignedIn))]
#[get("/api/v1/me/attempts")]
async fn my_attempts(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, ApiError> {
    let attempts = state
        .db(move |conn| service::attempts_of_user(conn, &user.id))
        .await?;
    let list: Vec<MyAttempt> = attempts
        .into_iter()
        .map(|a| MyAttempt {
            id: a.id,
            exam: format!("{}/{}", a.vendor, a.exam_slug),
            title: a.exam_title,
            status: a.status.to_string(),
            started_at: crate::clock::rfc3339_seconds(a.started_at),
            deadline: crate::clock::rfc3339_seconds(a.deadline),
            score_percent: a
                .score_bp
                .map(|bp| crate::exams::percent_json_number(u32::try_from(bp).unwrap_or(0))),
            passed: a.passed,
        })
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

/// The vendor (authorized for `role`) and its exam named in the path.
async fn vendor_exam(
    state: &AppState,
    principal: Principal,
    vendor_slug: String,
    exam_slug: String,
    role: VendorRole,
) -> Result<(crate::accounts::Vendor, crate::exams::store::ExamRow), ApiError> {
    let vendor = vendor_for(state, principal, vendor_slug, role).await?;
    let vendor_id = vendor.id.clone();
    let exam = state
        .db(move |conn| service::vendor_exam(conn, &vendor_id, &exam_slug))
        .await?;
    Ok((vendor, exam))
}

/// Create a batch of single-use vouchers for the exam (examiners)
#[utoipa::path(
    operation_id = "issueVouchers",
    request_body = VoucherInput,
    responses((status = 201, description = "The batch", body = service::VoucherBatch), SignedIn, NotFound, JsonBody),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/vendors/{vendor}/exams/{exam}/vouchers")]
async fn create_vouchers(
    state: web::Data<AppState>,
    req: HttpRequest,
    Caller(principal): Caller,
    path: web::Path<(String, String)>,
    Json(input): Json<VoucherInput>,
) -> Result<HttpResponse, ApiError> {
    let (vendor, exam) = path.into_inner();
    let actor = actor(&req, &principal);
    let (_, exam) = vendor_exam(&state, principal, vendor, exam, VendorRole::Examiner).await?;
    let now = state.clock.now();
    let batch = state
        .tx(move |conn| service::create_vouchers(conn, &exam, &input, &actor, now))
        .await?;
    Ok(HttpResponse::Created().json(batch))
}

/// Every voucher of the exam as CSV (examiners)
///
/// Columns: code, batch_id, created_at, expires_at, status (available|redeemed|expired),
/// redeemed_at, redeemed_by.
#[utoipa::path(responses((status = 200, description = "The vouchers", content_type = "text/csv", body = String), SignedIn, NotFound))]
#[get("/api/v1/vendors/{vendor}/exams/{exam}/vouchers.csv")]
async fn vouchers_csv(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (vendor, exam) = path.into_inner();
    let (vendor, exam) = vendor_exam(&state, principal, vendor, exam, VendorRole::Examiner).await?;
    let now = state.clock.now();
    let filename = format!("vouchers-{}-{}.csv", vendor.slug, exam.slug);
    let csv = state
        .db(move |conn| service::vouchers_csv(conn, &exam, now))
        .await?;
    Ok(download("text/csv; charset=utf-8", &filename, csv))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
struct VersionQuery {
    /// The version (default: the current one).
    #[param(value_type = Option<i32>, minimum = 1)]
    version: Option<String>,
}

/// Item statistics of one version (examiners)
///
/// p, corrected point-biserial, flags, KR-20, SEM, score histogram.
#[utoipa::path(
    params(VersionQuery),
    responses((status = 200, description = "The statistics", body = service::StatisticsReport), SignedIn, NotFound, Invalid)
)]
#[get("/api/v1/vendors/{vendor}/exams/{exam}/statistics")]
async fn statistics(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<(String, String)>,
    query: web::Query<VersionQuery>,
) -> Result<HttpResponse, ApiError> {
    let version = whole_number("version", query.version.as_deref())?;
    let (vendor, exam) = path.into_inner();
    let (_, exam) = vendor_exam(&state, principal, vendor, exam, VendorRole::Examiner).await?;
    let min_attempts = state.config.stats_min_attempts;
    let report = state
        .db(move |conn| service::statistics(conn, &exam, version, min_attempts))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Paid orders per exam per month, summed per currency (owners and examiners)
#[utoipa::path(responses((status = 200, description = "The revenue", body = service::RevenueReport), SignedIn, NotFound))]
#[get("/api/v1/vendors/{vendor}/revenue")]
async fn revenue(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let vendor = vendor_for(&state, principal, path.into_inner(), VendorRole::Examiner).await?;
    let report = state
        .db(move |conn| service::revenue(conn, &vendor))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Record a manual order (invoice, bank transfer) for a person and an exam (operators)
///
/// A paid order not yet used by an attempt is an entitlement.
#[utoipa::path(
    operation_id = "createManualOrder",
    request_body = ManualOrderInput,
    responses((status = 201, description = "The order", body = service::OrderView), SignedIn, NotFound, JsonBody),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/orders")]
async fn create_order(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    Json(input): Json<ManualOrderInput>,
) -> Result<HttpResponse, ApiError> {
    operators_only(&user, "record manual orders")?;
    let now = state.clock.now();
    let actor = user_actor(&req, &user);
    let order = state
        .tx(move |conn| service::create_manual_order(conn, &input, &actor, now))
        .await?;
    Ok(HttpResponse::Created().json(order))
}

/// Mark a manual order paid (operators; idempotent)
#[utoipa::path(
    operation_id = "markOrderPaid",
    request_body(content = Option<MarkPaidInput>, description = "Optional: the payment's reference"),
    responses((status = 200, description = "The order", body = service::OrderView), SignedIn, NotFound, JsonBody, Conflict),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/orders/{id}/paid")]
async fn mark_order_paid(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    operators_only(&user, "record manual orders")?;
    let input: MarkPaidInput = optional_json(&req, &mut payload.into_inner()).await?;
    let order_id = path.into_inner();
    let now = state.clock.now();
    let actor = user_actor(&req, &user);
    let order = state
        .tx(move |conn| service::mark_order_paid(conn, &order_id, &input, &actor, now))
        .await?;
    Ok(HttpResponse::Ok().json(order))
}
