//! Badge images (issue 10, items 5): every exam has one — an uploaded SVG (checked: nothing
//! active or external) or PNG (checked: structure, CRCs, size), or a generated SVG from the
//! vendor's name, the exam title and its level — served as SVG and PNG (`render`), and baked
//! with a credential per the Open Badges 3.0 baking section (`png`, `svg`): `unbake` reads it back.
//! `store` holds the queries of `exam_badges`, `service` the use cases.

pub mod png;
pub mod render;
pub mod service;
pub mod store;
pub mod svg;

/// The PNG `iTXt` keyword of a baked Open Badges 3.0 credential.
pub const BAKED_KEYWORD: &str = "openbadgecredential";
/// Largest uploaded badge image.
pub const MAX_IMAGE_BYTES: usize = 512 * 1024;
/// Largest side of an uploaded PNG, in pixels.
pub const MAX_SIDE: u32 = 2048;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("the image is {0} bytes; badge images may be at most 512 KB")]
    TooLarge(usize),
    #[error("the SVG was refused: {0}")]
    BadSvg(String),
    #[error("the PNG was refused: {0}")]
    BadPng(String),
    #[error("send a PNG or an SVG badge image (image/png or image/svg+xml)")]
    UnknownFormat,
    #[error("the image carries no Open Badges credential (no `openbadgecredential` iTXt chunk in a PNG, no <openbadges:credential> in an SVG)")]
    NotBaked,
    #[error("the badge could not be drawn: {0}")]
    Render(String),
}

/// The two badge formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Svg,
    Png,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Svg => "svg",
            Self::Png => "png",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "svg" => Some(Self::Svg),
            "png" => Some(Self::Png),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Svg => "image/svg+xml",
            Self::Png => "image/png",
        }
    }

    /// From a media type (`image/png`, `image/svg+xml`, parameters ignored).
    pub fn from_media_type(content_type: &str) -> Option<Self> {
        let essence = content_type.split(';').next()?.trim();
        if essence.eq_ignore_ascii_case("image/png") {
            Some(Self::Png)
        } else if essence.eq_ignore_ascii_case("image/svg+xml") {
            Some(Self::Svg)
        } else {
            None
        }
    }

    /// From the bytes: the PNG signature, or XML text whose first tag is `<svg`.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(png::SIGNATURE) {
            return Some(Self::Png);
        }
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
        let text = head.trim_start_matches('\u{feff}').trim_start();
        (text.starts_with('<') && text.contains("<svg")).then_some(Self::Svg)
    }
}

/// Checks an uploaded badge image of `format`; the bytes to store.
pub fn check_upload(format: Format, bytes: &[u8]) -> Result<Vec<u8>, ImageError> {
    match format {
        Format::Svg => svg::check_upload(bytes).map(String::into_bytes),
        Format::Png => png::check_upload(bytes).map(|()| bytes.to_vec()),
    }
}

/// The credential baked into a PNG or SVG file, exactly as it was baked.
pub fn unbake(bytes: &[u8]) -> Result<String, ImageError> {
    let text = match Format::sniff(bytes).ok_or(ImageError::UnknownFormat)? {
        Format::Png => png::baked_text(bytes)?,
        Format::Svg => svg::baked_text(
            std::str::from_utf8(bytes).map_err(|_| ImageError::BadSvg("it is not UTF-8".into()))?,
        )?,
    };
    text.ok_or(ImageError::NotBaked)
}

/// When `bytes` are a PNG or SVG image: the credential baked into it (an image without one is
/// an error). `None` for anything else (a credential JSON, say).
pub fn credential_in_image(bytes: &[u8]) -> Result<Option<String>, ImageError> {
    match Format::sniff(bytes) {
        Some(_) => unbake(bytes).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_apart() {
        assert_eq!(Format::sniff(b"\x89PNG\r\n\x1a\nrest"), Some(Format::Png));
        assert_eq!(
            Format::sniff(b"<?xml version=\"1.0\"?>\n<svg xmlns=\"x\"/>"),
            Some(Format::Svg)
        );
        assert_eq!(Format::sniff(b"{\"@context\": []}"), None);
        assert_eq!(
            Format::from_media_type("image/svg+xml; charset=utf-8"),
            Some(Format::Svg)
        );
        assert!(matches!(unbake(b"{}"), Err(ImageError::UnknownFormat)));
        let svg = svg::generate("Acme", "Cloud");
        assert!(matches!(unbake(svg.as_bytes()), Err(ImageError::NotBaked)));
    }
}
