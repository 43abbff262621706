//! QTI 2.x and 3.0 items and tests (both spellings read through `xml::name`/`xml::attr`).

use std::collections::HashSet;

use roxmltree::{Document, Node};

use super::xml::{self, attr, child, children, descendants};
use super::{resolve, Package, Reader, Root};
use crate::exams::model::{is_valid_id, Choice, Question, QuestionKind, TextFormat};
use crate::exams::GENERAL_DOMAIN;

/// Attribute carrying a text's source on the element Credo's export wraps it in, and the question's format on
/// the stem's element; with them a Credo package reads back exactly (other tools show the rendered HTML).
pub const SOURCE_ATTR: &str = "data-credo-source";
pub const FORMAT_ATTR: &str = "data-credo-format";
/// `identifier` of the modal feedback that lists a question's references.
pub const REFERENCES_FEEDBACK: &str = "credo-references";

/// Reads one item into `domain`; an item that is not importable is a warning naming its reason.
pub fn item(reader: &mut Reader, file: &str, doc: &Document<'_>, domain: &str) {
    let root = doc.root_element();
    let line = xml::line(root);
    let identifier = attr(root, "identifier").unwrap_or("").trim().to_owned();
    match choice_item(root) {
        Ok(built) => {
            let id = reader.question_id(file, line, &identifier);
            let question = Question {
                id,
                domain: domain.to_owned(),
                ..built
            };
            let title = if domain == GENERAL_DOMAIN {
                "General"
            } else {
                domain
            };
            reader.push(file, question, title);
        }
        Err(reason) => {
            let shown = if identifier.is_empty() {
                None
            } else {
                Some(identifier.as_str())
            };
            reader.warn(file, line, shown, format!("skipped: {reason}"));
        }
    }
}

/// A text of the item: Credo's source when the element carries it, else the element's content as HTML.
fn text_of(node: Node<'_, '_>, skip: &[&str]) -> (String, Option<TextFormat>) {
    if let Some(source) = node
        .children()
        .find(|c| c.is_element() && c.attribute(SOURCE_ATTR).is_some())
    {
        let format = source.attribute(FORMAT_ATTR).and_then(parse_format);
        return (
            source.attribute(SOURCE_ATTR).unwrap_or("").to_owned(),
            format,
        );
    }
    let html = xml::inner_html(node, &|n| {
        skip.contains(&xml::name(n).as_str()).then(String::new)
    });
    (html, None)
}

fn parse_format(text: &str) -> Option<TextFormat> {
    match text {
        "markdown" => Some(TextFormat::Markdown),
        "html" => Some(TextFormat::Html),
        "plain" => Some(TextFormat::Plain),
        _ => None,
    }
}

/// The question of a choice item (id and domain left for the caller), or why it is not imported.
fn choice_item(root: Node<'_, '_>) -> Result<Question, String> {
    let body = child(root, "itemBody").ok_or("the item has no itemBody")?;
    let interactions: Vec<String> = body
        .descendants()
        .filter(|n| n.is_element())
        .map(xml::name)
        .filter(|name| name.ends_with("Interaction"))
        .collect();
    let supported = interactions
        .iter()
        .filter(|n| *n == "choiceInteraction")
        .count();
    if interactions.is_empty() {
        return Err("no interaction (an item without a question to answer)".into());
    }
    if supported != 1 || interactions.len() != 1 {
        let mut names: Vec<&str> = interactions.iter().map(String::as_str).collect();
        names.dedup();
        return Err(format!(
            "unsupported interaction(s) {}; only items with exactly one choiceInteraction are imported",
            names.join(", ")
        ));
    }
    let interaction = descendants(body, "choiceInteraction")
        .next()
        .ok_or("no choiceInteraction")?;
    let response_id = attr(interaction, "responseIdentifier").unwrap_or("RESPONSE");
    let declaration = children(root, "responseDeclaration")
        .find(|d| attr(*d, "identifier") == Some(response_id))
        .ok_or_else(|| format!("no responseDeclaration for `{response_id}`"))?;
    let multiple = match attr(declaration, "cardinality") {
        Some("single") => false,
        Some("multiple") => true,
        other => {
            return Err(format!(
                "cardinality `{}` is not single or multiple",
                other.unwrap_or("")
            ))
        }
    };
    let correct_values: Vec<String> = child(declaration, "correctResponse")
        .into_iter()
        .flat_map(|c| children(c, "value"))
        .map(|v| xml::plain_text(v))
        .collect();
    let mapping = child(declaration, "mapping");
    let positive_keys: Vec<String> = mapping
        .into_iter()
        .flat_map(|m| children(m, "mapEntry"))
        .filter(|e| {
            attr(*e, "mappedValue")
                .and_then(|v| v.trim().parse::<f64>().ok())
                .is_some_and(|v| v > 0.0)
        })
        .filter_map(|e| attr(e, "mapKey").map(|k| k.trim().to_owned()))
        .collect();
    let correct: HashSet<String> = correct_values
        .iter()
        .chain(&positive_keys)
        .cloned()
        .collect();

    // The stem: the body with the interaction replaced by its prompt; Credo's own source when present.
    let stem_source = body
        .children()
        .find(|c| c.is_element() && c.attribute(SOURCE_ATTR).is_some());
    let (stem, format) = match stem_source {
        Some(node) => (
            node.attribute(SOURCE_ATTR).unwrap_or("").to_owned(),
            node.attribute(FORMAT_ATTR)
                .and_then(parse_format)
                .unwrap_or(TextFormat::Html),
        ),
        None => {
            let html = xml::inner_html(body, &|n| match xml::name(n).as_str() {
                "choiceInteraction" => Some(
                    child(n, "prompt")
                        .map(|p| format!("<p>{}</p>", xml::inner_html(p, &|_| None)))
                        .unwrap_or_default(),
                ),
                "feedbackBlock" | "rubricBlock" | "modalFeedback" => Some(String::new()),
                _ => None,
            });
            (html, TextFormat::Html)
        }
    };
    if stem.trim().is_empty() {
        return Err("the item has no question text".into());
    }

    let mut choices = Vec::new();
    let mut ids = HashSet::new();
    for choice in children(interaction, "simpleChoice") {
        let identifier = attr(choice, "identifier").unwrap_or("").trim().to_owned();
        if !is_valid_id(&identifier) {
            return Err(format!("choice identifier `{identifier}` is not usable (letters, digits, `-`, `_`, `.`, at most 64)"));
        }
        if !ids.insert(identifier.clone()) {
            return Err(format!("choice identifier `{identifier}` is used twice"));
        }
        let (text, _) = text_of(choice, &["feedbackInline"]);
        let feedback = children(choice, "feedbackInline")
            .map(|f| text_of(f, &[]).0)
            .find(|f| !f.trim().is_empty());
        if text.trim().is_empty() {
            return Err(format!("choice `{identifier}` has no text"));
        }
        choices.push(Choice {
            correct: correct.contains(&identifier),
            id: identifier,
            text,
            feedback,
        });
    }
    if choices.len() < 2 {
        return Err("a choice item needs at least two choices".into());
    }
    if let Some(unknown) = correct.iter().find(|c| !ids.contains(*c)) {
        return Err(format!(
            "the correct response `{unknown}` is not one of the choices"
        ));
    }
    if correct.is_empty() {
        return Err("no correct response (correctResponse or a positive mapping)".into());
    }

    let mut explanation_parts: Vec<String> = Vec::new();
    let mut references = Vec::new();
    for feedback in children(root, "modalFeedback") {
        if attr(feedback, "identifier") == Some(REFERENCES_FEEDBACK) {
            references.extend(
                feedback
                    .descendants()
                    .filter(|n| n.tag_name().name() == "a")
                    .filter_map(|a| a.attribute("href").map(str::to_owned)),
            );
            continue;
        }
        let content = child(feedback, "contentBody").unwrap_or(feedback);
        let (text, _) = text_of(content, &[]);
        if !text.trim().is_empty() && !explanation_parts.contains(&text) {
            explanation_parts.push(text);
        }
    }
    let explanation = (!explanation_parts.is_empty()).then(|| explanation_parts.join("\n\n"));

    let kind = if multiple {
        QuestionKind::Multiple
    } else if is_true_false(&choices) {
        QuestionKind::TrueFalse
    } else {
        QuestionKind::Single
    };
    let choices = if kind == QuestionKind::TrueFalse {
        let answer_true = choices
            .iter()
            .any(|c| c.correct && plain(&c.text) == "true");
        let feedback_of = |value: &str| {
            choices
                .iter()
                .find(|c| plain(&c.text) == value)
                .and_then(|c| c.feedback.clone())
        };
        Choice::true_false(answer_true)
            .into_iter()
            .map(|c| Choice {
                feedback: feedback_of(&c.id),
                ..c
            })
            .collect()
    } else {
        choices
    };
    Ok(Question {
        id: String::new(),
        domain: String::new(),
        kind,
        stem,
        stem_format: format,
        choices,
        explanation,
        references,
        partial_credit: multiple && mapping.is_some(),
    })
}

/// The text of a choice without markup, lower case.
fn plain(text: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.extend(c.to_lowercase()),
            _ => {}
        }
    }
    out.trim().to_owned()
}

/// Two choices reading "True" and "False" with one of them right: a true/false item.
fn is_true_false(choices: &[Choice]) -> bool {
    let mut texts: Vec<String> = choices.iter().map(|c| plain(&c.text)).collect();
    texts.sort();
    texts == ["false", "true"] && choices.iter().filter(|c| c.correct).count() == 1
}

/// Reads a test: sections become domains (nested sections count for their top-level section), items are
/// read from the package.
pub fn test(reader: &mut Reader, file: &str, doc: &Document<'_>, files: &Package) {
    let root = doc.root_element();
    reader.blueprint_in_file = true;
    if reader.title.is_none() {
        reader.title = attr(root, "title")
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
    }
    let limits = child(root, "timeLimits")
        .or_else(|| children(root, "testPart").find_map(|p| child(p, "timeLimits")));
    if let Some(seconds) = limits
        .and_then(|l| attr(l, "maxTime"))
        .and_then(|t| t.trim().parse::<f64>().ok())
    {
        if seconds > 0.0 {
            reader.duration_minutes = Some((seconds / 60.0).ceil().min(f64::from(u32::MAX)) as u32);
        }
    }
    for part in children(root, "testPart") {
        for section in children(part, "assessmentSection") {
            self::section(reader, file, section, files);
        }
    }
}

fn section(reader: &mut Reader, file: &str, section: Node<'_, '_>, files: &Package) {
    let line = xml::line(section);
    let identifier = attr(section, "identifier").unwrap_or("").trim();
    let mut domain: String = identifier
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if !is_valid_id(&domain) {
        domain = format!("section-{}", reader.domains.len() + 1);
    }
    let title = attr(section, "title")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(identifier)
        .to_owned();
    let before = reader.questions.len();
    for node in section.descendants().filter(|n| n.is_element()) {
        match xml::name(node).as_str() {
            "assessmentItemRef" => {
                let href = attr(node, "href").unwrap_or("");
                let path = resolve(file, href);
                match files.text(&path).map(str::to_owned) {
                    Some(text) => {
                        if let Some((doc, kind)) = reader.document(&path, &text) {
                            if kind == Root::Item {
                                item(reader, &path, &doc, &domain);
                            } else {
                                reader.warn(file, xml::line(node), None, format!("skipped: `{href}` is not an assessmentItem"));
                            }
                        }
                    }
                    None => reader.warn(file, xml::line(node), attr(node, "identifier"), format!("skipped: the item file `{href}` is not in the package")),
                }
            }
            "assessmentSectionRef" => reader.warn(file, xml::line(node), None, "skipped: assessmentSectionRef (sections in other files) is not supported; put the section in the test"),
            _ => {}
        }
    }
    let imported = reader.questions.len() - before;
    if imported == 0 {
        reader.warn(
            file,
            line,
            None,
            format!("section `{identifier}` has no importable item; no domain was made for it"),
        );
        return;
    }
    if let Some(entry) = reader.domains.iter_mut().find(|d| d.id == domain) {
        entry.title = title;
        if let Some(select) = child(section, "selection")
            .and_then(|s| attr(s, "select"))
            .and_then(|s| s.trim().parse::<u32>().ok())
        {
            if select == 0 || select > entry.questions_per_form {
                let available = entry.questions_per_form;
                reader.warn(file, line, None, format!("section `{identifier}` selects {select} item(s) but {available} were imported; every form draws all {available}"));
            } else {
                entry.questions_per_form = select;
            }
        }
    }
}
