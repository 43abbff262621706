//! The normalized bank model: what a parsed bank file (TOML or GIFT) becomes, and what is stored as JSON for
//! each imported bank version; and the closed sets the exam tables' status columns hold.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::text_enum::text_enum;

text_enum! {
    /// `attempts.status`. An open attempt takes answers (the partial unique index
    /// `attempts_one_open` allows one per person and exam); grading claims it by flipping it to
    /// graded, once.
    pub enum AttemptStatus("attempt status") {
        Open = "open",
        Graded = "graded",
    }
}

text_enum! {
    /// `exam_versions.state`. A draft is seen only by the vendor's staff (who may preview it); the
    /// exam's one published version is what candidates take; a retired version is kept for its
    /// attempts.
    #[derive(utoipa::ToSchema)]
    pub enum ExamVersionState("exam version state") {
        Draft = "draft",
        Published = "published",
        Retired = "retired",
    }
}

text_enum! {
    /// `orders.status`. Only a paid order entitles its person to an attempt.
    #[derive(utoipa::ToSchema)]
    pub enum OrderStatus("order status") {
        Pending = "pending",
        Paid = "paid",
        /// Paid, but not as priced (amount or currency differ): no entitlement until someone
        /// reviews it.
        Held = "held",
        /// Refunded in full: no entitlement.
        Refunded = "refunded",
    }
}

text_enum! {
    /// `orders.provider`: how an order is paid.
    #[derive(utoipa::ToSchema)]
    pub enum OrderProvider("order provider") {
        /// Paid by redeeming a voucher; `reference` is the voucher code.
        Voucher = "voucher",
        /// Recorded by the vendor's staff and marked paid by them.
        Manual = "manual",
        /// Paid through the vendor's Stripe checkout (`billing`); `reference` is the
        /// PaymentIntent id.
        Stripe = "stripe",
    }
}

/// One exam with its blueprint and questions; immutable once an attempt used it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bank {
    pub exam: ExamMeta,
    /// In file order; this order is the blueprint order used by score reports.
    pub domains: Vec<Domain>,
    /// In file order.
    pub questions: Vec<Question>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExamMeta {
    /// `[a-z0-9-]`, 1–64 characters, unique per vendor.
    pub slug: String,
    pub title: String,
    /// Free-text label shown to people (`version` in the file); Credo numbers stored versions itself.
    pub version: String,
    /// Markdown.
    pub description: Option<String>,
    pub duration_minutes: u32,
    /// 1..=100.
    pub pass_percent: u8,
    /// 0 = the certificate never expires.
    pub validity_months: u32,
    /// Explanations are shown on the score report after grading.
    pub allow_review: bool,
    /// Slug of the exam (same vendor) whose pass renews this exam's certificate.
    pub renewal_exam: Option<String>,
    pub price: Price,
    pub retake: RetakePolicy,
}

/// Integer minor units of an ISO 4217 currency. A free exam whose file names no currency gets `XXX`
/// (ISO 4217 "no currency involved"), so a price is always a well-formed (amount, currency) pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    pub amount_minor: i64,
    pub currency: String,
}

impl Price {
    /// The currency code used for free exams whose bank gives no currency.
    pub const NO_CURRENCY: &'static str = "XXX";

    pub fn is_free(&self) -> bool {
        self.amount_minor == 0
    }
}

/// All zero = no restriction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetakePolicy {
    /// Days to wait after a failed attempt.
    pub cooldown_days: u32,
    /// Attempts allowed in any 12 months; 0 = unlimited.
    pub max_attempts_per_year: u32,
    /// Days after a pass during which no new attempt may start.
    pub wait_after_pass_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    pub id: String,
    pub title: String,
    /// The blueprint: every form draws exactly this many questions from the domain.
    pub questions_per_form: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// Exactly one correct choice; the candidate picks one.
    Single,
    /// At least one correct choice; the candidate picks any number.
    Multiple,
    /// Two choices, `true` and `false`, one of them correct.
    TrueFalse,
}

impl QuestionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::Single => "single",
            QuestionKind::Multiple => "multiple",
            QuestionKind::TrueFalse => "true_false",
        }
    }
}

/// How a question's texts (stem, choices, feedback, explanation) are written. TOML banks are always Markdown;
/// GIFT questions may be HTML or plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextFormat {
    Markdown,
    Html,
    Plain,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// Stable across bank versions.
    pub id: String,
    pub domain: String,
    #[serde(rename = "type")]
    pub kind: QuestionKind,
    pub stem: String,
    /// Format of every text of this question, not only the stem.
    pub stem_format: TextFormat,
    pub choices: Vec<Choice>,
    pub explanation: Option<String>,
    pub references: Vec<String>,
    /// `multiple` only: score by the partial-credit rule instead of all-or-nothing.
    pub partial_credit: bool,
}

impl Question {
    pub fn choice(&self, id: &str) -> Option<&Choice> {
        self.choices.iter().find(|choice| choice.id == id)
    }

    pub fn correct_count(&self) -> usize {
        self.choices.iter().filter(|choice| choice.correct).count()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// Unique within the question.
    pub id: String,
    pub text: String,
    pub correct: bool,
    /// Shown after grading only (GIFT per-answer feedback).
    pub feedback: Option<String>,
}

impl Choice {
    /// The two choices of a `true_false` question, `true` first.
    pub fn true_false(answer: bool) -> Vec<Choice> {
        vec![
            Choice {
                id: "true".to_owned(),
                text: "True".to_owned(),
                correct: answer,
                feedback: None,
            },
            Choice {
                id: "false".to_owned(),
                text: "False".to_owned(),
                correct: !answer,
                feedback: None,
            },
        ]
    }
}

impl Bank {
    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|question| question.id == id)
    }

    pub fn domain(&self, id: &str) -> Option<&Domain> {
        self.domains.iter().find(|domain| domain.id == id)
    }

    /// Lower-case hex SHA-256 of the normalized bank as JSON, so re-importing identical content (even with
    /// different comments, whitespace or key order in the file) can be recognised and not stored again.
    pub fn content_hash(&self) -> String {
        // Serializing these plain structs to JSON cannot fail (no maps, no custom serializers); the Debug
        // fallback only keeps this function total.
        let bytes = serde_json::to_vec(self).unwrap_or_else(|_| format!("{self:?}").into_bytes());
        hex::encode(Sha256::digest(&bytes))
    }
}

/// Question, domain and choice ids: ASCII letters, digits, `-`, `_`, `.`, 1–64 characters (they appear in
/// URLs such as `/attempts/{id}/answers/{question_id}`).
pub fn is_valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Whether `code` is an active ISO 4217 currency code (exact, upper case).
pub fn is_known_currency(code: &str) -> bool {
    crate::money::parse_currency(code).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bank() -> Bank {
        Bank {
            exam: ExamMeta {
                slug: "demo".into(),
                title: "Demo".into(),
                version: "1".into(),
                description: None,
                duration_minutes: 10,
                pass_percent: 50,
                validity_months: 0,
                allow_review: false,
                renewal_exam: None,
                price: Price {
                    amount_minor: 0,
                    currency: Price::NO_CURRENCY.into(),
                },
                retake: RetakePolicy::default(),
            },
            domains: vec![Domain {
                id: "d".into(),
                title: "D".into(),
                questions_per_form: 1,
            }],
            questions: vec![Question {
                id: "q".into(),
                domain: "d".into(),
                kind: QuestionKind::TrueFalse,
                stem: "Sky is blue.".into(),
                stem_format: TextFormat::Markdown,
                choices: Choice::true_false(true),
                explanation: None,
                references: vec![],
                partial_credit: false,
            }],
        }
    }

    #[test]
    fn content_hash_is_stable_and_content_sensitive() {
        let original = bank();
        let hash = original.content_hash();
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, bank().content_hash());
        let mut changed = bank();
        changed.questions[0].choices = Choice::true_false(false);
        assert_ne!(hash, changed.content_hash());
    }

    #[test]
    fn bank_round_trips_through_json_with_type_field() {
        let original = bank();
        let json = serde_json::to_value(&original).unwrap();
        assert_eq!(json["questions"][0]["type"], "true_false");
        assert_eq!(json["questions"][0]["stem_format"], "markdown");
        let back: Bank = serde_json::from_value(json).unwrap();
        assert_eq!(back, original);
    }

    #[test]
    fn currencies_are_checked_against_iso_4217() {
        assert!(is_known_currency("EUR"));
        assert!(!is_known_currency("usd"));
        assert!(!is_known_currency("ABC"));
        assert!(!is_known_currency(Price::NO_CURRENCY));
    }

    #[test]
    fn slugs_and_ids() {
        use crate::validation::is_slug;
        assert!(is_slug("postgresql-administration"));
        assert!(!is_slug("Postgres"));
        assert!(!is_slug(""));
        assert!(!is_slug(&"a".repeat(65)));
        assert!(!is_slug("-lead"));
        assert!(is_valid_id("pg-arch_001.v2"));
        assert!(!is_valid_id("pg arch"));
        assert!(!is_valid_id("q/1"));
    }

    #[test]
    fn true_false_choices_are_true_then_false() {
        let choices = Choice::true_false(false);
        assert_eq!(choices[0].id, "true");
        assert_eq!(choices[0].text, "True");
        assert!(!choices[0].correct);
        assert_eq!(choices[1].id, "false");
        assert!(choices[1].correct);
    }
}
