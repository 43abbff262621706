//! The demo's story as data: the accounts, the embedded banks and the answers that pass them, the
//! advocate program, its customers' sales and the visitors of the referral link.

use super::DemoError;
use crate::exams::{parse_bank, Bank, PresentedQuestion};

/// The password of every demo account. Only `--demo` creates these accounts, and only in an
/// empty database; it is printed and documented (README, docs/ARCHITECTURE.md).
pub const DEMO_PASSWORD: &str = "credo-demo-password";

pub const VENDOR_SLUG: &str = "acme";
pub const VENDOR_NAME: &str = "Acme Open Source (demo vendor)";
pub(super) const VENDOR_URL: &str = "https://acme.example/";

pub const POSTGRES_EXAM: &str = "postgresql-administration";
pub const GIT_EXAM: &str = "git-fundamentals";

/// The real banks, embedded so the command works from any directory.
pub(super) const BANKS: [(&str, &str); 2] = [
    (
        "exam-banks/postgresql/postgresql-administration.toml",
        include_str!("../../exam-banks/postgresql/postgresql-administration.toml"),
    ),
    (
        "exam-banks/git/git-fundamentals.toml",
        include_str!("../../exam-banks/git/git-fundamentals.toml"),
    ),
];

/// One demo login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoAccount {
    pub role: &'static str,
    pub email: &'static str,
    pub name: &'static str,
}

pub const OPERATOR: DemoAccount = DemoAccount {
    role: "operator",
    email: "operator@credo-demo.example",
    name: "Demo Operator",
};
pub const OWNER: DemoAccount = DemoAccount {
    role: "vendor owner (acme)",
    email: "owner@acme.example",
    name: "Olivia Hart",
};
pub const EXAMINER: DemoAccount = DemoAccount {
    role: "examiner (acme)",
    email: "examiner@acme.example",
    name: "Ezra Cohen",
};
pub const PROGRAM_MANAGER: DemoAccount = DemoAccount {
    role: "program manager (acme)",
    email: "programs@acme.example",
    name: "Priya Nair",
};
/// Certified practitioner and advocate. Her address is on her own (non-free-mail) domain, so a
/// customer on that domain is held as a self-referral.
pub const ADVOCATE: DemoAccount = DemoAccount {
    role: "practitioner and advocate",
    email: "ada@lindqvist-consulting.example",
    name: "Ada Lindqvist",
};

/// Every demo login, in the order they are printed.
pub const ACCOUNTS: [DemoAccount; 5] = [OPERATOR, OWNER, EXAMINER, PROGRAM_MANAGER, ADVOCATE];

// ------------------------------------------------------------------------------ the program

pub(super) const CURRENCY: &str = "USD";
pub(super) const HOLD_DAYS: i64 = 30;
pub(super) const ATTRIBUTION_WINDOW_DAYS: i64 = 60;
pub(super) const COMMISSION_MONTHS: i64 = 12;
pub(super) const MIN_PAYOUT_MINOR: i64 = 5_000;
pub(super) const TERMS_VERSION: &str = "2026-demo";
/// (code, rank, rate in bps, required exams): base, certified, top.
pub(super) const TIERS: [(&str, i32, u32, &[&str]); 3] = [
    ("community", 0, 1_000, &[]),
    ("certified", 1, 1_500, &[POSTGRES_EXAM]),
    ("champion", 2, 2_000, &[POSTGRES_EXAM, GIT_EXAM]),
];

/// A referred customer's paid invoice, as the vendor's billing system reports it (USD cents).
/// Rates follow Ada's tier on the invoice date: certified (15 %) before she passes the Git exam
/// 50 days ago, champion (20 %) after.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sale {
    pub(super) customer: &'static str,
    pub(super) email: &'static str,
    pub(super) invoice: &'static str,
    pub(super) event: &'static str,
    pub(super) amount_minor: i64,
}

/// Day -80: approved, paid out; 1,000.00 refunded on day -12 (a clawback).
pub(super) const NORTHWIND: Sale = Sale {
    customer: "cus_demo_northwind",
    email: "billing@northwind.example",
    invoice: "in_demo_1001",
    event: "evt_demo_0001",
    amount_minor: 300_000,
};
pub(super) const NORTHWIND_REFUND: i64 = 100_000;
/// Day -60: approved, not paid yet.
pub(super) const INITECH: Sale = Sale {
    customer: "cus_demo_initech",
    email: "accounts@initech.example",
    invoice: "in_demo_1002",
    event: "evt_demo_0002",
    amount_minor: 200_000,
};
/// Day -34: refunded in full on day -27, before any payout (reversed).
pub(super) const GLOBEX: Sale = Sale {
    customer: "cus_demo_globex",
    email: "finance@globex.example",
    invoice: "in_demo_1003",
    event: "evt_demo_0003",
    amount_minor: 80_000,
};
/// Day -14: the customer's address is on Ada's own domain (held as a possible self-referral).
pub(super) const LINDQVIST: Sale = Sale {
    customer: "cus_demo_lindqvist",
    email: "it@lindqvist-consulting.example",
    invoice: "in_demo_1005",
    event: "evt_demo_0005",
    amount_minor: 60_000,
};
/// Day -6: bound by referral code (no click), still in its hold period (pending).
pub(super) const UMBRELLA: Sale = Sale {
    customer: "cus_demo_umbrella",
    email: "procurement@umbrella.example",
    invoice: "in_demo_1004",
    event: "evt_demo_0007",
    amount_minor: 150_000,
};

/// Ada's approved, unpaid balance at the end of the story: Initech's commission minus the
/// Northwind clawback (both at the certified rate). Positive and above the minimum payout, so
/// the program manager can pay it out.
pub fn expected_balance_minor() -> Result<i64, crate::money::MoneyError> {
    let certified = TIERS[1].2;
    let approved = crate::money::commission_amount(INITECH.amount_minor, certified)?;
    let clawback = crate::money::commission_amount(-NORTHWIND_REFUND, certified)?;
    Ok(approved + clawback)
}

// ------------------------------------------------------------------------------ exams

/// The embedded bank of an exam, parsed exactly as the import parses it.
pub(super) fn embedded_bank(exam_slug: &str) -> Result<Bank, DemoError> {
    for (name, text) in BANKS {
        let bank = parse_bank(name, text)
            .map_err(|e| DemoError::new("read the embedded exam banks", e.to_string()))?;
        if bank.exam.slug == exam_slug {
            return Ok(bank);
        }
    }
    Err(DemoError::new(
        "read the embedded exam banks",
        format!("no embedded bank for exam {exam_slug}"),
    ))
}

/// Answers from the bank's key for the questions of a form, in order: correct ones, except that
/// every `wrong_every`-th question (0: none) gets a wrong choice, for a believable score.
/// The demo candidate knows the bank: it finds each question by its stem and each choice's handle by the
/// choice's text (the attempt names both by handles).
pub fn answers_for(
    bank: &Bank,
    shown: &[PresentedQuestion],
    wrong_every: usize,
) -> Vec<(String, Vec<String>)> {
    shown
        .iter()
        .enumerate()
        .filter_map(|(index, presented)| {
            let question = bank.questions.iter().find(|question| {
                crate::exams::render_text(&question.stem, question.stem_format)
                    == presented.stem_html
            })?;
            let handle = |choice: &crate::exams::Choice| {
                let text = crate::exams::render_text_inline(&choice.text, question.stem_format);
                presented
                    .choices
                    .iter()
                    .find(|shown| shown.text_html == text)
                    .map(|shown| shown.id.clone())
            };
            let correct: Vec<String> = question
                .choices
                .iter()
                .filter(|c| c.correct)
                .filter_map(handle)
                .collect();
            let wrong = question
                .choices
                .iter()
                .find(|c| !c.correct)
                .and_then(handle)
                .map(|h| vec![h]);
            let miss = wrong_every > 0 && index % wrong_every == wrong_every - 1;
            let choices = match wrong {
                Some(wrong) if miss => wrong,
                _ => correct,
            };
            Some((presented.id.clone(), choices))
        })
        .collect()
}

/// Who visits the referral link: (address, user agent, referrer).
pub(super) type Visitor = (&'static str, &'static str, Option<&'static str>);

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
const SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

pub(super) const FROM_LINKEDIN: Visitor =
    ("203.0.113.21", FIREFOX, Some("https://www.linkedin.com/"));
pub(super) const FROM_BLOG: Visitor = (
    "198.51.100.7",
    CHROME,
    Some("https://blog.lindqvist-consulting.example/postgres-upgrades"),
);
pub(super) const FROM_MASTODON: Visitor = ("203.0.113.88", SAFARI, Some("https://fosstodon.org/"));
pub(super) const DIRECT: Visitor = ("198.51.100.64", CHROME, None);
pub(super) const CRAWLER: Visitor = ("192.0.2.15", GOOGLEBOT, None);
