//! The one place where errors become HTTP answers: `application/problem+json` (RFC 9457) with
//! `type`, `title`, `status`, `detail` and, for invalid input, `errors: [{field, message}]`.
//! Internal details are logged, never sent.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::accounts::password::PasswordError;
use crate::accounts::AccountError;
use crate::db::DbError;
use crate::validation::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("sign in or present an API key")]
    Unauthorized,
    /// A signed request (webhook) whose signature is missing, wrong or outside the replay window.
    #[error("{0}")]
    BadSignature(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PaymentRequired(String),
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the input has problems")]
    Validation(Vec<FieldError>),
    #[error("{detail}")]
    TooManyRequests {
        retry_after_secs: u64,
        detail: String,
    },
    /// 429 for a rule that allows the action again at a known time (the exam retake policy): the body
    /// carries `retry_after` (seconds) and `next_attempt_at` (`YYYY-MM-DDTHH:MM:SSZ`).
    #[error("{detail}")]
    NotYet {
        retry_after_secs: u64,
        next_attempt_at: String,
        detail: String,
    },
    /// 503 with `Retry-After`: the server is saturated (password hashing), not broken.
    #[error("{detail}")]
    Unavailable {
        retry_after_secs: u64,
        detail: String,
    },
    #[error("internal error")]
    Internal(String),
}

/// The body of every error answer (`application/problem+json`, RFC 9457).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `https://credo.dev/problems/<slug>`: what kind of problem (`validation`, `not-found`, …).
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    /// The HTTP status, repeated.
    status: u16,
    /// What went wrong, for a person.
    detail: String,
    /// 422: every field with a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<FieldError>>,
    /// 429 and 503: seconds to wait before trying again (also the `Retry-After` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    /// 429 under the exam retake policy: when the next attempt is allowed (RFC 3339, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    next_attempt_at: Option<String>,
}

impl ApiError {
    /// What the client needs to fix or know: field errors listed, internals never shown.
    pub fn detail(&self) -> String {
        match self {
            ApiError::Internal(_) => "something went wrong on our side; it has been logged".into(),
            ApiError::Validation(errors) => errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        }
    }

    /// Seconds to wait before trying again, for the refusals that have such a time (429, 503).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::TooManyRequests {
                retry_after_secs, ..
            }
            | ApiError::NotYet {
                retry_after_secs, ..
            }
            | ApiError::Unavailable {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }

    pub fn title(&self) -> &'static str {
        self.slug_and_title().1
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest(_) => ("bad-request", "Bad request"),
            ApiError::Unauthorized => ("unauthorized", "Authentication required"),
            ApiError::BadSignature(_) => ("bad-signature", "Signature check failed"),
            ApiError::Forbidden(_) => ("forbidden", "Not allowed"),
            ApiError::NotFound(_) => ("not-found", "Not found"),
            ApiError::Conflict(_) => ("conflict", "Conflict"),
            ApiError::PaymentRequired(_) => ("payment-required", "Entitlement required"),
            ApiError::PayloadTooLarge { .. } => ("payload-too-large", "Request body too large"),
            ApiError::UnsupportedMediaType(_) => {
                ("unsupported-media-type", "Unsupported content type")
            }
            ApiError::Validation(_) => ("validation", "Invalid input"),
            ApiError::TooManyRequests { .. } => ("rate-limited", "Too many requests"),
            ApiError::NotYet { .. } => ("not-yet", "Not allowed yet"),
            ApiError::Unavailable { .. } => ("busy", "Service busy"),
            ApiError::Internal(_) => ("internal", "Internal error"),
        }
    }

    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(crate::validation::field_error(field, message))
    }

    pub fn too_many(wait: std::time::Duration) -> Self {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        ApiError::TooManyRequests {
            retry_after_secs: secs.max(1),
            detail: format!("too many attempts; try again in {} seconds", secs.max(1)),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::BadSignature(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PaymentRequired(_) => StatusCode::PAYMENT_REQUIRED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } | ApiError::NotYet { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let (slug, title) = self.slug_and_title();
        if let ApiError::Internal(message) = self {
            tracing::error!(error = %message, "internal error");
        }
        let detail = self.detail();
        let retry_after = self.retry_after_secs();
        let errors = match self {
            ApiError::Validation(errors) => Some(errors.clone()),
            _ => None,
        };
        let next_attempt_at = match self {
            ApiError::NotYet {
                next_attempt_at, ..
            } => Some(next_attempt_at.clone()),
            _ => None,
        };
        let body = Problem {
            kind: format!("https://credo.dev/problems/{slug}"),
            title,
            status: status.as_u16(),
            detail,
            errors,
            retry_after,
            next_attempt_at,
        };
        let mut response = HttpResponse::build(status);
        response.content_type("application/problem+json");
        if let Some(secs) = retry_after {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if matches!(self, ApiError::Unauthorized) {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.body(serde_json::to_string(&body).unwrap_or_default())
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Pool(_) => ApiError::Internal(format!("database unavailable: {e}")),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<PasswordError> for ApiError {
    fn from(e: PasswordError) -> Self {
        match e {
            PasswordError::Policy(message) => ApiError::validation("password", message),
            PasswordError::Busy => ApiError::Unavailable {
                retry_after_secs: 1,
                detail: e.to_string(),
            },
            PasswordError::Failed(m) => ApiError::Internal(m),
        }
    }
}

impl From<crate::audit::AuditError> for ApiError {
    fn from(e: crate::audit::AuditError) -> Self {
        match e {
            crate::audit::AuditError::Db(e) => e.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Validation(errors) => ApiError::Validation(errors),
            AccountError::EmailTaken => ApiError::Conflict(e.to_string()),
            AccountError::InvalidCredentials | AccountError::Unauthenticated => {
                ApiError::Unauthorized
            }
            AccountError::EmailNotVerified | AccountError::AccountDisabled => {
                ApiError::Forbidden(e.to_string())
            }
            AccountError::Forbidden(m) => ApiError::Forbidden(m.to_string()),
            AccountError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            AccountError::TooMany(wait) => ApiError::too_many(wait),
            AccountError::Conflict(m) => ApiError::Conflict(m),
            AccountError::Internal(m) => ApiError::Internal(m),
            AccountError::Password(e) => e.into(),
            AccountError::Db(e) => e.into(),
        }
    }
}

impl From<crate::credentials::CredentialError> for ApiError {
    fn from(e: crate::credentials::CredentialError) -> Self {
        use crate::credentials::CredentialError as E;
        match e {
            E::Validation(errors) => ApiError::Validation(errors),
            E::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            E::Conflict(m) => ApiError::Conflict(m),
            E::Db(e) => e.into(),
            other @ (E::Key(_)
            | E::Did(_)
            | E::Badge(_)
            | E::StatusList(_)
            | E::OnChange(_)
            | E::Internal(_)) => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<crate::webhooks::WebhookError> for ApiError {
    fn from(e: crate::webhooks::WebhookError) -> Self {
        use crate::webhooks::WebhookError as E;
        match e {
            E::Validation(errors) => ApiError::Validation(errors),
            E::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            E::Conflict(m) => ApiError::Conflict(m),
            E::Internal(m) => ApiError::Internal(m),
            E::Db(e) => e.into(),
        }
    }
}

impl From<crate::badges::ImageError> for ApiError {
    fn from(e: crate::badges::ImageError) -> Self {
        use crate::badges::ImageError as E;
        match e {
            E::TooLarge(_) => ApiError::PayloadTooLarge {
                limit: crate::badges::MAX_IMAGE_BYTES,
            },
            E::UnknownFormat => ApiError::UnsupportedMediaType(e.to_string()),
            E::BadSvg(_) | E::BadPng(_) | E::NotBaked | E::Render(_) => {
                ApiError::validation("image", e.to_string())
            }
        }
    }
}

impl From<crate::badges::service::BadgesError> for ApiError {
    fn from(e: crate::badges::service::BadgesError) -> Self {
        use crate::badges::service::BadgesError as E;
        match e {
            E::Image(e) => e.into(),
            E::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            E::Db(e) => e.into(),
        }
    }
}

impl From<crate::exams::ExamError> for ApiError {
    fn from(e: crate::exams::ExamError) -> Self {
        use crate::exams::{AnswerError, ExamError};
        match e {
            // Every problem of the bank file: `field` is `line:N`, the message reads
            // `file:line: question ID: message` (see the `BankProblem` schema in the OpenAPI document).
            ExamError::Bank(errors) => ApiError::Validation(
                errors
                    .errors
                    .iter()
                    .map(|error| FieldError {
                        field: format!("line:{}", error.line),
                        message: error.to_string(),
                    })
                    .collect(),
            ),
            ExamError::Answer(AnswerError::NotOnForm(question)) => {
                ApiError::NotFound(AnswerError::NotOnForm(question).to_string())
            }
            ExamError::Answer(other) => ApiError::validation("choices", other.to_string()),
            ExamError::Validation(errors) => ApiError::Validation(errors),
            ExamError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            ExamError::Forbidden(message) => ApiError::Forbidden(message),
            ExamError::EntitlementRequired(message) | ExamError::VoucherRejected(message) => {
                ApiError::PaymentRequired(message)
            }
            e @ ExamError::AttemptOpen { .. } => ApiError::Conflict(e.to_string()),
            ExamError::AttemptClosed(message) | ExamError::Conflict(message) => {
                ApiError::Conflict(message)
            }
            ExamError::RetakeNotYet {
                reason,
                next_attempt_at,
                retry_after_secs,
            } => {
                let next_attempt_at = crate::clock::rfc3339_seconds(next_attempt_at);
                ApiError::NotYet {
                    retry_after_secs,
                    detail: format!("{reason}; the next attempt is allowed from {next_attempt_at}"),
                    next_attempt_at,
                }
            }
            e @ (ExamError::Form(_) | ExamError::Credential(_) | ExamError::Internal(_)) => {
                ApiError::Internal(e.to_string())
            }
            ExamError::Db(e) => e.into(),
        }
    }
}

impl From<crate::referrals::ReferralError> for ApiError {
    fn from(e: crate::referrals::ReferralError) -> Self {
        use crate::referrals::ReferralError;
        match e {
            ReferralError::Validation(errors) => ApiError::Validation(errors),
            ReferralError::NotFound(m) => ApiError::NotFound(m),
            ReferralError::Forbidden(m) => ApiError::Forbidden(m),
            ReferralError::Conflict(m) => ApiError::Conflict(m),
            ReferralError::Signature(e) => ApiError::BadSignature(e.to_string()),
            ReferralError::Money(e) => ApiError::Internal(e.to_string()),
            ReferralError::Internal(m) => ApiError::Internal(m),
            ReferralError::Db(e) => e.into(),
        }
    }
}

impl From<crate::billing::BillingError> for ApiError {
    fn from(e: crate::billing::BillingError) -> Self {
        use crate::billing::BillingError;
        match e {
            BillingError::Validation(errors) => ApiError::Validation(errors),
            BillingError::NotFound(m) => ApiError::NotFound(m),
            BillingError::Conflict(m) => ApiError::Conflict(m),
            BillingError::Rejected(m) => ApiError::BadRequest(m),
            BillingError::Exam(e) => e.into(),
            BillingError::Referral(e) => e.into(),
            BillingError::Internal(m) => ApiError::Internal(m),
            BillingError::Db(e) => e.into(),
        }
    }
}
