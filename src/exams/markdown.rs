//! Safe HTML from bank text. Bank authors are trusted less than the site: a question is shown to every
//! candidate, so nothing in it may run script or link to `javascript:`. Markdown keeps its formatting but raw
//! HTML is shown as text; GIFT `[html]` text goes through an allow-list sanitizer; plain text is escaped.

use std::collections::HashSet;
use std::sync::LazyLock;

use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag, TagEnd};

use super::model::TextFormat;

/// Markdown (CommonMark + tables + strikethrough) to HTML. Raw HTML is escaped and shown as text; links and
/// images keep only `http`, `https` and `mailto` targets (anything else becomes its text / alt text).
pub fn render_markdown(source: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    // One flag per open link or image: whether its start tag was dropped, so its end tag is dropped too.
    let mut dropped: Vec<bool> = Vec::new();
    let events = Parser::new_ext(source, options).filter_map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        // The raw lines of an HTML block become text inside a paragraph.
        Event::Start(Tag::HtmlBlock) => Some(Event::Start(Tag::Paragraph)),
        Event::End(TagEnd::HtmlBlock) => Some(Event::End(TagEnd::Paragraph)),
        Event::Start(Tag::Link { ref dest_url, .. })
        | Event::Start(Tag::Image { ref dest_url, .. }) => {
            let keep = is_safe_url(dest_url);
            dropped.push(!keep);
            keep.then_some(event)
        }
        Event::End(TagEnd::Link) | Event::End(TagEnd::Image) => {
            let was_dropped = dropped.pop().unwrap_or(false);
            (!was_dropped).then_some(event)
        }
        other => Some(other),
    });
    let mut out = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// Markdown for a short inline text such as a choice: without the wrapping `<p>` when it is one paragraph,
/// so it can sit inside a `<label>`.
pub fn render_markdown_inline(source: &str) -> String {
    unwrap_single_paragraph(render_markdown(source))
}

/// Block HTML of a question text in its format.
pub fn render_text(source: &str, format: TextFormat) -> String {
    match format {
        TextFormat::Markdown => render_markdown(source),
        TextFormat::Html => sanitize_html(source),
        TextFormat::Plain => source
            .split("\n\n")
            .map(str::trim)
            .filter(|paragraph| !paragraph.is_empty())
            .map(|paragraph| format!("<p>{}</p>\n", plain_inline(paragraph)))
            .collect(),
    }
}

/// Inline HTML of a short text (a choice) in its format.
pub fn render_text_inline(source: &str, format: TextFormat) -> String {
    match format {
        TextFormat::Markdown => render_markdown_inline(source),
        TextFormat::Html => sanitize_html(source),
        TextFormat::Plain => plain_inline(source.trim()),
    }
}

/// Escapes text for use in HTML content or a quoted attribute.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

fn plain_inline(text: &str) -> String {
    escape_html(text).replace('\n', "<br>\n")
}

fn unwrap_single_paragraph(rendered: String) -> String {
    let trimmed = rendered.trim_end();
    match trimmed
        .strip_prefix("<p>")
        .and_then(|rest| rest.strip_suffix("</p>"))
    {
        Some(inner) if !inner.contains("<p>") => inner.to_owned(),
        _ => rendered,
    }
}

fn is_safe_url(url: &CowStr) -> bool {
    let Some((scheme, _)) = url.trim().split_once(':') else {
        return false;
    };
    matches!(
        scheme.to_ascii_lowercase().as_str(),
        "http" | "https" | "mailto"
    )
}

/// Allow-list HTML sanitizer (ammonia's defaults: formatting, lists, tables, code, links, images) with URLs
/// limited to http, https and mailto, and no relative URLs.
static HTML_SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer nofollow"));
    builder
});

/// Cleans untrusted HTML (GIFT `[html]` text) down to safe formatting.
pub fn sanitize_html(source: &str) -> String {
    HTML_SANITIZER.clean(source).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tag names of the real (unescaped) tags in `html`, closing tags with a leading '/'.
    fn tag_names(html: &str) -> Vec<String> {
        html.split('<')
            .skip(1)
            .map(|rest| {
                rest.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '/')
                    .collect()
            })
            .collect()
    }

    fn assert_only_tags(html: &str, allowed: &[&str]) {
        for name in tag_names(html) {
            assert!(allowed.contains(&name.as_str()), "tag <{name}> in {html}");
        }
        let lower = html.to_ascii_lowercase();
        assert!(
            !lower.contains("href=\"javascript"),
            "javascript URL in a link: {html}"
        );
        assert!(
            !lower.contains("src=\"javascript"),
            "javascript URL in an image: {html}"
        );
    }

    #[test]
    fn markdown_formatting_is_kept() {
        assert_eq!(
            render_markdown("Use **`pg_dump`** to [back up](https://example.com/a?b=1&c=2)."),
            "<p>Use <strong><code>pg_dump</code></strong> to <a href=\"https://example.com/a?b=1&amp;c=2\">back up</a>.</p>\n"
        );
        assert!(render_markdown("| a | b |\n|---|---|\n| 1 | 2 |").contains("<table>"));
    }

    #[test]
    fn raw_html_is_shown_as_text() {
        let html = render_markdown("Hi <script>alert(1)</script> there");
        assert_eq!(
            html,
            "<p>Hi &lt;script&gt;alert(1)&lt;/script&gt; there</p>\n"
        );
        let block = render_markdown("<div onclick=\"steal()\">\n<script>alert(1)</script>\n</div>");
        assert_only_tags(&block, &["p", "/p"]);
        assert!(
            block.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{block}"
        );
        assert!(block.starts_with("<p>"), "{block}");
        assert_only_tags(
            &render_markdown("<img src=x onerror=alert(1)>"),
            &["p", "/p"],
        );
        assert_only_tags(
            &render_markdown("`<script>` and <b onmouseover=x>"),
            &["p", "/p", "code", "/code"],
        );
    }

    #[test]
    fn dangerous_link_and_image_targets_are_dropped() {
        assert_eq!(
            render_markdown("[click](javascript:alert(1))"),
            "<p>click</p>\n"
        );
        assert_eq!(
            render_markdown("[click](JavaScript:alert(1))"),
            "<p>click</p>\n"
        );
        assert_eq!(
            render_markdown("[x](java&#x09;script:alert(1))"),
            "<p>x</p>\n"
        );
        assert_eq!(
            render_markdown("<javascript:alert(1)>"),
            "<p>javascript:alert(1)</p>\n"
        );
        assert_eq!(
            render_markdown("![cat](javascript:alert(1))"),
            "<p>cat</p>\n"
        );
        assert_eq!(
            render_markdown("![cat](data:image/svg+xml;base64,PHN2Zz4=)"),
            "<p>cat</p>\n"
        );
        assert_eq!(render_markdown("[rel](/admin)"), "<p>rel</p>\n");
        assert_eq!(
            render_markdown("[![logo](https://example.com/l.png)](vbscript:x)"),
            "<p><img src=\"https://example.com/l.png\" alt=\"logo\" /></p>\n"
        );
        assert_eq!(
            render_markdown("[mail](mailto:a@example.com)"),
            "<p><a href=\"mailto:a@example.com\">mail</a></p>\n"
        );
    }

    #[test]
    fn attribute_breakout_is_escaped() {
        let html = render_markdown("[x](https://example.com/\"onmouseover=\"alert(1))");
        assert!(!html.contains("\"onmouseover"), "{html}");
    }

    #[test]
    fn html_format_is_sanitized() {
        let html = sanitize_html(
            "<p>Pick <b>one</b><script>alert(1)</script><img src=x onerror=alert(1)><a href=\"javascript:alert(1)\">x</a></p>",
        );
        assert_only_tags(&html, &["p", "/p", "b", "/b", "img", "a", "/a"]);
        assert!(!html.contains("onerror"), "{html}");
        assert!(html.contains("<b>one</b>"), "{html}");
        assert!(!html.contains("javascript"), "{html}");
        let link = sanitize_html("<a href=\"https://example.com\">ok</a>");
        assert!(link.contains("href=\"https://example.com\""), "{link}");
        assert!(
            link.contains("rel=\"noopener noreferrer nofollow\""),
            "{link}"
        );
    }

    #[test]
    fn plain_format_is_escaped() {
        assert_eq!(
            render_text("Is 3 < 5?\n<b>really</b>\n\nSecond", TextFormat::Plain),
            "<p>Is 3 &lt; 5?<br>\n&lt;b&gt;really&lt;/b&gt;</p>\n<p>Second</p>\n"
        );
        assert_eq!(
            render_text_inline("a \"b\" & c", TextFormat::Plain),
            "a &quot;b&quot; &amp; c"
        );
    }

    #[test]
    fn inline_rendering_drops_a_single_paragraph_wrapper_only() {
        assert_eq!(render_markdown_inline("`pg_wal/`"), "<code>pg_wal/</code>");
        assert_eq!(
            render_markdown_inline("one\n\ntwo"),
            "<p>one</p>\n<p>two</p>\n"
        );
        assert_eq!(render_text_inline("<i>x</i>", TextFormat::Html), "<i>x</i>");
        assert_eq!(
            render_text_inline("<i>x</i>", TextFormat::Markdown),
            "&lt;i&gt;x&lt;/i&gt;"
        );
    }
}
