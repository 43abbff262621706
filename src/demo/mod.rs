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

mod data;
mod seeder;
#[cfg(test)]
mod tests;

use std::fmt;

pub use data::{
    answers_for, expected_balance_minor, DemoAccount, ACCOUNTS, ADVOCATE, DEMO_PASSWORD, EXAMINER,
    GIT_EXAM, OPERATOR, OWNER, POSTGRES_EXAM, PROGRAM_MANAGER, VENDOR_NAME, VENDOR_SLUG,
};
pub use seeder::seed_if_empty;

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
