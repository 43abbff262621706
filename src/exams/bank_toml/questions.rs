//! The `[[domains]]` and `[[questions]]` tables: ids, the blueprint, question kinds and their choices.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use toml::de::DeValue;

use super::{describe, Report, Table, U32_MAX};
use crate::exams::model::{is_valid_id, Choice, Domain, Question, QuestionKind, TextFormat};
use toml::Spanned;

const DOMAIN_FIELDS: &[&str] = &["id", "title", "questions_per_form"];
const QUESTION_FIELDS: &[&str] = &[
    "id",
    "domain",
    "type",
    "stem",
    "choices",
    "answer",
    "explanation",
    "references",
    "partial_credit",
];
const CHOICE_FIELDS: &[&str] = &["id", "text", "correct", "feedback"];

/// Reads a required id field and checks its characters.
fn read_id(report: &mut Report, table: &Table, what: &str) -> Option<(String, Range<usize>)> {
    let (id, span) = table.required_string(report, "id", &format!("an `id` for the {what}"))?;
    if is_valid_id(&id) {
        Some((id, span))
    } else {
        report.at(
            &span,
            table.question(),
            format!("{what} id \"{id}\" is not valid: use 1–64 letters, digits, '-', '_' or '.'"),
        );
        None
    }
}

pub(super) fn read_domains(report: &mut Report, tables: &[Table]) -> Vec<Domain> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut domains = Vec::new();
    for table in tables {
        table.reject_unknown(report, DOMAIN_FIELDS);
        let id = read_id(report, table, "domain");
        if let Some((id, span)) = &id {
            if !seen.insert(id.clone()) {
                report.at(
                    span,
                    None,
                    format!("duplicate domain id `{id}`: domain ids must be unique in the file"),
                );
            }
        }
        let title = table.required_text(report, "title", "the domain's title");
        if table.get("questions_per_form").is_none() {
            table.missing(
                report,
                "questions_per_form",
                "how many questions each form draws from this domain",
            );
        }
        let questions_per_form =
            table.bounded(report, "questions_per_form", 1, U32_MAX, "1 or more");
        // Keep a domain whose id is readable, even with other errors, so its questions don't also fail.
        if let Some((id, _)) = id {
            domains.push(Domain {
                id,
                title: title.unwrap_or_default(),
                questions_per_form: questions_per_form.unwrap_or(0),
            });
        }
    }
    domains
}

pub(super) fn read_questions(
    report: &mut Report,
    tables: Vec<Table>,
    domains: &[Domain],
) -> Vec<Question> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut questions = Vec::new();
    for mut table in tables {
        if let Some(DeValue::String(id)) = table.get("id").map(Spanned::get_ref) {
            table.question = Some(id.to_string());
        }
        let question = read_question(report, &table, domains);
        if let Some(question) = question {
            let line = report.line_of(table.span.start);
            report
                .question_lines
                .entry(question.id.clone())
                .or_insert(line);
            if !seen.insert(question.id.clone()) {
                if let Some(id_value) = table.get("id") {
                    report.at(
                        &id_value.span(),
                        table.question(),
                        format!(
                            "duplicate question id `{}`: question ids must be unique in the file",
                            question.id
                        ),
                    );
                }
            }
            questions.push(question);
        }
    }
    questions
}

/// Reads one question; `None` only when it has no usable id (errors are reported either way).
fn read_question(report: &mut Report, table: &Table, domains: &[Domain]) -> Option<Question> {
    table.reject_unknown(report, QUESTION_FIELDS);
    let id = read_id(report, table, "question").map(|(id, _)| id);
    let question = table.question();

    let domain = table
        .required_string(report, "domain", "the id of one of the [[domains]]")
        .map(|(domain, span)| {
            if !domains.iter().any(|declared| declared.id == domain) {
                let declared: Vec<String> = domains.iter().map(|d| format!("`{}`", d.id)).collect();
                report.at(
                    &span,
                    question,
                    format!(
                        "unknown domain `{domain}`; declared domains: {}",
                        if declared.is_empty() {
                            "none".to_owned()
                        } else {
                            declared.join(", ")
                        }
                    ),
                );
            }
            domain
        })
        .unwrap_or_default();

    let kind = table
        .required_string(report, "type", "`type = \"single\"`, `\"multiple\"` or `\"true_false\"`")
        .and_then(|(kind, span)| match kind.as_str() {
            "single" => Some(QuestionKind::Single),
            "multiple" => Some(QuestionKind::Multiple),
            "true_false" => Some(QuestionKind::TrueFalse),
            other => {
                report.at(
                    &span,
                    question,
                    format!("unknown question type \"{other}\"; use \"single\", \"multiple\" or \"true_false\""),
                );
                None
            }
        });

    let stem = table
        .required_text(report, "stem", "the question text (Markdown)")
        .unwrap_or_default();
    let explanation = table.optional_text(report, "explanation");
    let references = read_references(report, table);

    let partial_credit = match table.boolean(report, "partial_credit") {
        Some((flag, span)) => {
            if kind.is_some_and(|kind| kind != QuestionKind::Multiple) {
                report.at(
                    &span,
                    question,
                    "`partial_credit` applies to `multiple` questions only; remove it",
                );
            }
            flag
        }
        None => false,
    };

    let choices = match kind {
        Some(QuestionKind::TrueFalse) => read_true_false(report, table),
        Some(kind) => read_choices(report, table, kind),
        None => Vec::new(),
    };

    Some(Question {
        id: id?,
        domain,
        kind: kind.unwrap_or(QuestionKind::Single),
        stem,
        stem_format: TextFormat::Markdown,
        choices,
        explanation,
        references,
        partial_credit,
    })
}

fn read_references(report: &mut Report, table: &Table) -> Vec<String> {
    let Some((array, _)) = table.array(report, "references", "a list of URLs") else {
        return Vec::new();
    };
    let mut references = Vec::new();
    for item in array.iter() {
        match item.get_ref() {
            DeValue::String(url) => {
                let url = url.trim();
                let rest = url
                    .strip_prefix("https://")
                    .or_else(|| url.strip_prefix("http://"));
                if rest.is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
                {
                    references.push(url.to_owned());
                } else {
                    report.at(
                        &item.span(),
                        table.question(),
                        format!("reference \"{url}\" is not a URL; write a full http:// or https:// address"),
                    );
                }
            }
            other => report.at(
                &item.span(),
                table.question(),
                format!(
                    "each reference must be a URL in quotes, not {}",
                    describe(other)
                ),
            ),
        }
    }
    references
}

fn read_true_false(report: &mut Report, table: &Table) -> Vec<Choice> {
    if let Some(choices) = table.get("choices") {
        report.at(
            &choices.span(),
            table.question(),
            "`true_false` questions take `answer = true` or `answer = false`, not `choices`; remove `choices`",
        );
    }
    if table.get("answer").is_none() {
        table.missing(report, "answer", "`answer = true` or `answer = false`");
    }
    match table.boolean(report, "answer") {
        Some((answer, _)) => Choice::true_false(answer),
        None => Vec::new(),
    }
}

/// Default choice ids by position: a, b, …, z, aa, ab, …
pub(super) fn default_choice_id(index: usize) -> String {
    let mut id = Vec::new();
    let mut n = index + 1;
    while n > 0 {
        n -= 1;
        id.push(b'a' + (n % 26) as u8);
        n /= 26;
    }
    id.reverse();
    String::from_utf8_lossy(&id).into_owned()
}

fn read_choices(report: &mut Report, table: &Table, kind: QuestionKind) -> Vec<Choice> {
    let question = table.question();
    if let Some(answer) = table.get("answer") {
        report.at(
            &answer.span(),
            question,
            format!(
                "`answer` is only for `true_false` questions; mark the correct choices of a `{}` question with `correct = true`",
                kind.as_str()
            ),
        );
    }
    if table.get("choices").is_none() {
        table.missing(report, "choices", "at least two choices, e.g. `choices = [{ text = \"…\", correct = true }, { text = \"…\" }]`");
        return Vec::new();
    }
    let Some((array, span)) = table.array(report, "choices", "a list of choices") else {
        return Vec::new();
    };

    let mut choices = Vec::new();
    let mut ids: HashSet<String> = HashSet::new();
    let mut texts: HashMap<String, usize> = HashMap::new();
    for (index, item) in array.iter().enumerate() {
        let DeValue::Table(choice_table) = item.get_ref() else {
            report.at(
                &item.span(),
                question,
                format!(
                    "choice {} must be a table like `{{ text = \"…\", correct = true }}`, not {}",
                    index + 1,
                    describe(item.get_ref())
                ),
            );
            continue;
        };
        let choice = Table {
            table: choice_table,
            span: item.span(),
            label: format!("choice {}", index + 1),
            question: table.question.clone(),
        };
        choice.reject_unknown(report, CHOICE_FIELDS);
        let id = match choice.string(report, "id") {
            Some((id, id_span)) => {
                if !is_valid_id(&id) {
                    report.at(
                        &id_span,
                        question,
                        format!("choice id \"{id}\" is not valid: use 1–64 letters, digits, '-', '_' or '.'"),
                    );
                }
                id
            }
            None => default_choice_id(index),
        };
        if !ids.insert(id.clone()) {
            report.at(
                &item.span(),
                question,
                format!("choice id `{id}` is used twice in this question (choices without `id` are `a`, `b`, `c`, … by position); make the ids unique"),
            );
        }
        let text = choice
            .required_text(report, "text", "the choice's text")
            .unwrap_or_default();
        if !text.is_empty() {
            if let Some(first) = texts.insert(text.clone(), index + 1) {
                report.at(
                    &item.span(),
                    question,
                    format!("choices {first} and {} have the same text \"{text}\"; make each choice different", index + 1),
                );
            }
        }
        let correct = choice
            .boolean(report, "correct")
            .map(|(flag, _)| flag)
            .unwrap_or(false);
        let feedback = choice.optional_text(report, "feedback");
        choices.push(Choice {
            id,
            text,
            correct,
            feedback,
        });
    }

    if array.len() < 2 {
        report.at(
            &span,
            question,
            format!(
                "a `{}` question needs at least two choices; it has {}",
                kind.as_str(),
                array.len()
            ),
        );
    }
    let correct = choices.iter().filter(|choice| choice.correct).count();
    match kind {
        QuestionKind::Single if correct == 0 => report.at(
            &span,
            question,
            "`single` question has no correct choice; mark exactly one with `correct = true`",
        ),
        QuestionKind::Single if correct > 1 => report.at(
            &span,
            question,
            format!("`single` question has {correct} correct choices; mark exactly one (or make it `multiple`)"),
        ),
        QuestionKind::Multiple if correct == 0 => report.at(
            &span,
            question,
            "`multiple` question has no correct choice; mark at least one with `correct = true`",
        ),
        _ => {}
    }
    choices
}
