//! Demo data for `credo serve --demo` and `credo demo`: a believable few months of one vendor's
//! life, created only through the domains' own use cases (the functions the HTTP handlers and
//! jobs call), with past timestamps, so every row is exactly what real people and systems would
//! have produced.
//!
//! What it creates: an operator; the vendor `acme` with both real banks of `exam-banks/`
//! (embedded in the binary) and a batch of vouchers for the paid PostgreSQL exam; its owner,
//! examiner and program manager; an advocate program with three tiers; and Ada, a practitioner
//! who redeemed a voucher, passed the PostgreSQL exam (certified tier), enrolled, later passed
//! the free Git exam (top tier), and whose referral link brought clicks (one from a bot),
//! customers and commissions in every state: paid (through a payout marked paid), approved (by
//! the approval job's function), pending, held (a self-referral), reversed (refund before
//! payout) and a clawback (refund after payout). The final balance stays positive.
//!
//! Seeding runs in ONE outer transaction (each step in its own nested transaction, a savepoint,
//! so a failure names its step): either everything is stored or nothing, and a failed run leaves
//! an empty database that the next `--demo` start seeds again. It runs only when the database has
//! no account at all (checked inside that transaction).

use std::fmt;

use chrono::{Duration, NaiveDateTime};

use crate::accounts::{self, MemberInput, VendorInput};
use crate::app::AppState;
use crate::audit::Actor;
use crate::clock::rfc3339_seconds;
use crate::db::{self, DbConn};
use crate::exams::service::{self as exams, BankSource, VoucherInput};
use crate::exams::{parse_bank, Bank, PresentedQuestion};
use crate::referrals::recorder::{ClickRecorder, Visit};
use crate::referrals::service::{
    self as referrals, BindOutcome, CustomerInput, EnrollInput, Enrollee, EventInput, ProgramInput,
    TierInput,
};
use crate::referrals::{
    Program, ReferralError, EVENT_INVOICE_PAID, EVENT_REFUND, KIND_CLAWBACK, STATUS_APPROVED,
    STATUS_PAID, STATUS_PENDING, STATUS_REVERSED,
};

/// The password of every demo account. Only `--demo` creates these accounts, and only in an
/// empty database; it is printed and documented (README, docs/ARCHITECTURE.md).
pub const DEMO_PASSWORD: &str = "credo-demo-password";

pub const VENDOR_SLUG: &str = "acme";
pub const VENDOR_NAME: &str = "Acme Open Source (demo vendor)";
const VENDOR_URL: &str = "https://acme.example/";

pub const POSTGRES_EXAM: &str = "postgresql-administration";
pub const GIT_EXAM: &str = "git-fundamentals";

/// The real banks, embedded so the command works from any directory.
const BANKS: [(&str, &str); 2] = [
    (
        "exam-banks/postgresql/postgresql-administration.toml",
        include_str!("../exam-banks/postgresql/postgresql-administration.toml"),
    ),
    (
        "exam-banks/git/git-fundamentals.toml",
        include_str!("../exam-banks/git/git-fundamentals.toml"),
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

const CURRENCY: &str = "USD";
const HOLD_DAYS: i64 = 30;
const ATTRIBUTION_WINDOW_DAYS: i64 = 60;
const COMMISSION_MONTHS: i64 = 12;
const MIN_PAYOUT_MINOR: i64 = 5_000;
const TERMS_VERSION: &str = "2026-demo";
/// (code, rank, rate in bps, required exams): base, certified, top.
const TIERS: [(&str, i32, u32, &[&str]); 3] = [
    ("community", 0, 1_000, &[]),
    ("certified", 1, 1_500, &[POSTGRES_EXAM]),
    ("champion", 2, 2_000, &[POSTGRES_EXAM, GIT_EXAM]),
];

/// A referred customer's paid invoice, as the vendor's billing system reports it (USD cents).
/// Rates follow Ada's tier on the invoice date: certified (15 %) before she passes the Git exam
/// 50 days ago, champion (20 %) after.
#[derive(Debug, Clone, Copy)]
struct Sale {
    customer: &'static str,
    email: &'static str,
    invoice: &'static str,
    event: &'static str,
    amount_minor: i64,
}

/// Day -80: approved, paid out; 1,000.00 refunded on day -12 (a clawback).
const NORTHWIND: Sale = Sale {
    customer: "cus_demo_northwind",
    email: "billing@northwind.example",
    invoice: "in_demo_1001",
    event: "evt_demo_0001",
    amount_minor: 300_000,
};
const NORTHWIND_REFUND: i64 = 100_000;
/// Day -60: approved, not paid yet.
const INITECH: Sale = Sale {
    customer: "cus_demo_initech",
    email: "accounts@initech.example",
    invoice: "in_demo_1002",
    event: "evt_demo_0002",
    amount_minor: 200_000,
};
/// Day -34: refunded in full on day -27, before any payout (reversed).
const GLOBEX: Sale = Sale {
    customer: "cus_demo_globex",
    email: "finance@globex.example",
    invoice: "in_demo_1003",
    event: "evt_demo_0003",
    amount_minor: 80_000,
};
/// Day -14: the customer's address is on Ada's own domain (held as a possible self-referral).
const LINDQVIST: Sale = Sale {
    customer: "cus_demo_lindqvist",
    email: "it@lindqvist-consulting.example",
    invoice: "in_demo_1005",
    event: "evt_demo_0005",
    amount_minor: 60_000,
};
/// Day -6: bound by referral code (no click), still in its hold period (pending).
const UMBRELLA: Sale = Sale {
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

// ------------------------------------------------------------------------------ outcome

/// What the seeding created, for the printed summary.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub base_url: String,
    pub vendor_console: String,
    pub catalog: String,
    /// (exam title, certificate page URL)
    pub certificates: Vec<(String, String)>,
    pub credential_ids: Vec<String>,
    pub referral_link: String,
    pub referral_dashboard: String,
    pub spare_voucher: String,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// The database was empty and now holds the demo data.
    Seeded(Box<Seeded>),
    /// The database already has accounts; nothing was added.
    NotEmpty { users: i64 },
}

/// A step that failed; nothing of the demo data was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoError {
    pub step: String,
    pub message: String,
}

impl fmt::Display for DemoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "demo data step \"{}\" failed: {}; nothing was stored (the database is as before)",
            self.step, self.message
        )
    }
}

impl std::error::Error for DemoError {}

impl From<diesel::result::Error> for DemoError {
    fn from(e: diesel::result::Error) -> Self {
        DemoError {
            step: "database".into(),
            message: e.to_string(),
        }
    }
}

impl DemoError {
    fn new(step: &str, message: impl Into<String>) -> Self {
        DemoError {
            step: step.to_owned(),
            message: message.into(),
        }
    }
}

/// The printed block: URL, logins with the password, certificate pages, referral link.
pub fn summary(seeded: &Seeded) -> String {
    let mut out = String::new();
    let rule = "=".repeat(78);
    out.push_str(&format!(
        "{rule}\nCredo demo data is ready: {}\n\n",
        seeded.base_url
    ));
    out.push_str("Demo logins (created only by --demo; never use them on a real deployment):\n");
    for account in ACCOUNTS {
        out.push_str(&format!(
            "  {:<28} {:<34} password: {DEMO_PASSWORD}\n",
            account.role, account.email
        ));
    }
    out.push('\n');
    out.push_str(&format!(
        "  vendor console      {}\n",
        seeded.vendor_console
    ));
    out.push_str(&format!("  exam catalog        {}\n", seeded.catalog));
    for (title, url) in &seeded.certificates {
        out.push_str(&format!("  certificate         {url}  ({title})\n"));
    }
    out.push_str(&format!(
        "  referral link       {}  (Ada's dashboard: {})\n",
        seeded.referral_link, seeded.referral_dashboard
    ));
    out.push_str(&format!(
        "  spare voucher       {}  (for the paid PostgreSQL exam)\n",
        seeded.spare_voucher
    ));
    out.push_str(&rule);
    out.push('\n');
    out
}

// ------------------------------------------------------------------------------ exams

/// The embedded bank of an exam, parsed exactly as the import parses it.
fn embedded_bank(exam_slug: &str) -> Result<Bank, DemoError> {
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

// ------------------------------------------------------------------------------ seeding

/// Seeds the demo data when the database has no account; otherwise changes nothing.
pub fn seed_if_empty(state: &AppState) -> Result<Outcome, DemoError> {
    let mut conn = state
        .pool
        .get()
        .map_err(|e| DemoError::new("connect to the database", e.to_string()))?;
    let now = state.clock.now();
    // Hashed once, before the transaction (every demo account shares it).
    let password = accounts::password::hash(DEMO_PASSWORD)
        .map_err(|e| DemoError::new("hash the demo password", e.to_string()))?;
    db::transaction(&mut conn, |conn| {
        let users = accounts::store::count_users(conn)?;
        if users > 0 {
            return Ok(Outcome::NotEmpty { users });
        }
        let mut seeder = Seeder {
            conn,
            state,
            password: &password,
            now,
            last: now - Duration::days(365),
        };
        seeder.run().map(|s| Outcome::Seeded(Box::new(s)))
    })
}

struct Seeder<'a> {
    conn: &'a mut DbConn,
    state: &'a AppState,
    /// The hash of [`DEMO_PASSWORD`].
    password: &'a accounts::password::PasswordHash,
    now: NaiveDateTime,
    /// The time of the previous step: the story only moves forward.
    last: NaiveDateTime,
}

/// How a customer is bound to the advocate.
#[derive(Debug, Clone, Copy)]
enum Via<'a> {
    /// The `credo_click` id the landing page received.
    Click(&'a str),
    /// The referral code, entered by the vendor's sales team.
    Code(&'a str),
}

/// Who visits the referral link: (address, user agent, referrer).
type Visitor = (&'static str, &'static str, Option<&'static str>);

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
const SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

const FROM_LINKEDIN: Visitor = ("203.0.113.21", FIREFOX, Some("https://www.linkedin.com/"));
const FROM_BLOG: Visitor = (
    "198.51.100.7",
    CHROME,
    Some("https://blog.lindqvist-consulting.example/postgres-upgrades"),
);
const FROM_MASTODON: Visitor = ("203.0.113.88", SAFARI, Some("https://fosstodon.org/"));
const DIRECT: Visitor = ("198.51.100.64", CHROME, None);
const CRAWLER: Visitor = ("192.0.2.15", GOOGLEBOT, None);

impl Seeder<'_> {
    /// `days` days before now, plus `minutes`.
    fn ago(&self, days: i64, minutes: i64) -> NaiveDateTime {
        self.now - Duration::days(days) + Duration::minutes(minutes)
    }

    /// Runs one use case in its own (nested) transaction at `at`, naming the step on failure.
    fn step<T, E, F>(&mut self, name: &str, at: NaiveDateTime, f: F) -> Result<T, DemoError>
    where
        F: FnOnce(&mut DbConn, NaiveDateTime) -> Result<T, E>,
        E: fmt::Display + fmt::Debug + From<diesel::result::Error>,
    {
        if at < self.last || at > self.now {
            return Err(DemoError::new(
                name,
                "the demo timeline must move forward and end now",
            ));
        }
        self.last = at;
        db::transaction(self.conn, |c| f(c, at))
            .map_err(|e| DemoError::new(name, format!("{e} ({e:?})")))
    }

    fn run(&mut self) -> Result<Seeded, DemoError> {
        let links = self.state.links.clone();

        // Day -120: the platform, the vendor and its staff.
        let mut ids = Vec::new();
        for (index, account) in [OPERATOR, OWNER, EXAMINER, PROGRAM_MANAGER]
            .into_iter()
            .enumerate()
        {
            let at = self.ago(120, index as i64);
            let name = format!("create the {} account", account.role);
            let password = self.password;
            ids.push(self.step(&name, at, |c, at| {
                accounts::create_verified_user(
                    c,
                    account.email,
                    password,
                    account.name,
                    account.role == OPERATOR.role,
                    at,
                )
            })?);
        }
        // The demo's acts are recorded in the audit trail as the people who would do them.
        let person = |index: usize, account: &DemoAccount| {
            Actor::user(&ids[index], account.name, account.email, None)
        };
        let (operator, owner) = (person(0, &OPERATOR), person(1, &OWNER));
        let (examiner, program_manager) = (person(2, &EXAMINER), person(3, &PROGRAM_MANAGER));
        let at = self.ago(120, 10);
        let vendor = self.step("create the demo vendor", at, |c, at| {
            accounts::create_vendor(
                c,
                &VendorInput {
                    slug: VENDOR_SLUG.to_owned(),
                    name: VENDOR_NAME.to_owned(),
                    url: VENDOR_URL.to_owned(),
                },
                &operator,
                at,
            )
        })?;
        for (index, (account, role)) in [
            (OWNER, "owner"),
            (EXAMINER, "examiner"),
            (PROGRAM_MANAGER, "program_manager"),
        ]
        .into_iter()
        .enumerate()
        {
            let at = self.ago(119, index as i64);
            // The operator makes the owner; the owner adds the staff.
            let by = if index == 0 { &operator } else { &owner };
            self.step(&format!("add the {}", account.role), at, |c, at| {
                accounts::add_member(
                    c,
                    &vendor,
                    &MemberInput {
                        email: account.email.to_owned(),
                        role: role.to_owned(),
                    },
                    by,
                    at,
                )
            })?;
        }

        // Day -118: the examiner imports both real banks and makes vouchers for the paid exam.
        for (index, (name, text)) in BANKS.into_iter().enumerate() {
            let at = self.ago(118, 10 * index as i64);
            let outcome = self.step(&format!("import {name}"), at, |c, at| {
                exams::import_bank(
                    c,
                    &vendor,
                    &BankSource::Toml { name, text },
                    true,
                    &examiner,
                    at,
                )
            })?;
            if !outcome.created {
                return Err(DemoError::new(
                    &format!("import {name}"),
                    "the bank was not stored as a new exam",
                ));
            }
        }
        let at = self.ago(117, 0);
        let expires = (self.now + Duration::days(365))
            .date()
            .format("%Y-%m-%d")
            .to_string();
        let vouchers = self.step("create vouchers for the PostgreSQL exam", at, |c, at| {
            let exam = exams::vendor_exam(c, &vendor.id, POSTGRES_EXAM)?;
            exams::create_vouchers(
                c,
                &exam,
                &VoucherInput {
                    count: 10,
                    expires_at: Some(expires),
                },
                &examiner,
                at,
            )
        })?;
        let (redeemed_voucher, spare_voucher) = match vouchers.codes.as_slice() {
            [first, second, ..] => (first.clone(), second.clone()),
            _ => {
                return Err(DemoError::new(
                    "create vouchers for the PostgreSQL exam",
                    "fewer vouchers than asked for",
                ))
            }
        };

        // Day -115: the program manager sets up the advocate program.
        let at = self.ago(115, 0);
        let master = self.state.master_key.clone();
        let program = self.step("create the advocate program", at, |c, at| {
            let input = ProgramInput {
                currency: Some(CURRENCY.to_owned()),
                landing_url: Some("https://example.com/?vendor=acme-demo".to_owned()),
                attribution_window_days: Some(ATTRIBUTION_WINDOW_DAYS),
                hold_days: Some(HOLD_DAYS),
                commission_months: Some(COMMISSION_MONTHS),
                min_payout_minor: Some(MIN_PAYOUT_MINOR),
                terms_version: Some(TERMS_VERSION.to_owned()),
                terms_text: None,
                tiers: Some(
                    TIERS
                        .iter()
                        .map(|(code, rank, rate, exams)| TierInput {
                            code: (*code).to_owned(),
                            name: None,
                            rank: Some(*rank),
                            rate_bps: Some(i64::from(*rate)),
                            requires_current_credentials: exams
                                .iter()
                                .map(|e| (*e).to_owned())
                                .collect(),
                        })
                        .collect(),
                ),
            };
            referrals::save_program(c, &vendor, &input, &master, &links, &program_manager, at)?;
            referrals::program_of_vendor(c, &vendor)
        })?;

        // Day -95 to -88: Ada registers, redeems a voucher, passes the PostgreSQL exam and enrolls.
        let at = self.ago(95, 0);
        let password = self.password;
        let ada = self.step("create the practitioner's account", at, |c, at| {
            accounts::create_verified_user(c, ADVOCATE.email, password, ADVOCATE.name, false, at)
        })?;
        let postgres = self.pass_exam(&ada, POSTGRES_EXAM, Some(&redeemed_voucher), 92, 9)?;
        let at = self.ago(88, 0);
        let (enrollment, _) =
            self.step("enroll the practitioner as an advocate", at, |c, at| {
                referrals::enroll(
                    c,
                    &program,
                    &vendor,
                    Enrollee {
                        user_id: &ada,
                        display_name: ADVOCATE.name,
                    },
                    &EnrollInput {
                        accept_terms_version: Some(TERMS_VERSION.to_owned()),
                    },
                    &links,
                    at,
                )
            })?;
        let code = enrollment.referral_code.clone();

        // Day -82 to -55: clicks, two customers, two invoices at the certified rate, a crawler.
        let click = self.click(&code, 82, FROM_LINKEDIN)?;
        self.bind(&program, &NORTHWIND, Via::Click(&click), 81)?;
        self.invoice(&program, &NORTHWIND, 80)?;
        self.click(&code, 75, DIRECT)?;
        let click = self.click(&code, 64, FROM_MASTODON)?;
        self.bind(&program, &INITECH, Via::Click(&click), 63)?;
        self.invoice(&program, &INITECH, 60)?;
        self.click(&code, 55, CRAWLER)?;

        // Day -50: Ada passes the free Git exam; her tier rises to the top tier.
        let git = self.pass_exam(&ada, GIT_EXAM, None, 50, 7)?;

        // Day -49 to -43: Northwind's commission is approved (by the approval job's function)
        // and paid out.
        self.approve(49, 1)?;
        let at = self.ago(45, 0);
        let payouts = self.step("create payouts", at, |c, at| {
            referrals::create_payouts(c, &program, &program_manager, at)
        })?;
        let [payout] = payouts.as_slice() else {
            return Err(DemoError::new(
                "create payouts",
                format!("expected one payout, got {}", payouts.len()),
            ));
        };
        let at = self.ago(43, 0);
        self.step("mark the payout paid", at, |c, at| {
            let (payout, _, _) = referrals::payout_with_program(c, &payout.id)?;
            referrals::mark_payout_paid(
                c,
                &payout,
                "ACME-DEMO-TRANSFER-0001",
                &program_manager,
                &links,
                at,
            )
        })?;

        // Day -37 to -27: Globex buys and is refunded before any payout (reversed); Initech's
        // commission is approved.
        let click = self.click(&code, 37, FROM_BLOG)?;
        self.bind(&program, &GLOBEX, Via::Click(&click), 36)?;
        self.invoice(&program, &GLOBEX, 34)?;
        self.approve(29, 1)?;
        let refund = ("evt_demo_0004", GLOBEX.amount_minor);
        self.refund(&program, &GLOBEX, refund, 27, "commission_reversed")?;

        // Day -20 to -2: a self-referral (held for review), a refund after payout (clawback),
        // a customer bound by code by the vendor's sales team, a sale still in its hold period.
        self.click(&code, 20, DIRECT)?;
        let click = self.click(&code, 16, FROM_LINKEDIN)?;
        self.bind(&program, &LINDQVIST, Via::Click(&click), 16)?;
        self.invoice(&program, &LINDQVIST, 14)?;
        let refund = ("evt_demo_0006", NORTHWIND_REFUND);
        self.refund(&program, &NORTHWIND, refund, 12, "clawback_created")?;
        self.bind(&program, &UMBRELLA, Via::Code(&code), 7)?;
        self.invoice(&program, &UMBRELLA, 6)?;
        self.click(&code, 2, FROM_MASTODON)?;

        self.check_dashboard(&ada)?;
        Ok(Seeded {
            base_url: links.url(""),
            vendor_console: links.url(&format!("/vendor/{VENDOR_SLUG}")),
            catalog: links.url("/exams"),
            certificates: vec![
                (postgres.1, links.credential_page(&postgres.0)),
                (git.1, links.credential_page(&git.0)),
            ],
            credential_ids: vec![postgres.0, git.0],
            referral_link: links.referral(&code),
            referral_dashboard: links.referrals_dashboard(),
            spare_voucher,
        })
    }

    /// Starts an attempt `days` ago, saves answers one a minute (as the page autosaves) and
    /// submits; the grading hook issues the credential. Returns its id and the exam's title.
    fn pass_exam(
        &mut self,
        user: &str,
        exam: &str,
        voucher: Option<&str>,
        days: i64,
        wrong_every: usize,
    ) -> Result<(String, String), DemoError> {
        let bank = embedded_bank(exam)?;
        let at = self.ago(days, 0);
        let started = self.step(&format!("start an attempt at {exam}"), at, |c, at| {
            exams::start_attempt(c, user, VENDOR_SLUG, exam, voucher, at)
        })?;
        let answers = answers_for(&bank, &started.questions, wrong_every);
        let at = self.ago(days, 1);
        self.step(&format!("answer the {exam} questions"), at, |c, at| {
            for (minute, (question, choices)) in answers.iter().enumerate() {
                let saved_at = at + Duration::minutes(minute as i64);
                exams::save_answer(c, user, &started.id, question, choices, saved_at)?;
            }
            Ok::<_, crate::exams::ExamError>(())
        })?;
        let at = self.ago(days, answers.len() as i64 + 4);
        let links = self.state.links.clone();
        let hook = self.state.on_exam_passed();
        let step = format!("submit the {exam} attempt");
        let result = self.step(&step, at, |c, at| {
            exams::submit_attempt(c, user, &started.id, &links, &hook, at)
        })?;
        let id = result.credential_id.ok_or_else(|| {
            DemoError::new(
                &step,
                format!(
                    "the attempt scored {}% and issued no credential",
                    result.score_percent
                ),
            )
        })?;
        Ok((id, bank.exam.title))
    }

    /// A visit of the referral link `days` ago, recorded as `/r/<code>` records it.
    fn click(&mut self, code: &str, days: i64, visitor: Visitor) -> Result<String, DemoError> {
        let recorder = self.state.clicks.clone();
        let at = self.ago(days, 0);
        self.step("record a referral link click", at, |c, at| {
            let target = recorder
                .lookup(c, code)?
                .ok_or_else(|| ReferralError::NotFound(format!("referral code {code}")))?;
            let (address, user_agent, referrer) = visitor;
            let click = recorder.new_click(
                &target,
                &Visit {
                    address,
                    user_agent: Some(user_agent),
                    referrer,
                    over_limit: false,
                },
                at,
            );
            ClickRecorder::write_one(c, &click)?;
            Ok::<_, ReferralError>(click.id)
        })
    }

    /// The vendor binds a customer to the advocate of a click or a referral code.
    fn bind(
        &mut self,
        program: &Program,
        sale: &Sale,
        via: Via<'_>,
        days: i64,
    ) -> Result<(), DemoError> {
        let at = self.ago(days, 30);
        let step = format!("bind customer {}", sale.customer);
        let (click_id, code) = match via {
            Via::Click(id) => (Some(id.to_owned()), None),
            Via::Code(code) => (None, Some(code.to_owned())),
        };
        let input = CustomerInput {
            external_id: Some(sale.customer.to_owned()),
            click_id,
            referral_code: code,
            email: Some(sale.email.to_owned()),
        };
        let outcome = self.step(&step, at, |c, at| {
            referrals::bind_customer(c, program, &input, at)
        })?;
        match outcome {
            BindOutcome::Bound(_) => Ok(()),
            other => Err(DemoError::new(&step, format!("not bound: {other:?}"))),
        }
    }

    /// A billing event `days` ago (plus an hour), through the billing inbox's use case.
    fn billing_event(
        &mut self,
        program: &Program,
        kind: &str,
        (event_id, sale, amount_minor): (&str, &Sale, i64),
        days: i64,
        expected: &str,
    ) -> Result<(), DemoError> {
        let at = self.ago(days, 60);
        let input = EventInput {
            source: Some("demo-billing".to_owned()),
            external_event_id: Some(event_id.to_owned()),
            kind: Some(kind.to_owned()),
            invoice_id: Some(sale.invoice.to_owned()),
            customer_external_id: Some(sale.customer.to_owned()),
            amount_minor: Some(amount_minor),
            currency: Some(CURRENCY.to_owned()),
            occurred_at: Some(rfc3339_seconds(at)),
        };
        let payload = serde_json::json!({
            "source": input.source,
            "external_event_id": input.external_event_id,
            "kind": input.kind,
            "invoice_id": input.invoice_id,
            "customer_external_id": input.customer_external_id,
            "amount_minor": input.amount_minor,
            "currency": input.currency,
            "occurred_at": input.occurred_at,
        })
        .to_string();
        let step = format!(
            "billing event {event_id} ({kind} of invoice {})",
            sale.invoice
        );
        let answer = self.step(&step, at, |c, at| {
            referrals::ingest_event(c, program, &input, &payload, at)
        })?;
        let outcome = answer.effect["outcome"].as_str().unwrap_or_default();
        if outcome == expected {
            Ok(())
        } else {
            Err(DemoError::new(
                &step,
                format!("expected {expected}, got {}", answer.effect),
            ))
        }
    }

    /// The sale's invoice is paid `days` ago: a commission is created.
    fn invoice(&mut self, program: &Program, sale: &Sale, days: i64) -> Result<(), DemoError> {
        let event = (sale.event, sale, sale.amount_minor);
        self.billing_event(
            program,
            EVENT_INVOICE_PAID,
            event,
            days,
            "commission_created",
        )
    }

    /// `(event id, amount)` of the sale's invoice is refunded `days` ago.
    fn refund(
        &mut self,
        program: &Program,
        sale: &Sale,
        (event_id, amount_minor): (&str, i64),
        days: i64,
        expected: &str,
    ) -> Result<(), DemoError> {
        let event = (event_id, sale, amount_minor);
        self.billing_event(program, EVENT_REFUND, event, days, expected)
    }

    /// One pass of the approval job `days` ago; `expected` commissions become approved.
    fn approve(&mut self, days: i64, expected: usize) -> Result<(), DemoError> {
        let links = self.state.links.clone();
        let at = self.ago(days, 0);
        let step = "approve commissions whose hold ended";
        let approved = self.step(step, at, |c, at| referrals::approve_due(c, &links, at, 100))?;
        if approved == expected {
            Ok(())
        } else {
            Err(DemoError::new(
                step,
                format!("{approved} commission(s) approved, {expected} expected"),
            ))
        }
    }

    /// Ada's dashboard as she will see it: a commission in every state and a positive balance.
    fn check_dashboard(&mut self, ada: &str) -> Result<(), DemoError> {
        let links = self.state.links.clone();
        let step = "check the advocate's dashboard";
        let now = self.now;
        let mine = self.step(step, now, |c, at| {
            referrals::my_referrals(c, ada, &links, at)
        })?;
        let [enrollment] = mine.enrollments.as_slice() else {
            return Err(DemoError::new(
                step,
                "the advocate has no single enrollment",
            ));
        };
        for status in [
            STATUS_PENDING,
            "held",
            STATUS_APPROVED,
            STATUS_PAID,
            STATUS_REVERSED,
        ] {
            if enrollment
                .commissions
                .get(status)
                .is_none_or(|t| t.count == 0)
            {
                return Err(DemoError::new(step, format!("no {status} commission")));
            }
        }
        if !enrollment
            .recent_commissions
            .iter()
            .any(|c| c.kind == KIND_CLAWBACK && c.amount_minor < 0)
        {
            return Err(DemoError::new(step, "no clawback"));
        }
        let expected = expected_balance_minor().map_err(|e| DemoError::new(step, e.to_string()))?;
        if enrollment.balance_minor != expected {
            return Err(DemoError::new(
                step,
                format!("balance {} instead of {expected}", enrollment.balance_minor),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_story_ends_with_a_payable_positive_balance() {
        let balance = expected_balance_minor().unwrap();
        assert!(balance >= MIN_PAYOUT_MINOR, "{balance}");
        // 15 % of 2,000.00 minus 15 % of 1,000.00.
        assert_eq!(balance, 15_000);
    }

    #[test]
    fn embedded_banks_are_the_real_ones_with_forty_questions_per_form() {
        for slug in [POSTGRES_EXAM, GIT_EXAM] {
            let bank = embedded_bank(slug).unwrap();
            let per_form: u32 = bank.domains.iter().map(|d| d.questions_per_form).sum();
            assert_eq!(per_form, 40, "{slug}");
        }
        assert!(embedded_bank("nope").is_err());
    }

    /// The demo's answers (handles) as the bank's choice ids, for grading without a database.
    fn bank_ids(
        form: &crate::exams::Form,
        answers: Vec<(String, Vec<String>)>,
    ) -> std::collections::HashMap<String, Vec<String>> {
        answers
            .into_iter()
            .map(|(handle, handles)| {
                let question = form.question_id_of(&handle).unwrap().to_owned();
                let ids = form.choice_ids_of(&question, &handles).unwrap();
                (question, ids)
            })
            .collect()
    }

    #[test]
    fn demo_answers_pass_every_form_with_a_believable_score() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for (slug, wrong_every) in [(POSTGRES_EXAM, 9), (GIT_EXAM, 7)] {
            let bank = embedded_bank(slug).unwrap();
            for _ in 0..20 {
                let form = crate::exams::draw_form(&bank, &mut rng).unwrap();
                let answers = bank_ids(
                    &form,
                    answers_for(&bank, &form.present(&bank).unwrap(), wrong_every),
                );
                assert_eq!(answers.len(), 40);
                let graded =
                    crate::exams::grade(&bank, &form, &answers, bank.exam.pass_percent).unwrap();
                assert!(graded.passed, "{slug}: {}", graded.score_basis_points);
                assert!(
                    graded.score_basis_points < 10_000,
                    "{slug}: a perfect score looks staged"
                );
            }
            let form = crate::exams::draw_form(&bank, &mut rng).unwrap();
            let answers = bank_ids(&form, answers_for(&bank, &form.present(&bank).unwrap(), 0));
            let graded = crate::exams::grade(&bank, &form, &answers, 70).unwrap();
            assert_eq!(
                graded.score_basis_points, 10_000,
                "{slug}: the key is right"
            );
        }
    }

    #[test]
    fn the_tiers_are_a_valid_program() {
        let rules: Vec<crate::referrals::TierRule> = TIERS
            .iter()
            .map(|(code, rank, rate, exams)| crate::referrals::TierRule {
                code: (*code).to_owned(),
                name: crate::referrals::tiers::default_tier_name(code),
                rank: *rank,
                rate_bps: *rate,
                requires_current_credentials: exams.iter().map(|e| (*e).to_owned()).collect(),
            })
            .collect();
        crate::referrals::tiers::validate_tiers(&rules).unwrap();
    }

    #[test]
    fn the_summary_lists_every_login_with_its_password_and_the_links() {
        let seeded = Seeded {
            base_url: "http://127.0.0.1:8080".into(),
            vendor_console: "http://127.0.0.1:8080/vendor/acme".into(),
            catalog: "http://127.0.0.1:8080/exams".into(),
            certificates: vec![("PostgreSQL".into(), "http://127.0.0.1:8080/c/1".into())],
            credential_ids: vec!["1".into()],
            referral_link: "http://127.0.0.1:8080/r/ADA-ABCDE".into(),
            referral_dashboard: "http://127.0.0.1:8080/referrals".into(),
            spare_voucher: "ABCD-EFGH-JKMN".into(),
        };
        let text = summary(&seeded);
        for account in ACCOUNTS {
            let line = text
                .lines()
                .find(|l| l.contains(account.email))
                .unwrap_or_else(|| panic!("{} missing:\n{text}", account.email));
            assert!(
                line.ends_with(&format!("password: {DEMO_PASSWORD}")),
                "{line}"
            );
        }
        for needle in [
            "http://127.0.0.1:8080/c/1",
            "http://127.0.0.1:8080/r/ADA-ABCDE",
            "ABCD-EFGH-JKMN",
            "/vendor/acme",
        ] {
            assert!(text.contains(needle), "{needle} missing:\n{text}");
        }
        assert_eq!(ACCOUNTS.iter().filter(|a| a.role == "operator").count(), 1);
    }

    #[test]
    fn demo_errors_name_their_step_and_say_nothing_was_stored() {
        let e = DemoError::new("import x.toml", "boom");
        let text = e.to_string();
        assert!(text.contains("import x.toml") && text.contains("boom"));
        assert!(text.contains("nothing was stored"));
    }
}
