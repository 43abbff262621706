//! Badge use cases: an exam's badge as SVG or PNG, uploading and removing a vendor's own image,
//! and a credential's baked download.

use chrono::NaiveDateTime;
use serde_json::json;

use super::store::{self, BadgeSource};
use super::{png, render, svg, Format, ImageError};
use crate::accounts::Vendor;
use crate::audit::{self, Action, Actor};
use crate::db::{DbConn, DbError};

#[derive(Debug, thiserror::Error)]
pub enum BadgesError {
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for BadgesError {
    fn from(e: diesel::result::Error) -> Self {
        BadgesError::Db(DbError::Query(e))
    }
}

/// An exam's badge image, ready to serve or bake.
#[derive(Debug, Clone)]
pub enum Badge {
    /// An uploaded (checked) SVG, or the generated one.
    Svg(String),
    /// An uploaded (checked) PNG.
    Png(Vec<u8>),
}

impl Badge {
    fn from_source(source: BadgeSource) -> Result<Self, ImageError> {
        match (
            source.format.as_deref().and_then(Format::parse),
            source.image,
        ) {
            (Some(Format::Png), Some(image)) => Ok(Badge::Png(image)),
            (Some(Format::Svg), Some(image)) => String::from_utf8(image)
                .map(Badge::Svg)
                .map_err(|_| ImageError::BadSvg("the stored SVG is not UTF-8".into())),
            _ => Ok(Badge::Svg(svg::generate(
                &source.vendor_name,
                &source.exam_title,
            ))),
        }
    }

    /// The badge as SVG (a PNG badge wrapped in an SVG `<image>`).
    pub fn to_svg(&self) -> Result<String, ImageError> {
        match self {
            Badge::Svg(text) => Ok(text.clone()),
            Badge::Png(bytes) => {
                let (width, height) = png::dimensions(bytes)?;
                Ok(svg::wrap_png(bytes, width, height))
            }
        }
    }

    /// The badge as PNG (an SVG badge rendered with resvg).
    pub fn to_png(&self) -> Result<Vec<u8>, ImageError> {
        match self {
            Badge::Svg(text) => render::svg_to_png(text),
            Badge::Png(bytes) => Ok(bytes.clone()),
        }
    }

    /// The badge in `format`.
    pub fn encode(&self, format: Format) -> Result<Vec<u8>, ImageError> {
        match format {
            Format::Svg => self.to_svg().map(String::into_bytes),
            Format::Png => self.to_png(),
        }
    }
}

/// The badge of the exam `vendor/exam`.
pub fn exam_badge(
    conn: &mut DbConn,
    vendor_slug: &str,
    exam_slug: &str,
) -> Result<Badge, BadgesError> {
    let source = store::source_by_slugs(conn, vendor_slug, exam_slug)?
        .ok_or(BadgesError::NotFound("exam"))?;
    Ok(Badge::from_source(source)?)
}

/// Checks and stores the vendor's own badge image for one of its exams (replacing an earlier one).
pub fn upload_exam_badge(
    conn: &mut DbConn,
    vendor: &Vendor,
    exam_slug: &str,
    format: Format,
    bytes: &[u8],
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<(), BadgesError> {
    let source = store::source_by_slugs(conn, &vendor.slug, exam_slug)?
        .ok_or(BadgesError::NotFound("exam"))?;
    let image = super::check_upload(format, bytes)?;
    // An SVG must also be drawable, so the PNG address never fails later.
    if format == Format::Svg {
        render::svg_to_png(&String::from_utf8_lossy(&image))?;
    }
    store::upsert(conn, &source.exam_id, format.as_str(), &image, now)?;
    let details = json!({"badge": format!("uploaded {}", format.as_str())});
    record_badge_change(conn, vendor, &source.exam_id, details, actor, now)
}

/// Removes the vendor's own badge image; the generated badge shows again.
pub fn remove_exam_badge(
    conn: &mut DbConn,
    vendor: &Vendor,
    exam_slug: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<(), BadgesError> {
    let source = store::source_by_slugs(conn, &vendor.slug, exam_slug)?
        .ok_or(BadgesError::NotFound("exam"))?;
    store::delete(conn, &source.exam_id)?;
    let details = json!({"badge": "removed (the generated badge shows again)"});
    record_badge_change(conn, vendor, &source.exam_id, details, actor, now)
}

/// The badge is part of what an exam's credentials show, so changing it is an exam setting change.
fn record_badge_change(
    conn: &mut DbConn,
    vendor: &Vendor,
    exam_id: &str,
    details: serde_json::Value,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<(), BadgesError> {
    audit::record(
        conn,
        actor,
        Action::ExamSettingsChanged,
        Some(&vendor.id),
        exam_id,
        details,
        now,
    )?;
    Ok(())
}

/// The credential's badge with the exact stored credential JSON baked in.
pub fn baked_credential(
    conn: &mut DbConn,
    credential_id: &str,
    format: Format,
) -> Result<Vec<u8>, BadgesError> {
    let (json, source) = store::credential_with_source(conn, credential_id)?
        .ok_or(BadgesError::NotFound("credential"))?;
    let badge = Badge::from_source(source)?;
    Ok(match format {
        Format::Png => png::bake(&badge.to_png()?, &json)?,
        Format::Svg => svg::bake(&badge.to_svg()?, &json)?.into_bytes(),
    })
}
