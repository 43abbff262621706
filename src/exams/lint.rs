//! Bank linting: warnings (never errors) for banks whose text gives answers away to a candidate who does not
//! know the subject. Choices are shuffled per attempt and named by handles, so the text is the only channel
//! left; these rules catch the usual give-aways:
//!
//! - a stem that asks for a number of choices ("(Choose two.)", "select 3") that differs from the key;
//! - the right choice of single-answer questions being the longest so often that "pick the longest" beats
//!   guessing: in at least [`LONGEST_MIN_QUESTIONS`] questions, nearly always (≥ [`LONGEST_SHARE_PERCENT`] %)
//!   or at least twice as often as chance (one in the number of choices);
//! - choices such as "All of the above" or "None of these", which refer to the other choices (whose order is
//!   shuffled) and are usually the key.
//!
//! Each warning names the question and the line where it starts in its file (TOML or GIFT).

use std::collections::HashMap;

use super::markdown::render_text_inline;
use super::model::{Bank, Question, QuestionKind};
use super::BankError;

/// Where each question starts in its file (1-based line), by question id.
pub type QuestionLines = HashMap<String, usize>;

/// The share of single-answer questions whose right choice is the longest from which the bank is flagged
/// whatever their number of choices.
pub const LONGEST_SHARE_PERCENT: usize = 80;
/// How many times the chance rate (one in the number of choices) of "the right choice is the longest" flags
/// the bank: with four choices, half of the questions.
pub const LONGEST_OVER_CHANCE: f64 = 2.0;
/// Fewer single-answer questions than this are too few to call the longest choice a pattern.
pub const LONGEST_MIN_QUESTIONS: usize = 5;

/// Verbs that introduce a count of choices in a stem.
const COUNT_VERBS: &[&str] = &["choose", "select", "pick", "mark"];
const NUMBER_WORDS: &[&str] = &[
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
];
/// Choice texts that refer to the other choices.
const REFERRING_CHOICES: &[&str] = &[
    "all of the above",
    "none of the above",
    "both of the above",
    "neither of the above",
    "all the above",
    "all of these",
    "none of these",
    "both of these",
    "neither of these",
    "all of the others",
    "none of the others",
    "all of the previous",
    "none of the previous",
];

/// Every give-away of the bank, in question order.
pub fn lint_bank(file: &str, bank: &Bank, lines: &QuestionLines) -> Vec<BankError> {
    let warn = |question: &Question, message: String| BankError {
        file: file.to_owned(),
        line: lines.get(&question.id).copied().unwrap_or(1),
        question_id: Some(question.id.clone()),
        message,
    };
    let mut warnings = Vec::new();
    let longest = longest_right_pattern(bank);
    for question in &bank.questions {
        let correct = question.correct_count();
        if let Some(asked) = asked_count(&visible_text(&question.stem, question)) {
            if asked != correct && question.kind != QuestionKind::TrueFalse {
                warnings.push(warn(
                    question,
                    format!(
                        "the stem asks for {asked} choice(s) but {correct} are correct; make the count match the key, or remove it"
                    ),
                ));
            }
        }
        if let Some(pattern) = &longest {
            if right_is_longest(question) {
                warnings.push(warn(
                    question,
                    format!(
                        "the right choice is the longest, as in {} of {} single-answer questions: picking the longest choice would score {} % of them where guessing scores {} %; make wrong choices as long and specific as the right one",
                        pattern.hits,
                        pattern.eligible,
                        pattern.hits * 100 / pattern.eligible,
                        pattern.chance_percent
                    ),
                ));
            }
        }
        for choice in &question.choices {
            let text = normalized(&visible_text(&choice.text, question));
            if let Some(phrase) = REFERRING_CHOICES.iter().find(|p| text.contains(*p)) {
                warnings.push(warn(
                    question,
                    format!(
                        "the choice \"{}\" refers to the other choices (\"{phrase}\"): choices are shown in a shuffled order, and such a choice is usually the key; write a choice that stands on its own",
                        choice.text.trim()
                    ),
                ));
            }
        }
    }
    warnings
}

/// How often the right choice of single-answer questions is the longest, when that is a pattern.
#[derive(Debug, PartialEq)]
struct LongestPattern {
    hits: usize,
    eligible: usize,
    /// The share of these questions a random pick gets right.
    chance_percent: usize,
}

fn longest_right_pattern(bank: &Bank) -> Option<LongestPattern> {
    let eligible: Vec<&Question> = bank
        .questions
        .iter()
        .filter(|q| q.kind == QuestionKind::Single && q.choices.len() > 1)
        .collect();
    let hits = eligible.iter().filter(|q| right_is_longest(q)).count();
    let chance: f64 = eligible.iter().map(|q| 1.0 / q.choices.len() as f64).sum();
    let pattern = hits * 100 >= LONGEST_SHARE_PERCENT * eligible.len()
        || hits as f64 >= LONGEST_OVER_CHANCE * chance;
    (eligible.len() >= LONGEST_MIN_QUESTIONS && pattern).then(|| LongestPattern {
        hits,
        eligible: eligible.len(),
        chance_percent: (chance * 100.0 / eligible.len() as f64).round() as usize,
    })
}

/// A single-answer question whose right choice is longer (as shown) than every wrong one.
fn right_is_longest(question: &Question) -> bool {
    if question.kind != QuestionKind::Single {
        return false;
    }
    let length = |text: &str| visible_text(text, question).chars().count();
    let (right, wrong): (Vec<_>, Vec<_>) = question.choices.iter().partition(|c| c.correct);
    match right.as_slice() {
        [right] => {
            let right = length(&right.text);
            !wrong.is_empty() && wrong.iter().all(|choice| length(&choice.text) < right)
        }
        _ => false,
    }
}

/// The text a candidate reads: the text rendered as the taking page does, without tags and entities.
fn visible_text(source: &str, question: &Question) -> String {
    let html = render_text_inline(source, question.stem_format);
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lower case, words separated by single spaces, punctuation dropped.
fn normalized(text: &str) -> String {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The number of choices a stem asks for: "(Choose two.)", "Select 3", "pick TWO answers" (the taking
/// page's legend repeats it, so both say the same).
pub fn asked_count(stem: &str) -> Option<usize> {
    let words: Vec<String> = normalized(stem).split(' ').map(str::to_owned).collect();
    words.windows(2).find_map(|pair| {
        if !COUNT_VERBS.contains(&pair[0].as_str()) {
            return None;
        }
        let count = &pair[1];
        count.parse::<usize>().ok().or_else(|| {
            NUMBER_WORDS
                .iter()
                .position(|word| word == count)
                .map(|index| index + 1)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exams::form::tests::build_bank;

    #[test]
    fn counts_asked_for_in_stems() {
        assert_eq!(asked_count("Which are true? (Choose two.)"), Some(2));
        assert_eq!(asked_count("Select 3 answers."), Some(3));
        assert_eq!(asked_count("*Pick* **ONE**"), Some(1));
        assert_eq!(asked_count("Choose all that apply."), None);
        assert_eq!(asked_count("Why would you choose git?"), None);
        assert_eq!(asked_count("Which is true?"), None);
    }

    #[test]
    fn referring_choices_and_visible_text() {
        let bank = build_bank(&[(vec![(QuestionKind::Single, 3, 0)], 1)]);
        let question = &bank.questions[0];
        assert_eq!(
            visible_text("**All** of the *above*", question),
            "All of the above"
        );
        assert_eq!(normalized("None of the above."), "none of the above");
    }

    #[test]
    fn longest_pattern_needs_enough_questions_and_a_share_well_above_chance() {
        // build_bank's choices are "Choice *c* of d-q": equally long, so no right choice is the longest.
        let mut bank = build_bank(&[(vec![(QuestionKind::Single, 4, 0); 6], 1)]);
        assert_eq!(longest_right_pattern(&bank), None);
        let lengthen = |bank: &mut Bank, index: usize| {
            bank.questions[index].choices[0]
                .text
                .push_str(" and some more words");
        };
        for index in 0..2 {
            lengthen(&mut bank, index);
        }
        // Four choices: chance is 25 %; 2 of 6 (33 %) is no pattern, 3 of 6 (twice chance) is.
        assert_eq!(longest_right_pattern(&bank), None);
        lengthen(&mut bank, 2);
        assert_eq!(
            longest_right_pattern(&bank),
            Some(LongestPattern {
                hits: 3,
                eligible: 6,
                chance_percent: 25
            })
        );
        // Five questions are needed.
        bank.questions.truncate(4);
        assert_eq!(longest_right_pattern(&bank), None);

        // Two choices: chance is 50 %; only "nearly always" (80 %) is a pattern.
        let mut bank = build_bank(&[(vec![(QuestionKind::Single, 2, 0); 5], 1)]);
        for index in 0..3 {
            lengthen(&mut bank, index);
        }
        assert_eq!(longest_right_pattern(&bank), None);
        lengthen(&mut bank, 3);
        assert_eq!(
            longest_right_pattern(&bank).map(|p| (p.hits, p.chance_percent)),
            Some((4, 50))
        );
    }
}
