//! QTI 1.2 `questestinterop` (Canvas Classic Quizzes exports): `response_lid` choice items; sections become
//! domains.

use std::collections::{HashMap, HashSet};

use roxmltree::{Document, Node};

use super::xml;
use super::Reader;
use crate::exams::model::{is_valid_id, Choice, Question, QuestionKind, TextFormat};
use crate::exams::GENERAL_DOMAIN;

/// Canvas `question_type`s that are choice items.
const CHOICE_TYPES: [&str; 3] = [
    "multiple_choice_question",
    "true_false_question",
    "multiple_answers_question",
];

fn elements<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.descendants()
        .filter(move |n| n.is_element() && n.tag_name().name() == name)
}

fn first<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> Option<Node<'a, 'i>> {
    elements(node, name).next()
}

/// The text of a `material` (its `mattext`s): HTML as given for `text/html`, escaped otherwise.
fn material_text(material: Node<'_, '_>) -> String {
    elements(material, "mattext")
        .map(|m| {
            let text = m.text().unwrap_or("").trim().to_owned();
            if m.attribute("texttype")
                .is_some_and(|t| t.eq_ignore_ascii_case("text/html"))
            {
                text
            } else {
                crate::exams::markdown::escape_html(&text)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn questestinterop(reader: &mut Reader, file: &str, doc: &Document<'_>) {
    let root = doc.root_element();
    if let Some(assessment) = first(root, "assessment") {
        if reader.title.is_none() {
            reader.title = assessment
                .attribute("title")
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty());
        }
    }
    for item in elements(root, "item") {
        // The section an item is in, the outermost one below the assessment (Canvas puts everything into
        // `root_section`, which is not a domain).
        let section = item
            .ancestors()
            .filter(|a| a.is_element() && a.tag_name().name() == "section")
            .filter(|s| s.attribute("ident") != Some("root_section"))
            .last();
        let (domain, title) = match section {
            Some(section) => {
                let ident = section.attribute("ident").unwrap_or("");
                let mut id: String = ident
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
                if !is_valid_id(&id) {
                    id = GENERAL_DOMAIN.to_owned();
                }
                let title = section
                    .attribute("title")
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .unwrap_or(ident)
                    .to_owned();
                (id, title)
            }
            None => (GENERAL_DOMAIN.to_owned(), "General".to_owned()),
        };
        let line = xml::line(item);
        let ident = item.attribute("ident").unwrap_or("").trim().to_owned();
        match choice_item(item) {
            Ok(built) => {
                let id = reader.question_id(file, line, &ident);
                reader.push(
                    file,
                    Question {
                        id,
                        domain,
                        ..built
                    },
                    &title,
                );
            }
            Err(reason) => {
                let shown = (!ident.is_empty()).then_some(ident.as_str());
                reader.warn(file, line, shown, format!("skipped: {reason}"));
            }
        }
    }
}

fn choice_item(item: Node<'_, '_>) -> Result<Question, String> {
    let question_type = elements(item, "qtimetadatafield")
        .find(|f| {
            first(*f, "fieldlabel")
                .and_then(|l| l.text())
                .map(str::trim)
                == Some("question_type")
        })
        .and_then(|f| {
            first(f, "fieldentry")
                .and_then(|e| e.text())
                .map(|t| t.trim().to_owned())
        });
    if let Some(kind) = &question_type {
        if !CHOICE_TYPES.contains(&kind.as_str()) {
            return Err(format!("unsupported question type `{kind}`; only multiple choice, multiple answers and true/false are imported"));
        }
    }
    let presentation = first(item, "presentation").ok_or("the item has no presentation")?;
    let responses: Vec<Node<'_, '_>> = presentation
        .descendants()
        .filter(|n| {
            n.is_element()
                && matches!(
                    n.tag_name().name(),
                    "response_lid"
                        | "response_str"
                        | "response_num"
                        | "response_xy"
                        | "response_grp"
                )
        })
        .collect();
    let lid = match responses.as_slice() {
        [one] if one.tag_name().name() == "response_lid" => *one,
        [] => return Err("no response (an item without a question to answer)".into()),
        many => {
            let mut names: Vec<&str> = many.iter().map(|n| n.tag_name().name()).collect();
            names.dedup();
            return Err(format!(
                "unsupported response(s) {}; only items with one response_lid are imported",
                names.join(", ")
            ));
        }
    };
    let multiple = lid
        .attribute("rcardinality")
        .is_some_and(|c| c.eq_ignore_ascii_case("multiple"));
    // The stem: the presentation's materials outside the response.
    let stem = presentation
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == "material")
        .map(material_text)
        .collect::<Vec<_>>()
        .join("\n");
    if stem.trim().is_empty() {
        return Err("the item has no question text".into());
    }

    // Right answers: `varequal`s (not under `not`) of the conditions that set a positive score.
    let mut correct = HashSet::new();
    let mut feedback_links: HashMap<String, String> = HashMap::new();
    for condition in elements(item, "respcondition") {
        let direct: Vec<String> = elements(condition, "varequal")
            .filter(|v| !v.ancestors().any(|a| a.tag_name().name() == "not"))
            .filter_map(|v| v.text().map(|t| t.trim().to_owned()))
            .collect();
        let scores = elements(condition, "setvar")
            .filter_map(|s| s.text().and_then(|t| t.trim().parse::<f64>().ok()))
            .any(|value| value > 0.0);
        if scores {
            correct.extend(direct.iter().cloned());
        }
        if let ([choice], Some(link)) = (
            direct.as_slice(),
            first(condition, "displayfeedback").and_then(|d| d.attribute("linkrefid")),
        ) {
            feedback_links
                .entry(choice.clone())
                .or_insert_with(|| link.to_owned());
        }
    }
    let feedback_text = |ident: &str| {
        elements(item, "itemfeedback")
            .find(|f| f.attribute("ident") == Some(ident))
            .map(material_text)
            .filter(|t| !t.trim().is_empty())
    };

    let mut choices = Vec::new();
    let mut ids = HashSet::new();
    for label in elements(lid, "response_label") {
        let ident = label.attribute("ident").unwrap_or("").trim().to_owned();
        if !is_valid_id(&ident) || !ids.insert(ident.clone()) {
            return Err(format!(
                "choice ident `{ident}` is not usable or used twice"
            ));
        }
        let text = material_text(label);
        if text.trim().is_empty() {
            return Err(format!("choice `{ident}` has no text"));
        }
        choices.push(Choice {
            correct: correct.contains(&ident),
            feedback: feedback_links
                .get(&ident)
                .and_then(|link| feedback_text(link)),
            id: ident,
            text,
        });
    }
    if choices.len() < 2 {
        return Err("a choice item needs at least two choices".into());
    }
    let right = choices.iter().filter(|c| c.correct).count();
    if right == 0 {
        return Err("no choice is marked right (no condition sets a positive score)".into());
    }
    let kind = if multiple {
        QuestionKind::Multiple
    } else if question_type.as_deref() == Some("true_false_question")
        && choices.len() == 2
        && right == 1
    {
        QuestionKind::TrueFalse
    } else {
        QuestionKind::Single
    };
    let choices = if kind == QuestionKind::TrueFalse {
        let true_index = choices
            .iter()
            .position(|c| c.text.trim().eq_ignore_ascii_case("true"))
            .unwrap_or(0);
        let (true_choice, false_choice) = (&choices[true_index], &choices[1 - true_index]);
        let mut tf = Choice::true_false(true_choice.correct);
        tf[0].feedback = true_choice.feedback.clone();
        tf[1].feedback = false_choice.feedback.clone();
        tf
    } else {
        choices
    };
    Ok(Question {
        id: String::new(),
        domain: String::new(),
        kind,
        stem,
        stem_format: TextFormat::Html,
        choices,
        explanation: feedback_text("general_fb"),
        references: Vec::new(),
        partial_credit: false,
    })
}
