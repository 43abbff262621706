//! Moodle GIFT import into the bank model. Supported: multiple choice (one `=` right answer), multiple answer
//! (`~%w%` weights, no `=`), true/false. Other GIFT types are skipped with a warning naming their line and
//! type; malformed input (unbalanced braces, unclosed `::`, bad weights, empty answers) is an error.
//! Format rules are written down in docs/exam-banks.md ("Importing Moodle GIFT").

#[cfg(test)]
mod tests;
mod tokens;

use std::collections::HashSet;

use crate::exams::lint::QuestionLines;
use crate::exams::model::{Choice, Domain, Question, QuestionKind, TextFormat};
use crate::exams::{BankError, BankErrors, ImportedQuestions, GENERAL_DOMAIN};

use tokens::{blocks, find, find_seq, is, is_blank, starts_with, text_of, tokenize, Tok};

/// Parses a GIFT file. `Err` holds every malformed question of the file; unsupported or unusable (but
/// well-formed) questions are skipped and listed in `warnings`.
pub fn parse_gift(file_name: &str, text: &str) -> Result<ImportedQuestions, BankErrors> {
    let mut parser = GiftParser {
        file: file_name,
        questions: Vec::new(),
        domains: Vec::new(),
        current_domain: None,
        used_ids: HashSet::new(),
        question_count: 0,
        warnings: Vec::new(),
        errors: Vec::new(),
        question_lines: QuestionLines::new(),
    };
    for block in blocks(text) {
        parser.block(&block);
    }
    if parser.errors.is_empty() {
        Ok(ImportedQuestions {
            questions: parser.questions,
            domains: parser.domains,
            warnings: parser.warnings,
            question_lines: parser.question_lines,
            title: None,
            duration_minutes: None,
            blueprint_in_file: false,
        })
    } else {
        parser.errors.sort_by_key(|error| error.line);
        Err(BankErrors {
            errors: parser.errors,
        })
    }
}

/// Lower-case ASCII letters and digits joined by single '-'.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_end_matches('-');
    trimmed
        .chars()
        .take(64)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

/// A GIFT question type we do not import.
#[derive(Debug, Clone, Copy)]
enum Unsupported {
    Essay,
    Numerical,
    Matching,
    ShortAnswer,
    Description,
}

impl Unsupported {
    fn name(self) -> &'static str {
        match self {
            Unsupported::Essay => "essay",
            Unsupported::Numerical => "numerical",
            Unsupported::Matching => "matching",
            Unsupported::ShortAnswer => "short answer",
            Unsupported::Description => "description",
        }
    }
}

/// The two answer-block shapes we import.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// `=`/`~` answers: single or multiple, decided by the answers.
    Choice,
    TrueFalse,
}

/// One answer of a multiple-choice block.
struct Answer {
    marked_right: bool,
    /// Percent; `=` answers without a weight are 100, `~` answers 0.
    weight: f64,
    text: Text,
    feedback: Option<Text>,
    line: usize,
}

/// The format a text is written in: a `[markdown]`, `[html]`, `[plain]` or `[moodle]` marker, else the
/// question's (Moodle's rule for answers and feedback) or, for the question text, `[moodle]`: HTML whose line
/// breaks are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Format {
    format: TextFormat,
    moodle: bool,
}

const MOODLE: Format = Format {
    format: TextFormat::Html,
    moodle: true,
};

/// A text of a question as written, with its format.
struct Text {
    text: String,
    format: Format,
}

impl Text {
    /// The text in the question's `target` format: `[moodle]` line breaks become `<br>`; a text written in
    /// another format than `target` (then HTML) is rendered to HTML.
    fn into_format(self, target: TextFormat, inline: bool) -> String {
        if self.format.moodle {
            moodle_to_html(&self.text)
        } else if self.format.format == target {
            self.text
        } else if inline {
            crate::exams::markdown::render_text_inline(&self.text, self.format.format)
        } else {
            crate::exams::markdown::render_text(&self.text, self.format.format)
                .trim_end()
                .to_owned()
        }
    }
}

/// A choice before its texts are put into the question's format.
struct DraftChoice {
    id: String,
    text: Text,
    correct: bool,
    feedback: Option<Text>,
}

/// Kind, choices and partial credit of an imported question.
type Built = (QuestionKind, Vec<DraftChoice>, bool);

struct GiftParser<'a> {
    file: &'a str,
    questions: Vec<Question>,
    domains: Vec<Domain>,
    current_domain: Option<String>,
    used_ids: HashSet<String>,
    question_count: usize,
    warnings: Vec<BankError>,
    errors: Vec<BankError>,
    question_lines: QuestionLines,
}

impl GiftParser<'_> {
    fn problem(
        &self,
        line: usize,
        question: Option<&str>,
        message: impl Into<String>,
    ) -> BankError {
        BankError {
            file: self.file.to_owned(),
            line,
            question_id: question.map(str::to_owned),
            message: message.into(),
        }
    }

    fn warn(&mut self, line: usize, question: Option<&str>, message: impl Into<String>) {
        let warning = self.problem(line, question, message);
        self.warnings.push(warning);
    }

    fn error(&mut self, line: usize, question: Option<&str>, message: impl Into<String>) {
        let error = self.problem(line, question, message);
        self.errors.push(error);
    }

    fn block(&mut self, block: &[(usize, &str)]) {
        let Some(&(line, first)) = block.first() else {
            return;
        };
        match first.trim_start().strip_prefix("$CATEGORY:") {
            Some(path) => {
                self.category(line, path.trim());
                if block.len() > 1 {
                    self.question(&block[1..]);
                }
            }
            None => self.question(block),
        }
    }

    fn category(&mut self, line: usize, path: &str) {
        let Some(segment) = path.split('/').map(str::trim).rfind(|s| !s.is_empty()) else {
            self.error(
                line,
                None,
                "`$CATEGORY:` needs a category path, e.g. `$CATEGORY: course/Backups`",
            );
            return;
        };
        let mut id = slug(segment);
        if id.is_empty() {
            id = format!("category-{}", self.domains.len() + 1);
            self.warn(
                line,
                None,
                format!("category \"{segment}\" has no ASCII letters or digits for an id; its domain id is `{id}`"),
            );
        }
        self.ensure_domain(&id, segment);
        self.current_domain = Some(id);
    }

    fn ensure_domain(&mut self, id: &str, title: &str) {
        if !self.domains.iter().any(|domain| domain.id == id) {
            self.domains.push(Domain {
                id: id.to_owned(),
                title: title.to_owned(),
                questions_per_form: 0,
            });
        }
    }

    fn question(&mut self, lines: &[(usize, &str)]) {
        self.question_count += 1;
        let toks = tokenize(lines);
        let start_line = lines.first().map_or(1, |(line, _)| *line);
        let mut pos = toks
            .iter()
            .position(|tok| !tok.c.is_whitespace())
            .unwrap_or(toks.len());

        // `::name::` → id.
        let mut title = None;
        if starts_with(&toks, pos, "::") {
            let Some(end) = find_seq(&toks, pos + 2, "::") else {
                self.error(
                    toks[pos].line,
                    None,
                    "question name `::…` is not closed with `::`",
                );
                return;
            };
            title = Some(text_of(&toks[pos + 2..end]));
            pos = end + 2;
        }
        let wanted_id = title.as_deref().map(slug).filter(|id| !id.is_empty());
        let id = match &wanted_id {
            Some(id) => id.clone(),
            None => format!("q-{:03}", self.question_count),
        };
        let qid = Some(id.as_str());

        // The answer block.
        let Some(open) = find(&toks, pos, '{') else {
            if let Some(close) = find(&toks, pos, '}') {
                self.error(
                    toks[close].line,
                    qid,
                    "`}` without an opening `{`; escape a literal brace as `\\}`",
                );
            } else {
                self.skip(start_line, &id, Unsupported::Description);
            }
            return;
        };
        let Some(close) = find(&toks, open + 1, '}') else {
            self.error(toks[open].line, qid, "`{` is never closed with `}`; close the answer block or escape a literal brace as `\\{`");
            return;
        };
        if let Some(nested) = find(&toks, open + 1, '{').filter(|&nested| nested < close) {
            self.error(
                toks[nested].line,
                qid,
                "`{` inside an answer block; escape a literal brace as `\\{`",
            );
            return;
        }
        if let Some(extra) =
            (close + 1..toks.len()).find(|&i| is(&toks[i], '{') || is(&toks[i], '}'))
        {
            self.error(
                toks[extra].line,
                qid,
                "a second answer block or a stray brace after the answer block; a question has one `{…}` (escape literal braces as `\\{` `\\}`)",
            );
            return;
        }

        // Question text with an optional format marker. Missing word (text after the answer block): Moodle
        // puts a blank `_____` where the block was.
        let trailing = &toks[close + 1..];
        let mut question_toks = toks[pos..open].to_vec();
        if !is_blank(trailing) {
            let line = toks[open].line;
            question_toks.extend("_____".chars().map(|c| Tok {
                c,
                escaped: true,
                line,
            }));
            question_toks.extend_from_slice(trailing);
        }
        let stem = marked_text(&question_toks, MOODLE);

        // General feedback `####…` at the end of the answer block.
        let mut answer_toks = &toks[open + 1..close];
        let mut explanation = None;
        if let Some(at) = (0..answer_toks.len())
            .rev()
            .find(|&i| starts_with(answer_toks, i, "####"))
        {
            let feedback = marked_text(&answer_toks[at + 4..], stem.format);
            explanation = (!feedback.text.is_empty()).then_some(feedback);
            answer_toks = &answer_toks[..at];
        }

        let first = answer_toks.iter().position(|tok| !tok.c.is_whitespace());
        let kind = match first {
            None => Err(Unsupported::Essay),
            Some(first) if is(&answer_toks[first], '#') => Err(Unsupported::Numerical),
            Some(_) if find(answer_toks, 0, '~').is_some() => Ok(Shape::Choice),
            Some(_)
                if find(answer_toks, 0, '=').is_some()
                    && find_seq(answer_toks, 0, "->").is_some() =>
            {
                Err(Unsupported::Matching)
            }
            Some(_) => {
                let head_end = find(answer_toks, 0, '#').unwrap_or(answer_toks.len());
                match text_of(&answer_toks[..head_end])
                    .to_ascii_uppercase()
                    .as_str()
                {
                    "T" | "TRUE" | "F" | "FALSE" => Ok(Shape::TrueFalse),
                    _ => Err(Unsupported::ShortAnswer),
                }
            }
        };
        let shape = match kind {
            Ok(shape) => shape,
            Err(unsupported) => {
                self.skip(start_line, &id, unsupported);
                return;
            }
        };

        if stem.text.is_empty() {
            self.warn(
                start_line,
                qid,
                "skipped: the question has no text; write it before the `{`",
            );
            return;
        }

        let built = match shape {
            Shape::TrueFalse => Some(true_false(answer_toks, stem.format)),
            Shape::Choice => self.choice_question(answer_toks, &id, start_line, stem.format),
        };
        let Some((kind, choices, partial_credit)) = built else {
            return;
        };

        let final_id = self.unique_id(id, start_line);
        self.question_lines.insert(final_id.clone(), start_line);
        let domain = match &self.current_domain {
            Some(domain) => domain.clone(),
            None => {
                self.ensure_domain(GENERAL_DOMAIN, "General");
                GENERAL_DOMAIN.to_owned()
            }
        };
        if let Some(entry) = self.domains.iter_mut().find(|d| d.id == domain) {
            entry.questions_per_form += 1;
        }
        // One format per question: texts written in different formats are all turned into HTML.
        let uniform = std::iter::once(&stem)
            .chain(&explanation)
            .chain(
                choices
                    .iter()
                    .flat_map(|c| std::iter::once(&c.text).chain(&c.feedback)),
            )
            .all(|text| text.format.format == stem.format.format);
        let stem_format = if uniform {
            stem.format.format
        } else {
            TextFormat::Html
        };
        let convert = |text: Text, inline: bool| text.into_format(stem_format, inline);
        self.questions.push(Question {
            id: final_id,
            domain,
            kind,
            stem: convert(stem, false),
            stem_format,
            choices: choices
                .into_iter()
                .map(|choice| Choice {
                    id: choice.id,
                    text: convert(choice.text, true),
                    correct: choice.correct,
                    feedback: choice.feedback.map(|f| convert(f, false)),
                })
                .collect(),
            explanation: explanation.map(|e| convert(e, false)),
            references: Vec::new(),
            partial_credit,
        });
    }

    fn skip(&mut self, line: usize, id: &str, unsupported: Unsupported) {
        self.warn(
            line,
            Some(id),
            format!(
                "skipped: unsupported question type \"{}\"",
                unsupported.name()
            ),
        );
    }

    /// Adds `-2`, `-3`, … to an id already used in this file.
    fn unique_id(&mut self, id: String, line: usize) -> String {
        if self.used_ids.insert(id.clone()) {
            return id;
        }
        let mut n = 2;
        let unique = loop {
            let candidate = format!("{id}-{n}");
            if self.used_ids.insert(candidate.clone()) {
                break candidate;
            }
            n += 1;
        };
        self.warn(
            line,
            Some(&unique),
            format!("question id `{id}` is already used in this file; this question was imported as `{unique}`"),
        );
        unique
    }

    /// Multiple choice (an `=` answer) or multiple answer (weights only). `None` when skipped or malformed.
    fn choice_question(
        &mut self,
        toks: &[Tok],
        id: &str,
        line: usize,
        format: Format,
    ) -> Option<Built> {
        let answers = self.answers(toks, id, format)?;
        let qid = Some(id);
        let right_marked = answers.iter().filter(|a| a.marked_right).count();

        let mut texts = HashSet::new();
        if let Some(duplicate) = answers.iter().find(|a| !texts.insert(a.text.text.as_str())) {
            self.warn(
                duplicate.line,
                qid,
                format!(
                    "skipped: two answers have the same text \"{}\"",
                    duplicate.text.text
                ),
            );
            return None;
        }
        if answers.len() < 2 {
            self.warn(
                line,
                qid,
                "skipped: a choice question needs at least two answers",
            );
            return None;
        }

        // Several `=` answers are several accepted answers of a single-answer question (Moodle's rule).
        let (kind, partial_credit) = if right_marked > 0 {
            for answer in answers.iter().filter(|a| !a.marked_right && a.weight > 0.0) {
                self.warn(
                    answer.line,
                    qid,
                    format!("partial weight {}% on \"{}\" is not supported in a single-answer question; it scores 0", answer.weight, answer.text.text),
                );
            }
            (QuestionKind::Single, false)
        } else {
            let positive: Vec<f64> = answers
                .iter()
                .map(|a| a.weight)
                .filter(|w| *w > 0.0)
                .collect();
            if positive.is_empty() {
                self.warn(line, qid, "skipped: no answer is right; mark one with `=` or give right answers a positive weight like `~%50%`");
                return None;
            }
            let sum: f64 = positive.iter().sum();
            if (sum - 100.0).abs() > 0.01 {
                self.warn(line, qid, format!("the positive weights add up to {sum}%, not 100%; every positively weighted answer counts as right"));
            }
            // Partial credit when a right answer alone is worth less than the whole question.
            let partial = positive.iter().any(|w| *w < 100.0 - 0.01);
            (QuestionKind::Multiple, partial)
        };

        let choices = answers
            .into_iter()
            .enumerate()
            .map(|(index, answer)| DraftChoice {
                id: choice_id(index),
                correct: if kind == QuestionKind::Single {
                    answer.marked_right
                } else {
                    answer.weight > 0.0
                },
                text: answer.text,
                feedback: answer.feedback,
            })
            .collect();
        Some((kind, choices, partial_credit))
    }

    /// Splits a choice answer block at unescaped `=` and `~`.
    fn answers(&mut self, toks: &[Tok], id: &str, format: Format) -> Option<Vec<Answer>> {
        let qid = Some(id);
        let starts: Vec<usize> = (0..toks.len())
            .filter(|&i| is(&toks[i], '=') || is(&toks[i], '~'))
            .collect();
        let first = starts.first().copied().unwrap_or(toks.len());
        if !is_blank(&toks[..first]) {
            let line = toks
                .iter()
                .find(|t| !t.c.is_whitespace())
                .map_or(0, |t| t.line);
            self.error(
                line,
                qid,
                "text before the first answer; start each answer with `=` (right) or `~` (wrong)",
            );
            return None;
        }
        let mut answers = Vec::new();
        let mut malformed = false;
        for (n, &start) in starts.iter().enumerate() {
            let end = starts.get(n + 1).copied().unwrap_or(toks.len());
            let marked_right = is(&toks[start], '=');
            let line = toks[start].line;
            let mut body = &toks[start + 1..end];
            let lead = body
                .iter()
                .position(|t| !t.c.is_whitespace())
                .unwrap_or(body.len());
            body = &body[lead..];
            let mut weight = if marked_right { 100.0 } else { 0.0 };
            if body.first().is_some_and(|t| is(t, '%')) {
                let Some(close) = find(body, 1, '%') else {
                    self.error(
                        line,
                        qid,
                        "answer weight is not closed: write it like `~%50%`",
                    );
                    malformed = true;
                    continue;
                };
                let raw = text_of(&body[1..close]);
                match raw.parse::<f64>() {
                    Ok(value) if value.is_finite() && (-100.0..=100.0).contains(&value) => {
                        weight = value
                    }
                    _ => {
                        self.error(
                            line,
                            qid,
                            format!(
                                "answer weight `%{raw}%` is not a percentage between -100 and 100"
                            ),
                        );
                        malformed = true;
                        continue;
                    }
                }
                body = &body[close + 1..];
            }
            let (text_toks, feedback) = match find(body, 0, '#') {
                Some(hash) => (
                    &body[..hash],
                    Some(marked_text(&body[hash + 1..], format)).filter(|f| !f.text.is_empty()),
                ),
                None => (body, None),
            };
            let text = marked_text(text_toks, format);
            if text.text.is_empty() {
                self.error(line, qid, "an answer is empty; write its text after `=` or `~` (escape a literal `=`, `~` or `#` with `\\`)");
                malformed = true;
                continue;
            }
            answers.push(Answer {
                marked_right,
                weight,
                text,
                feedback,
                line,
            });
        }
        (!malformed).then_some(answers)
    }
}

/// `{T}` / `{FALSE#wrong feedback#right feedback}`: the first feedback is for a wrong answer, the second for
/// a right one (Moodle's order).
fn true_false(toks: &[Tok], format: Format) -> Built {
    let hashes: Vec<usize> = (0..toks.len()).filter(|&i| is(&toks[i], '#')).collect();
    let head_end = hashes.first().copied().unwrap_or(toks.len());
    let answer = text_of(&toks[..head_end])
        .to_ascii_uppercase()
        .starts_with('T');
    let part = |n: usize| {
        let start = hashes.get(n).map(|h| h + 1)?;
        let end = hashes.get(n + 1).copied().unwrap_or(toks.len());
        Some(marked_text(&toks[start..end], format)).filter(|text| !text.text.is_empty())
    };
    let (mut wrong_feedback, mut right_feedback) = (part(0), part(1));
    let choices = Choice::true_false(answer)
        .into_iter()
        .map(|choice| DraftChoice {
            feedback: if choice.correct {
                right_feedback.take()
            } else {
                wrong_feedback.take()
            },
            id: choice.id,
            // "True"/"False" read the same in every format.
            text: Text {
                text: choice.text,
                format,
            },
            correct: choice.correct,
        })
        .collect();
    (QuestionKind::TrueFalse, choices, false)
}

fn choice_id(index: usize) -> String {
    let mut id = Vec::new();
    let mut n = index + 1;
    while n > 0 {
        n -= 1;
        id.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
    }
    id.iter().rev().collect()
}

/// The text of `toks` with the format its leading marker names, else `default`.
fn marked_text(toks: &[Tok], default: Format) -> Text {
    match format_marker(toks) {
        Some((format, rest)) => Text {
            text: text_of(rest),
            format,
        },
        None => Text {
            text: text_of(toks),
            format: default,
        },
    }
}

/// A leading `[markdown]`, `[html]`, `[plain]` or `[moodle]` marker: the format and the text after it.
fn format_marker(toks: &[Tok]) -> Option<(Format, &[Tok])> {
    let start = toks
        .iter()
        .position(|t| !t.c.is_whitespace())
        .unwrap_or(toks.len());
    [
        ("[markdown]", TextFormat::Markdown, false),
        ("[html]", TextFormat::Html, false),
        ("[plain]", TextFormat::Plain, false),
        ("[moodle]", TextFormat::Html, true),
    ]
    .into_iter()
    .find(|(marker, _, _)| starts_with(toks, start, marker))
    .map(|(marker, format, moodle)| {
        (
            Format { format, moodle },
            &toks[start + marker.chars().count()..],
        )
    })
}

/// Moodle auto-format is HTML whose line breaks are kept.
fn moodle_to_html(text: &str) -> String {
    text.replace('\n', "<br>\n")
}
