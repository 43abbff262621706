//! SVG → PNG with resvg and the embedded DejaVu Sans fonts (`assets/fonts/`, licence beside
//! them). No system fonts and no outside images are ever read.

use std::sync::{Arc, OnceLock};

use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg::{fontdb, ImageHrefResolver, Options, Tree};

use super::ImageError;

/// The embedded font family.
const FAMILY: &str = "DejaVu Sans";

/// Longest side of a rendered badge, in pixels.
pub const RENDER_SIDE: u32 = 512;

fn fonts() -> Arc<fontdb::Database> {
    static FONTS: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = fontdb::Database::new();
            db.load_font_data(include_bytes!("../../assets/fonts/DejaVuSans.ttf").to_vec());
            db.load_font_data(include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf").to_vec());
            // Every generic family is the one embedded font.
            db.set_sans_serif_family(FAMILY);
            db.set_serif_family(FAMILY);
            db.set_monospace_family(FAMILY);
            db.set_cursive_family(FAMILY);
            db.set_fantasy_family(FAMILY);
            Arc::new(db)
        })
        .clone()
}

/// Renders a (checked) SVG to a PNG whose longest side is [`RENDER_SIDE`] pixels.
pub fn svg_to_png(svg: &str) -> Result<Vec<u8>, ImageError> {
    let options = Options {
        font_family: FAMILY.into(),
        fontdb: fonts(),
        image_href_resolver: ImageHrefResolver {
            resolve_data: ImageHrefResolver::default_data_resolver(),
            // Never a file path or URL: checked uploads have none, and this keeps it so.
            resolve_string: Box::new(|_, _| None),
        },
        ..Options::default()
    };
    let tree = Tree::from_str(svg, &options)
        .map_err(|e| ImageError::BadSvg(format!("it cannot be drawn: {e}")))?;
    let size = tree.size();
    let scale = RENDER_SIDE as f32 / size.width().max(size.height());
    let width = ((size.width() * scale).round() as u32).clamp(1, RENDER_SIDE);
    let height = ((size.height() * scale).round() as u32).clamp(1, RENDER_SIDE);
    let mut pixmap = Pixmap::new(width, height)
        .ok_or_else(|| ImageError::BadSvg("it has no drawable size".into()))?;
    resvg::render(
        &tree,
        Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| ImageError::Render(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_badges_render_with_text() {
        let svg = super::super::svg::generate("Acme", "Cloud Associate");
        let png = svg_to_png(&svg).unwrap();
        assert_eq!(
            super::super::png::dimensions(&png).unwrap(),
            (RENDER_SIDE, RENDER_SIDE)
        );
        // Text is drawn: the same badge without its text is a different picture.
        let blank = svg.replace("Cloud Associate", "").replace("ACME", "");
        assert_ne!(svg_to_png(&blank).unwrap(), png);
    }
}
