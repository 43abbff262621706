//! Request-body extraction with our own limits and errors: a JSON body that does not fit the
//! expected shape is a 422 naming the field, never a bare 400 from the framework.
//!
//! It is also the one place text input is checked for control characters (NUL above all, which
//! PostgreSQL refuses to store): JSON strings and keys here, form fields in `pages::Form`, query
//! parameters and path segments in `middleware::refuse_control_chars` — all with [`is_refused_char`].

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use super::problem::ApiError;
use crate::validation::FieldError;

/// Default limit for JSON bodies; routes that take larger documents read with their own limit.
pub const JSON_LIMIT: usize = 256 * 1024;
/// Bank uploads may be this large (the shipped banks are under 100 kB).
pub const BANK_LIMIT: usize = 4 * 1024 * 1024;
/// Largest credential the verify doors read (ours are ~3 KB).
pub const VERIFY_LIMIT: usize = 256 * 1024;
/// Largest baked badge image (PNG or SVG with a credential inside) the verify doors read.
pub const BAKED_VERIFY_LIMIT: usize = crate::badges::MAX_IMAGE_BYTES + VERIFY_LIMIT;

/// Reads the whole body, refusing it as soon as it passes `limit` bytes.
pub async fn read_body(payload: &mut Payload, limit: usize) -> Result<web::Bytes, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => ApiError::PayloadTooLarge { limit },
            other => ApiError::BadRequest(format!("could not read the request body: {other}")),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Control characters no text field takes: all C0 and C1 controls and DEL, except tab, line feed
/// and carriage return (multi-line text).
pub fn is_refused_char(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// The field error for text containing a refused control character.
pub fn control_char_error(field: &str) -> FieldError {
    FieldError {
        field: field.to_string(),
        message: "contains a control character (such as NUL); remove it".into(),
    }
}

/// 422 naming `field` when `text` has a refused control character.
pub fn refuse_control_chars(field: &str, text: &str) -> Result<(), ApiError> {
    if text.chars().any(is_refused_char) {
        Err(ApiError::Validation(vec![control_char_error(field)]))
    } else {
        Ok(())
    }
}

/// The first string (or object key) in `value` with a refused control character, named like
/// shape errors are (`name`, `items[2].text`). Paths are built only once one is known to be
/// there: most bodies have none.
fn first_control_char(value: &serde_json::Value) -> Option<String> {
    has_control_char(value).then(|| find_control_char(value, ""))?
}

fn has_control_char(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(text) => text.chars().any(is_refused_char),
        Value::Array(items) => items.iter().any(has_control_char),
        Value::Object(map) => map
            .iter()
            .any(|(key, item)| key.chars().any(is_refused_char) || has_control_char(item)),
        _ => false,
    }
}

fn find_control_char(value: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::String(text) => text.chars().any(is_refused_char).then(|| {
            if path.is_empty() {
                "body".into()
            } else {
                path.to_string()
            }
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find_control_char(item, &format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            if key.chars().any(is_refused_char) {
                Some(join(
                    &key.chars().filter(|c| !c.is_control()).collect::<String>(),
                ))
            } else {
                find_control_char(item, &join(key))
            }
        }),
        _ => None,
    }
}

/// The answer to a query string that does not fit the handler's parameters (a repeated one, say):
/// a 422 naming the parameter, like every other input problem, not actix's plain-text 400.
pub fn query_error(err: actix_web::error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    let message = err.to_string();
    let field = message.split('`').nth(1).unwrap_or("query").to_string();
    ApiError::Validation(vec![FieldError {
        field,
        message: message
            .trim_start_matches("Query deserialize error: ")
            .to_string(),
    }])
    .into()
}

/// A flag in a query string: absent = `default`; `true`/`1`/`yes` or `false`/`0`/`no`, else a 422
/// naming it.
pub fn query_flag(name: &str, value: Option<&str>, default: bool) -> Result<bool, ApiError> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") => Ok(default),
        Some("true" | "1" | "yes") => Ok(true),
        Some("false" | "0" | "no") => Ok(false),
        Some(_) => Err(ApiError::validation(name, "give true or false")),
    }
}

/// A whole number from 1 in the query or path parameter `name`: absent or blank = `None`, anything
/// else a 422 naming it (`?page=N`, `?version=N`).
pub fn whole_number<T>(name: &str, text: Option<&str>) -> Result<Option<T>, ApiError>
where
    T: std::str::FromStr + PartialOrd + From<u8>,
{
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => match text.parse::<T>() {
            Ok(n) if n >= T::from(1) => Ok(Some(n)),
            _ => Err(ApiError::validation(
                name,
                format!("give a {name} number such as 1 or 2"),
            )),
        },
    }
}

/// Parses JSON into `T`, naming the offending field on shape errors and on text with control
/// characters.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    refuse_empty(body)?;
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        refuse_control_chars_in(&value)?;
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::BadRequest(format!("the body is not valid JSON: {inner}"))
            }
            Category::Data => ApiError::Validation(vec![shape_error(&path, &inner.to_string())]),
        }
    })
}

/// Parses a JSON document whose shape the caller checks itself: one parse, the same refusals
/// as [`parse_json`] (empty body, invalid JSON, control characters).
pub fn parse_json_value(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    refuse_empty(body)?;
    let value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    refuse_control_chars_in(&value)?;
    Ok(value)
}

fn refuse_empty(body: &[u8]) -> Result<(), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "the request body is empty; send a JSON object".into(),
        ));
    }
    Ok(())
}

fn refuse_control_chars_in(value: &serde_json::Value) -> Result<(), ApiError> {
    match first_control_char(value) {
        Some(field) => Err(ApiError::Validation(vec![control_char_error(&field)])),
        None => Ok(()),
    }
}

/// Turns serde's message into a field error: "missing field `x`" names `x` itself.
fn shape_error(path: &str, message: &str) -> FieldError {
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_string();
    let quoted = message.split('`').nth(1).map(str::to_string);
    let field = if message.starts_with("missing field") {
        let name = quoted.unwrap_or_default();
        if path == "." || path.is_empty() {
            name
        } else {
            format!("{path}.{name}")
        }
    } else if path == "." || path.is_empty() {
        "body".to_string()
    } else {
        path.to_string()
    };
    let message = if message.starts_with("missing field") {
        "this field is required".to_string()
    } else {
        message
    };
    FieldError { field, message }
}

fn require_json_content_type(req: &HttpRequest) -> Result<(), ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")) {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(
            "send the body as JSON with `Content-Type: application/json`".into(),
        ))
    }
}

/// An optional JSON body (at most [`JSON_LIMIT`] bytes): empty means the default value; else as
/// [`Json`].
pub async fn optional_json<T: DeserializeOwned + Default>(
    req: &HttpRequest,
    payload: &mut Payload,
) -> Result<T, ApiError> {
    let body = read_body(payload, JSON_LIMIT).await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    require_json_content_type(req)?;
    parse_json(&body)
}

/// A JSON body of type `T` (at most [`JSON_LIMIT`] bytes).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type = require_json_content_type(req);
        let mut payload = payload.take();
        Box::pin(async move {
            content_type?;
            let body = read_body(&mut payload, JSON_LIMIT).await?;
            parse_json(&body).map(Json)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    #[serde(deny_unknown_fields)]
    struct Input {
        email: String,
        age: u32,
    }

    fn field_errors(body: &str) -> Vec<FieldError> {
        match parse_json::<Input>(body.as_bytes()) {
            Err(ApiError::Validation(errors)) => errors,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn shape_errors_name_the_field() {
        assert_eq!(field_errors(r#"{"age": 3}"#)[0].field, "email");
        assert_eq!(field_errors(r#"{"email": 5, "age": 3}"#)[0].field, "email");
        assert_eq!(
            field_errors(r#"{"email": "a", "age": "x"}"#)[0].field,
            "age"
        );
        assert_eq!(
            field_errors(r#"{"email": "a", "age": 3, "x": 1}"#)[0].field,
            "x"
        );
        assert_eq!(field_errors(r#""text""#)[0].field, "body");
    }

    #[test]
    fn control_characters_are_refused_naming_the_field() {
        assert_eq!(
            field_errors("{\"email\": \"a\\u0000b\", \"age\": 3}")[0].field,
            "email"
        );
        let nested = parse_json::<serde_json::Value>(br#"{"a": [{"b": "x"}, {"b": "\u001b"}]}"#);
        match nested {
            Err(ApiError::Validation(errors)) => assert_eq!(errors[0].field, "a[1].b"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_json::<serde_json::Value>(br#"{"k\u0000": 1}"#),
            Err(ApiError::Validation(_))
        ));
        match parse_json_value(br#"{"a": [{"b": "x"}, {"b": "\u001b"}]}"#) {
            Err(ApiError::Validation(errors)) => assert_eq!(errors[0].field, "a[1].b"),
            other => panic!("{other:?}"),
        }
        // Multi-line text is fine.
        parse_json::<serde_json::Value>(br#"{"stem": "line 1\n\tline 2\r\n"}"#).unwrap();
        parse_json_value(br#"{"stem": "line 1\n\tline 2\r\n"}"#).unwrap();
        assert!(refuse_control_chars("q", "a\u{7f}").is_err());
        assert!(refuse_control_chars("q", "a\u{85}").is_err());
        refuse_control_chars("q", "Zoë\n").unwrap();
    }

    #[test]
    fn syntax_errors_and_empty_bodies_are_bad_requests() {
        assert!(matches!(
            parse_json::<Input>(b"{"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse_json::<Input>(b"  "),
            Err(ApiError::BadRequest(_))
        ));
        let deep = "[".repeat(10_000);
        assert!(matches!(
            parse_json::<serde_json::Value>(deep.as_bytes()),
            Err(ApiError::BadRequest(_))
        ));
        for bad in [deep.as_bytes(), b"{", b" "] {
            assert!(matches!(
                parse_json_value(bad),
                Err(ApiError::BadRequest(_))
            ));
        }
    }
}
