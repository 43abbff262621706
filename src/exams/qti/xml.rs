//! XML helpers shared by the QTI reader and writer: one view of QTI 2.x (`choiceInteraction`,
//! `responseIdentifier`) and 3.0 (`qti-choice-interaction`, `response-identifier`) names, HTML out of item
//! bodies, escaping for the writer.

use roxmltree::Node;

use crate::exams::markdown::escape_html;

/// The element's name in QTI 2.x spelling: `qti-choice-interaction` → `choiceInteraction`; other names as
/// they are.
pub fn name(node: Node<'_, '_>) -> String {
    let local = node.tag_name().name();
    match local.strip_prefix("qti-") {
        Some(rest) => camel(rest),
        None => local.to_owned(),
    }
}

fn camel(kebab: &str) -> String {
    let mut out = String::with_capacity(kebab.len());
    let mut upper = false;
    for c in kebab.chars() {
        if c == '-' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn kebab(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// An attribute by its QTI 2.x name (`responseIdentifier`), also found in 3.0 spelling
/// (`response-identifier`).
pub fn attr<'a>(node: Node<'a, '_>, camel_name: &str) -> Option<&'a str> {
    node.attribute(camel_name)
        .or_else(|| node.attribute(kebab(camel_name).as_str()))
}

/// Child elements whose (2.x) name is `wanted`.
pub fn children<'a, 'i>(
    node: Node<'a, 'i>,
    wanted: &'static str,
) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children()
        .filter(move |child| child.is_element() && name(*child) == wanted)
}

pub fn child<'a, 'i>(node: Node<'a, 'i>, wanted: &'static str) -> Option<Node<'a, 'i>> {
    children(node, wanted).next()
}

/// Descendant elements (the node included) whose (2.x) name is `wanted`.
pub fn descendants<'a, 'i>(
    node: Node<'a, 'i>,
    wanted: &'static str,
) -> impl Iterator<Item = Node<'a, 'i>> {
    node.descendants()
        .filter(move |d| d.is_element() && name(*d) == wanted)
}

/// 1-based line of a node in its document.
pub fn line(node: Node<'_, '_>) -> usize {
    node.document().text_pos_at(node.range().start).row as usize
}

/// The content of `node` as HTML: elements by their local names with their attributes, text escaped.
/// `replace` may substitute an element's HTML (or drop it with `Some(String::new())`).
pub fn inner_html(node: Node<'_, '_>, replace: &dyn Fn(Node<'_, '_>) -> Option<String>) -> String {
    let mut out = String::new();
    for child in node.children() {
        write_html(child, replace, &mut out);
    }
    collapse_space(&out)
}

fn write_html(
    node: Node<'_, '_>,
    replace: &dyn Fn(Node<'_, '_>) -> Option<String>,
    out: &mut String,
) {
    if node.is_text() {
        out.push_str(&escape_html(node.text().unwrap_or("")));
        return;
    }
    if !node.is_element() {
        return;
    }
    if let Some(html) = replace(node) {
        out.push_str(&html);
        return;
    }
    let tag = node.tag_name().name();
    out.push('<');
    out.push_str(tag);
    for attribute in node.attributes() {
        if attribute.namespace().is_some() {
            continue;
        }
        out.push_str(&format!(
            " {}=\"{}\"",
            attribute.name(),
            escape_html(attribute.value())
        ));
    }
    out.push('>');
    if matches!(
        tag,
        "img" | "br" | "hr" | "col" | "source" | "track" | "wbr"
    ) {
        return;
    }
    for child in node.children() {
        write_html(child, replace, out);
    }
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

/// Runs of whitespace (the indentation of the XML file) become one space; the ends are trimmed.
fn collapse_space(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of `node` without markup, whitespace collapsed.
pub fn plain_text(node: Node<'_, '_>) -> String {
    let text: String = node
        .descendants()
        .filter(|d| d.is_text())
        .filter_map(|d| d.text())
        .collect();
    collapse_space(&text)
}

/// Escapes text for XML content and double-quoted attributes; line breaks and tabs as character references so
/// that attribute values keep them.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_attributes_read_the_same_in_2x_and_3_0() {
        let doc = roxmltree::Document::parse(
            r#"<r><qti-choice-interaction response-identifier="A"/><choiceInteraction responseIdentifier="B"/></r>"#,
        )
        .unwrap();
        let found: Vec<_> = descendants(doc.root_element(), "choiceInteraction")
            .map(|n| attr(n, "responseIdentifier").unwrap())
            .collect();
        assert_eq!(found, ["A", "B"]);
    }

    #[test]
    fn html_of_a_body_collapses_space_and_escapes() {
        let doc = roxmltree::Document::parse(
            "<b xmlns=\"urn:x\">\n  <p class=\"c\">1 &lt; 2</p>\n  <img src=\"a.png\"/><skip>no</skip></b>",
        )
        .unwrap();
        let html = inner_html(doc.root_element(), &|n| {
            (n.tag_name().name() == "skip").then(String::new)
        });
        assert_eq!(html, "<p class=\"c\">1 &lt; 2</p> <img src=\"a.png\">");
        assert_eq!(escape("a\n\"b\""), "a&#10;&quot;b&quot;");
    }
}
