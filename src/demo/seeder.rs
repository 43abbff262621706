//! The runner: seeds the story through the domains' use cases in one transaction, each step in a
//! nested one named in the error if it fails.

use std::fmt;

use chrono::{Duration, NaiveDateTime};

use super::data::{
    answers_for, embedded_bank, expected_balance_minor, DemoAccount, Sale, Visitor, ADVOCATE,
    ATTRIBUTION_WINDOW_DAYS, BANKS, COMMISSION_MONTHS, CRAWLER, CURRENCY, DEMO_PASSWORD, DIRECT,
    EXAMINER, FROM_BLOG, FROM_LINKEDIN, FROM_MASTODON, GIT_EXAM, GLOBEX, HOLD_DAYS, INITECH,
    LINDQVIST, MIN_PAYOUT_MINOR, NORTHWIND, NORTHWIND_REFUND, OPERATOR, OWNER, POSTGRES_EXAM,
    PROGRAM_MANAGER, TERMS_VERSION, TIERS, UMBRELLA, VENDOR_NAME, VENDOR_SLUG, VENDOR_URL,
};
use super::{DemoError, Outcome, Seeded};
use crate::accounts::{self, MemberInput, VendorInput};
use crate::app::AppState;
use crate::audit::Actor;
use crate::clock::rfc3339_seconds;
use crate::db::{self, DbConn};
use crate::exams::service::{self as exams, BankSource, VoucherInput};
use crate::referrals::recorder::{ClickRecorder, Visit};
use crate::referrals::service::{
    self as referrals, BindOutcome, CustomerInput, EnrollInput, Enrollee, EventInput, ProgramInput,
    TierInput,
};
use crate::referrals::{
    BillingEventKind, CommissionKind, CommissionStatus, Program, ReferralError,
};

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
        let hook = self.state.on_exam_passed(None);
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
            BillingEventKind::InvoicePaid.as_str(),
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
        self.billing_event(
            program,
            BillingEventKind::Refund.as_str(),
            event,
            days,
            expected,
        )
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
            CommissionStatus::Pending.as_str(),
            "held",
            CommissionStatus::Approved.as_str(),
            CommissionStatus::Paid.as_str(),
            CommissionStatus::Reversed.as_str(),
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
            .any(|c| c.kind == CommissionKind::Clawback.as_str() && c.amount_minor < 0)
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
