//! Every query of the referral tables. Functions take the caller's connection, so a use case in
//! `service` runs in one transaction. Dialect-specific statements (batch insert, insert-or-ignore)
//! `match` on [`DbConn`](crate::db::DbConn) here and nowhere else in this module.
//!
//! One file per table group; everything is re-exported here, so callers name `store::X`.
//!
//! Read-only queries of other domains' tables live here too and are marked as such:
//! [`vendor_exams`] (exams) and the funnel counts
//! (users, attempts, credentials).

mod clicks;
mod commissions;
mod customers;
mod enrollments;
mod events;
mod funnel;
mod payouts;
mod programs;

pub use self::clicks::*;
pub use self::commissions::*;
pub use self::customers::*;
pub use self::enrollments::*;
pub use self::events::*;
pub use self::funnel::*;
pub use self::payouts::*;
pub use self::programs::*;
