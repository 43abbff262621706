//! SVG badges: checking an upload (nothing active, nothing external), the generated badge, and
//! baking a credential into `<openbadges:credential>` (Open Badges 3.0 §5.3, "Baking").

use base64::Engine;
use resvg::usvg::roxmltree::{self, Document, Node, ParsingOptions};

use super::{ImageError, MAX_IMAGE_BYTES};

pub const SVG_NS: &str = "http://www.w3.org/2000/svg";
/// The namespace of the baked `credential` element.
pub const OB_NS: &str = "https://purl.imsglobal.org/ob/v3p0";
const XLINK_NS: &str = "http://www.w3.org/1999/xlink";
/// Elements an uploaded badge may not contain: scripts, foreign HTML, plugins and animations
/// (which can rewrite links).
const REFUSED_ELEMENTS: &[&str] = &[
    "script",
    "foreignObject",
    "iframe",
    "embed",
    "object",
    "handler",
    "listener",
    "animate",
    "set",
    "animateMotion",
    "animateTransform",
];
/// Elements in an uploaded badge at most.
const MAX_NODES: usize = 20_000;

fn parse(text: &str) -> Result<Document<'_>, ImageError> {
    // DTDs stay off (the default): no entity expansion, no external entities.
    Document::parse_with_options(
        text,
        ParsingOptions {
            allow_dtd: false,
            nodes_limit: MAX_NODES as u32 * 4,
            ..ParsingOptions::default()
        },
    )
    .map_err(|e| ImageError::BadSvg(format!("it is not well-formed XML: {e}")))
}

fn refuse(what: String) -> ImageError {
    ImageError::BadSvg(format!(
        "{what}; badges may not run scripts or load anything from elsewhere"
    ))
}

/// A reference in a URL-valued place that stays inside the document (`#id`).
fn is_local_reference(value: &str) -> bool {
    value.trim_start().starts_with('#')
}

/// Every `url(…)` in a style or presentation value points inside the document, and there is no
/// `@import` or legacy `expression(`.
fn check_css(value: &str, place: &str) -> Result<(), ImageError> {
    let lower = value.to_ascii_lowercase();
    if lower.contains("@import") || lower.contains("expression(") {
        return Err(refuse(format!("{place} imports or evaluates style")));
    }
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("url(") {
        rest = &rest[at + 4..];
        let target = rest.trim_start().trim_start_matches(['"', '\'']);
        if !target.starts_with('#') {
            return Err(refuse(format!("{place} refers to an outside resource")));
        }
    }
    Ok(())
}

/// Checks an uploaded SVG badge; returns it as text, unchanged, when it is safe to serve and
/// render: well-formed, an `<svg>` root in the SVG namespace, no DTD, no scripts or event
/// handlers, no `foreignObject`, no animation, no link or style that leaves the document, and
/// no credential already baked in.
pub fn check_upload(bytes: &[u8]) -> Result<String, ImageError> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(ImageError::TooLarge(bytes.len()));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ImageError::BadSvg("it is not UTF-8 text".into()))?;
    let document = parse(text)?;
    let root = document.root_element();
    if root.tag_name().name() != "svg" || root.tag_name().namespace() != Some(SVG_NS) {
        return Err(ImageError::BadSvg(format!(
            "the root element must be <svg xmlns=\"{SVG_NS}\">"
        )));
    }
    let mut count = 0;
    for node in document.descendants() {
        if node.is_pi() {
            return Err(refuse("it has a processing instruction".into()));
        }
        if !node.is_element() {
            if node.is_text() && node.parent().is_some_and(is_style) {
                check_css(node.text().unwrap_or(""), "a <style> element")?;
            }
            continue;
        }
        count += 1;
        if count > MAX_NODES {
            return Err(ImageError::BadSvg(format!(
                "it has more than {MAX_NODES} elements"
            )));
        }
        let name = node.tag_name().name();
        if REFUSED_ELEMENTS
            .iter()
            .any(|refused| refused.eq_ignore_ascii_case(name))
        {
            return Err(refuse(format!("it contains a <{name}> element")));
        }
        if node.tag_name().namespace() == Some(OB_NS) {
            return Err(ImageError::BadSvg(
                "it already carries a baked credential; upload the plain badge image".into(),
            ));
        }
        for attribute in node.attributes() {
            let attr = attribute.name();
            let value = attribute.value();
            if attr.len() > 2 && attr[..2].eq_ignore_ascii_case("on") {
                return Err(refuse(format!("<{name}> has an event handler ({attr})")));
            }
            let is_link = attr == "href" && matches!(attribute.namespace(), None | Some(XLINK_NS))
                || attr.eq_ignore_ascii_case("src");
            if is_link && !is_local_reference(value) {
                return Err(refuse(format!(
                    "<{name}> links to {value:?}; only references inside the file (#id) are allowed"
                )));
            }
            check_css(value, &format!("<{name} {attr}>"))?;
        }
    }
    Ok(text.to_owned())
}

fn is_style(node: Node<'_, '_>) -> bool {
    node.is_element() && node.tag_name().name() == "style"
}

/// Escapes text for XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 does not allow are dropped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// Words that name a certification level when they end an exam title.
const LEVELS: &[&str] = &[
    "Foundation",
    "Fundamentals",
    "Associate",
    "Practitioner",
    "Professional",
    "Specialist",
    "Expert",
    "Master",
    "Advanced",
    "Architect",
    "Administrator",
    "Developer",
];

/// The level shown on the ribbon: the title's last word when it names one, else "Certified".
pub fn level_of(title: &str) -> &'static str {
    let last = title.split_whitespace().last().unwrap_or("");
    LEVELS
        .iter()
        .find(|level| level.eq_ignore_ascii_case(last))
        .copied()
        .unwrap_or("Certified")
}

/// Splits `text` into at most `max_lines` lines of about `width` characters, on spaces; the last
/// line ends with an ellipsis when the text does not fit.
fn wrap(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let candidate_len = current.chars().count() + 1 + word.chars().count();
        if !current.is_empty() && candidate_len > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            last.push('…');
        }
    }
    for line in &mut lines {
        if line.chars().count() > width + 2 {
            *line = line.chars().take(width).collect::<String>() + "…";
        }
    }
    lines
}

/// A hue from the vendor's name, so each vendor's badges share a colour.
fn hue(seed: &str) -> u32 {
    seed.bytes().fold(2166136261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16777619)
    }) % 360
}

/// The generated badge: a medal in the vendor's colour with the vendor's name, the exam title
/// and the level, all text escaped. Fonts: DejaVu Sans (embedded for rendering).
pub fn generate(vendor_name: &str, exam_title: &str) -> String {
    let h = hue(vendor_name);
    let vendor = wrap(vendor_name, 24, 1).join(" ").to_uppercase();
    let title = wrap(exam_title, 18, 4);
    let level = level_of(exam_title).to_uppercase();
    let first_y = 218 - (title.len() as i32 - 1) * 15;
    let title_lines: String = title
        .iter()
        .enumerate()
        .map(|(i, line)| {
            format!(
                r#"<tspan x="200" y="{}">{}</tspan>"#,
                first_y + i as i32 * 30,
                escape(line)
            )
        })
        .collect();
    format!(
        r##"<svg xmlns="{SVG_NS}" width="400" height="400" viewBox="0 0 400 400" role="img" aria-label="{label}">
<title>{label}</title>
<defs><linearGradient id="face" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="hsl({h},55%,38%)"/><stop offset="1" stop-color="hsl({h},60%,24%)"/></linearGradient></defs>
<circle cx="200" cy="200" r="190" fill="hsl({h},45%,85%)"/>
<circle cx="200" cy="200" r="176" fill="url(#face)"/>
<circle cx="200" cy="200" r="160" fill="none" stroke="#ffffff" stroke-opacity="0.55" stroke-width="3"/>
<text x="200" y="96" fill="#ffffff" font-family="DejaVu Sans" font-size="17" font-weight="bold" text-anchor="middle" letter-spacing="1">{vendor}</text>
<path d="M120 114 H280" stroke="#ffffff" stroke-opacity="0.6" stroke-width="2"/>
<text fill="#ffffff" font-family="DejaVu Sans" font-size="25" font-weight="bold" text-anchor="middle">{title_lines}</text>
<path d="M40 300 H360 L340 326 L360 352 H40 L60 326 Z" fill="hsl({h},70%,52%)"/>
<text x="200" y="334" fill="#ffffff" font-family="DejaVu Sans" font-size="21" font-weight="bold" text-anchor="middle" letter-spacing="2">{level}</text>
</svg>
"##,
        label = escape(&format!("{vendor_name}: {exam_title}")),
        vendor = escape(&vendor),
        level = escape(&level),
    )
}

/// An SVG showing a PNG badge (for `.svg` requests and SVG baking of PNG badges).
pub fn wrap_png(png: &[u8], width: u32, height: u32) -> String {
    let data = base64::engine::general_purpose::STANDARD.encode(png);
    format!(
        r#"<svg xmlns="{SVG_NS}" xmlns:xlink="{XLINK_NS}" width="{width}" height="{height}" viewBox="0 0 {width} {height}"><image width="{width}" height="{height}" xlink:href="data:image/png;base64,{data}"/></svg>
"#
    )
}

/// End of the root element's start tag: (index of `>`, whether it is `/>`).
fn root_start_tag_end(svg: &str, root_start: usize) -> Option<(usize, bool)> {
    let bytes = svg.as_bytes();
    let mut quote: Option<u8> = None;
    for (i, &b) in bytes.iter().enumerate().skip(root_start) {
        match (quote, b) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return Some((i, i > 0 && bytes[i - 1] == b'/')),
            _ => {}
        }
    }
    None
}

/// The SVG with `credential` baked in: the `openbadges` namespace declared on the root and
/// `<openbadges:credential><![CDATA[…]]></openbadges:credential>` as its first child.
pub fn bake(svg: &str, credential: &str) -> Result<String, ImageError> {
    let document = parse(svg)?;
    let root = document.root_element();
    let start = root.range().start;
    let (end, self_closing) = root_start_tag_end(svg, start)
        .ok_or_else(|| ImageError::BadSvg("the <svg> start tag does not end".into()))?;
    let declared = root
        .namespaces()
        .any(|ns| ns.name() == Some("openbadges") && ns.uri() == OB_NS);
    // `]]>` cannot appear inside CDATA: split it across two sections.
    let cdata = credential.replace("]]>", "]]]]><![CDATA[>");
    let element = format!("<openbadges:credential><![CDATA[{cdata}]]></openbadges:credential>");
    let tag_end = if self_closing { end - 1 } else { end };
    let mut out = String::with_capacity(svg.len() + element.len() + 64);
    out.push_str(&svg[..tag_end]);
    if !declared {
        out.push_str(&format!(" xmlns:openbadges=\"{OB_NS}\""));
    }
    out.push('>');
    out.push_str(&element);
    if self_closing {
        out.push_str("</svg>");
    }
    out.push_str(&svg[end + 1..]);
    Ok(out)
}

/// The baked credential text of an SVG, if it carries one (more than one is an error).
pub fn baked_text(svg: &str) -> Result<Option<String>, ImageError> {
    let document = parse(svg)?;
    let mut found = None;
    for node in document.descendants().filter(|n| {
        n.is_element()
            && n.tag_name().namespace() == Some(OB_NS)
            && n.tag_name().name() == "credential"
    }) {
        if found.is_some() {
            return Err(ImageError::BadSvg(
                "the SVG has more than one <openbadges:credential> element".into(),
            ));
        }
        let text: String = node
            .children()
            .filter(roxmltree::Node::is_text)
            .filter_map(|n| n.text())
            .collect();
        found = Some(text.trim().to_owned());
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_badges_escape_their_text_and_pass_the_upload_check() {
        let svg = generate(
            "Acme <Cloud> & \"Co\"",
            "Kubernetes <script>alert(1)</script> Associate",
        );
        assert!(!svg.contains("<script"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("ASSOCIATE"));
        check_upload(svg.as_bytes()).unwrap();
        assert_eq!(level_of("PostgreSQL Administration Associate"), "Associate");
        assert_eq!(level_of("Rust"), "Certified");
    }

    #[test]
    fn long_titles_wrap_into_at_most_four_lines() {
        let lines = wrap(&"word ".repeat(40), 18, 4);
        assert_eq!(lines.len(), 4);
        assert!(lines[3].ends_with('…'));
        assert_eq!(wrap("a b", 18, 4), ["a b"]);
    }

    #[test]
    fn active_or_external_content_is_refused() {
        let wrap_body = |body: &str| {
            format!(
                r#"<svg xmlns="{SVG_NS}" xmlns:xlink="{XLINK_NS}" viewBox="0 0 10 10">{body}</svg>"#
            )
        };
        for body in [
            "<script>alert(1)</script>",
            "<SCRIPT>alert(1)</SCRIPT>",
            "<foreignObject><div/></foreignObject>",
            r#"<rect onclick="alert(1)" width="1" height="1"/>"#,
            r#"<rect ONLOAD="alert(1)" width="1" height="1"/>"#,
            r#"<a href="javascript:alert(1)"><rect width="1" height="1"/></a>"#,
            r#"<image xlink:href="https://evil.example/x.png"/>"#,
            r#"<use href="other.svg#x"/>"#,
            r#"<rect style="fill:url(https://evil.example/f)" width="1" height="1"/>"#,
            "<style>@import url(https://evil.example/a.css);</style>",
            r#"<set attributeName="href" to="javascript:alert(1)"/>"#,
            "<?xml-stylesheet href=\"https://evil.example/a.css\"?>",
        ] {
            let svg = wrap_body(body);
            assert!(check_upload(svg.as_bytes()).is_err(), "accepted {body}");
        }
        let ok = wrap_body(
            r##"<defs><linearGradient id="g"/></defs><rect fill="url(#g)" width="1" height="1"/><use href="#g"/>"##,
        );
        check_upload(ok.as_bytes()).unwrap();
        let dtd = format!(r#"<!DOCTYPE svg [<!ENTITY x "y">]>{}"#, wrap_body("&x;"));
        assert!(check_upload(dtd.as_bytes()).is_err());
        assert!(check_upload(b"<html xmlns=\"http://www.w3.org/1999/xhtml\"/>").is_err());
        assert!(check_upload(b"<svg>").is_err());
    }

    #[test]
    fn baking_adds_the_namespace_and_the_credential_element() {
        let svg = generate("Acme", "Cloud Associate");
        let json = r#"{"name":"a ]]> b","x":"<&>"}"#;
        let baked = bake(&svg, json).unwrap();
        assert!(baked.contains(r#"xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0""#));
        assert!(baked.contains("<openbadges:credential><![CDATA["));
        assert_eq!(baked_text(&baked).unwrap().as_deref(), Some(json));
        assert_eq!(baked_text(&svg).unwrap(), None);
        assert!(check_upload(baked.as_bytes()).is_err());
        // A self-closing root and a `>` inside an attribute value.
        let tiny = format!(r#"<svg xmlns="{SVG_NS}" aria-label="a > b"/>"#);
        let baked = bake(&tiny, "{}").unwrap();
        assert_eq!(baked_text(&baked).unwrap().as_deref(), Some("{}"));
        assert!(baked.ends_with("</svg>"));
    }
}
