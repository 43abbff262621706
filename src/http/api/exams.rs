//! Exams API: bank uploads, the public catalog, vouchers, manual orders, revenue, attempts (start, answer,
//! submit, read) and item statistics. Handlers parse, authorize, run one `exams::service` use case in a
//! transaction and answer its result.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::accounts::{Principal, VendorRole};
use crate::app::AppState;
use crate::db;
use crate::exams::service::{self, BankSource, ManualOrderInput, MarkPaidInput, VoucherInput};
use crate::http::api::accounts::vendor_for;
use crate::http::auth::{actor, user_actor, Caller, CurrentUser};
use crate::http::extract::{parse_json, read_body, refuse_control_chars, Json};
use crate::http::problem::ApiError;

/// Bank uploads may be this large (the shipped banks are under 100 kB).
pub const BANK_LIMIT: usize = 4 * 1024 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(upload_bank)
        // Before the `{change}` pattern, which would take `preview` too.
        .service(preview_version)
        .service(change_version_state)
        .service(export_qti)
        .service(catalog)
        .service(exam_details)
        .service(start_attempt)
        .service(save_answer)
        .service(flag_question)
        .service(submit_attempt)
        .service(get_attempt)
        .service(my_attempts)
        .service(create_vouchers)
        .service(vouchers_csv)
        .service(statistics)
        .service(revenue)
        .service(create_order)
        .service(mark_order_paid);
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BankQuery {
    /// GIFT and QTI uploads: the exam the questions belong to.
    exam: Option<String>,
    /// The file name used in messages (default `bank.toml` / `bank.gift`).
    filename: Option<String>,
    /// `false`: keep the new version as a draft (staff preview it, then publish it). The API
    /// publishes by default, as it did before versions had states.
    publish: Option<String>,
}

/// A flag in a query string: absent = `default`; `true`/`1`/`yes` or `false`/`0`/`no`.
fn query_flag(name: &str, value: Option<&str>, default: bool) -> Result<bool, ApiError> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") => Ok(default),
        Some("true" | "1" | "yes") => Ok(true),
        Some("false" | "0" | "no") => Ok(false),
        Some(_) => Err(ApiError::validation(name, "give true or false")),
    }
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

/// `POST /api/v1/vendors/{vendor}/banks`: imports a bank file (examiner or the vendor's API key).
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

/// `POST /api/v1/vendors/{vendor}/exams/{exam}/versions/{n}/{publish|unpublish|retire}`: an
/// examiner (or the vendor's API key) changes a version's state, audited.
#[post("/api/v1/vendors/{vendor}/exams/{exam}/versions/{version}/{change}")]
async fn change_version_state(
    state: web::Data<AppState>,
    req: HttpRequest,
    Caller(principal): Caller,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (vendor, exam, version, change) = path.into_inner();
    let change = match change.as_str() {
        "publish" => service::VersionChange::Publish,
        "unpublish" => service::VersionChange::Unpublish,
        "retire" => service::VersionChange::Retire,
        _ => return Err(ApiError::NotFound("no such version action".into())),
    };
    let number = version_number(&version)?;
    let actor = actor(&req, &principal);
    let (vendor, exam) = vendor_exam(&state, principal, vendor, exam, VendorRole::Examiner).await?;
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
    parse_version(Some(text))?
        .ok_or_else(|| ApiError::validation("version", "give a version number such as 1 or 2"))
}

/// `POST /api/v1/vendors/{vendor}/exams/{exam}/versions/{n}/preview`: a staff member (examiner)
/// takes the version as a candidate would; the attempt never issues a credential and never
/// enters results or statistics.
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

/// `GET /api/v1/vendors/{vendor}/exams/{exam}/versions/{n|latest}/qti`: the version as a QTI 3.0 package
/// (the vendor's owners and examiners, or its API key).
#[get("/api/v1/vendors/{vendor}/exams/{exam}/versions/{version}/qti")]
async fn export_qti(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (vendor, exam, version) = path.into_inner();
    let version = match version.as_str() {
        "latest" => None,
        number => Some(parse_version(Some(number))?.ok_or_else(|| {
            ApiError::validation("version", "give a version number such as 1, or `latest`")
        })?),
    };
    let (_, exam) = vendor_exam(&state, principal, vendor, exam, VendorRole::Examiner).await?;
    let (file_name, bytes) = state
        .db(move |conn| service::export_qti(conn, &exam, version))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(bytes))
}

#[get("/api/v1/exams")]
async fn catalog(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let entries = state.db(service::catalog).await?;
    Ok(HttpResponse::Ok().json(entries))
}

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

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StartInput {
    #[serde(default)]
    voucher: Option<String>,
}

/// An optional JSON body: empty means the default value.
async fn optional_json<T: serde::de::DeserializeOwned + Default>(
    req: &HttpRequest,
    payload: &mut Payload,
) -> Result<T, ApiError> {
    let body = read_body(payload, crate::http::extract::JSON_LIMIT).await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/json")
    {
        return Err(ApiError::UnsupportedMediaType(
            "send the body as JSON with `Content-Type: application/json`".into(),
        ));
    }
    parse_json(&body)
}

/// Starts an attempt for the signed-in person. An open attempt of theirs past its deadline is graded first
/// (its own transaction), so the refusal or start that follows sees it finished.
pub async fn start_for(
    state: &AppState,
    user_id: String,
    vendor: String,
    exam: String,
    voucher: Option<String>,
) -> Result<service::StartedAttempt, crate::exams::ExamError> {
    let now = state.clock.now();
    let links = state.links.clone();
    let hook = state.on_exam_passed();
    state
        .db(move |conn| {
            db::transaction(conn, |c| {
                service::close_overdue_attempt(c, &user_id, &vendor, &exam, &links, &hook, now)
            })?;
            db::transaction(conn, |c| {
                service::start_attempt(c, &user_id, &vendor, &exam, voucher.as_deref(), now)
            })
        })
        .await
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerInput {
    choices: Vec<String>,
}

#[put("/api/v1/attempts/{id}/answers/{question_id}")]
async fn save_answer(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
    Json(input): Json<AnswerInput>,
) -> Result<HttpResponse, ApiError> {
    let (attempt_id, question_id) = path.into_inner();
    let now = state.clock.now();
    // One statement, no transaction around it (see `service::save_answers`).
    state
        .db(move |conn| {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlagInput {
    flagged: bool,
}

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

#[post("/api/v1/attempts/{id}/submit")]
async fn submit_attempt(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let attempt_id = path.into_inner();
    let now = state.clock.now();
    let links = state.links.clone();
    let hook = state.on_exam_passed();
    let result = state
        .tx(move |conn| service::submit_attempt(conn, &user.id, &attempt_id, &links, &hook, now))
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

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

#[derive(serde::Serialize)]
struct MyAttempt {
    id: String,
    exam: String,
    title: String,
    status: String,
    started_at: String,
    deadline: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    score_percent: Option<serde_json::Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    passed: Option<bool>,
}

/// `GET /api/v1/me/attempts`: the person's attempts, newest first.
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
            status: a.status,
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
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(csv))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct VersionQuery {
    version: Option<String>,
}

/// `?version=N`: a positive whole number.
pub fn parse_version(text: Option<&str>) -> Result<Option<i32>, ApiError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => match text.parse::<i32>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(ApiError::validation(
                "version",
                "give a version number such as 1 or 2",
            )),
        },
    }
}

#[get("/api/v1/vendors/{vendor}/exams/{exam}/statistics")]
async fn statistics(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<(String, String)>,
    query: web::Query<VersionQuery>,
) -> Result<HttpResponse, ApiError> {
    let version = parse_version(query.version.as_deref())?;
    let (vendor, exam) = path.into_inner();
    let (_, exam) = vendor_exam(&state, principal, vendor, exam, VendorRole::Examiner).await?;
    let min_attempts = state.config.stats_min_attempts;
    let report = state
        .db(move |conn| service::statistics(conn, &exam, version, min_attempts))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Revenue per exam per month: the vendor's owners and examiners (owners hold every role).
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

fn operator_only(user: &crate::accounts::SessionUser) -> Result<(), ApiError> {
    if user.is_operator {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only operators record manual orders".into(),
        ))
    }
}

#[post("/api/v1/orders")]
async fn create_order(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    Json(input): Json<ManualOrderInput>,
) -> Result<HttpResponse, ApiError> {
    operator_only(&user)?;
    let now = state.clock.now();
    let actor = user_actor(&req, &user);
    let order = state
        .tx(move |conn| service::create_manual_order(conn, &input, &actor, now))
        .await?;
    Ok(HttpResponse::Created().json(order))
}

#[post("/api/v1/orders/{id}/paid")]
async fn mark_order_paid(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    operator_only(&user)?;
    let input: MarkPaidInput = optional_json(&req, &mut payload.into_inner()).await?;
    let order_id = path.into_inner();
    let now = state.clock.now();
    let actor = user_actor(&req, &user);
    let order = state
        .tx(move |conn| service::mark_order_paid(conn, &order_id, &input, &actor, now))
        .await?;
    Ok(HttpResponse::Ok().json(order))
}
