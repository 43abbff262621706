//! Referral network (DESIGN §6): pure rules here (codes, clicks, tiers, webhooks, disclosure);
//! money arithmetic lives in `crate::money`.

pub mod clicks;
pub mod codes;
pub mod disclosure;
pub mod tiers;
pub mod webhook;

pub use clicks::{hash_with_salt, is_bot};
pub use codes::{generate_code, normalize_code};
pub use disclosure::{earnings_disclosure, EarningsDisclosure};
pub use tiers::{next_tier, select_tier, validate_tiers, TierRule};
pub use webhook::{sign, verify_signature, WebhookError};
