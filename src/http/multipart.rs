//! `multipart/form-data` bodies of the upload forms (bank files, badge images, credentials to
//! verify), read with actix-multipart and held in memory within a size limit.

use actix_multipart::{Multipart, MultipartError};
use actix_web::error::PayloadError;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;

use crate::http::problem::ApiError;

/// One part of a `multipart/form-data` body.
#[derive(Debug, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub data: Vec<u8>,
}

/// Reads every part of the request's `multipart/form-data` body. `limit` bounds what is kept
/// (names, file names and data together): more is a 413. A body of another type is a 415, a
/// body that does not follow the format a 400.
pub async fn read_parts(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<Vec<Part>, ApiError> {
    let mut multipart = Multipart::new(req.headers(), payload);
    let mut parts = Vec::new();
    let mut kept = 0usize;
    let mut count = |len: usize| {
        kept += len;
        if kept > limit {
            Err(ApiError::PayloadTooLarge { limit })
        } else {
            Ok(())
        }
    };
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|e| form_error(e, limit))?;
        let disposition = field.content_disposition();
        let name = disposition
            .and_then(|d| d.get_name())
            .unwrap_or_default()
            .to_owned();
        let filename = disposition
            .and_then(|d| d.get_filename())
            .map(str::to_owned);
        count(name.len() + filename.as_ref().map_or(0, String::len))?;
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| form_error(e, limit))?;
            count(chunk.len())?;
            data.extend_from_slice(&chunk);
        }
        parts.push(Part {
            name,
            filename,
            data,
        });
    }
    Ok(parts)
}

fn form_error(error: MultipartError, limit: usize) -> ApiError {
    match error {
        MultipartError::Payload(PayloadError::Overflow) => ApiError::PayloadTooLarge { limit },
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible => {
            ApiError::UnsupportedMediaType("send the upload form as multipart/form-data".into())
        }
        other => ApiError::BadRequest(format!("the upload form could not be read: {other}")),
    }
}
