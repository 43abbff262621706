//! API key scopes. A key is given scopes when it is created: `exams`, `credentials` and
//! `referrals` open every request of that area; `read` opens every GET of the vendor. Which area a
//! route belongs to is decided in one place in the HTTP layer (`http::auth`).
//!
//! A key never holds more than the role of the person who created it: owners may grant every
//! scope, examiners `exams` and `credentials`, program managers `referrals`.

use serde::Serializer;

use super::VendorRole;

/// Answered by name (`Scope::as_str`), as the schema says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Scope {
    Credentials,
    Exams,
    Read,
    Referrals,
}

impl Scope {
    pub const ALL: [Scope; 4] = [
        Scope::Credentials,
        Scope::Exams,
        Scope::Read,
        Scope::Referrals,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Credentials => "credentials",
            Scope::Exams => "exams",
            Scope::Read => "read",
            Scope::Referrals => "referrals",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text.trim())
    }

    /// The scopes a person holding `role` may put on a key.
    pub fn grantable_by(role: VendorRole) -> &'static [Scope] {
        match role {
            VendorRole::Owner => &Scope::ALL,
            VendorRole::Examiner => &[Scope::Credentials, Scope::Exams],
            VendorRole::ProgramManager => &[Scope::Referrals],
        }
    }
}

/// A set of scopes, stored as their names separated by spaces in a fixed order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Self {
        let mut list: Vec<Scope> = scopes.into_iter().collect();
        list.sort();
        list.dedup();
        Scopes(list)
    }

    /// Reads the stored form; unknown words (none are written) are ignored, never widened.
    pub fn from_stored(text: &str) -> Self {
        Scopes::new(text.split_whitespace().filter_map(Scope::parse))
    }

    pub fn to_stored(&self) -> String {
        self.names().join(" ")
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|s| s.as_str()).collect()
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    /// The scopes people with these roles may grant together.
    pub fn grantable_by(roles: &[VendorRole]) -> Self {
        Scopes::new(
            roles
                .iter()
                .flat_map(|r| Scope::grantable_by(*r).iter().copied()),
        )
    }

    /// Whether every scope of `self` is in `other`.
    pub fn is_within(&self, other: &Scopes) -> bool {
        self.iter().all(|s| other.contains(s))
    }

    /// Whether a request to a route of `area` with a reading (`GET`/`HEAD`) or writing method is
    /// allowed; otherwise the scope the key lacks.
    pub fn allows(&self, area: Scope, reading: bool) -> Result<(), Scope> {
        if self.contains(area) || (reading && self.contains(Scope::Read)) {
            Ok(())
        } else {
            Err(area)
        }
    }
}

/// Serializes a stored scope list as a JSON array of names.
pub fn serialize_stored<S: Serializer>(stored: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(Scopes::from_stored(stored).names())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_round_trips_sorted_and_deduplicated() {
        let scopes = Scopes::new([Scope::Referrals, Scope::Exams, Scope::Exams]);
        assert_eq!(scopes.to_stored(), "exams referrals");
        assert_eq!(Scopes::from_stored("exams  referrals bogus"), scopes);
        // The migration's default for keys made before scopes existed is every scope.
        assert_eq!(
            Scopes::from_stored("credentials exams read referrals"),
            Scopes::new(Scope::ALL)
        );
    }

    #[test]
    fn read_opens_gets_only_and_areas_open_everything_of_theirs() {
        let read = Scopes::new([Scope::Read]);
        assert_eq!(read.allows(Scope::Exams, true), Ok(()));
        assert_eq!(read.allows(Scope::Exams, false), Err(Scope::Exams));
        let exams = Scopes::new([Scope::Exams]);
        assert_eq!(exams.allows(Scope::Exams, false), Ok(()));
        assert_eq!(exams.allows(Scope::Exams, true), Ok(()));
        assert_eq!(
            exams.allows(Scope::Credentials, false),
            Err(Scope::Credentials)
        );
        assert_eq!(
            exams.allows(Scope::Credentials, true),
            Err(Scope::Credentials)
        );
    }

    #[test]
    fn keys_hold_no_more_than_their_creators_role() {
        let examiner = Scopes::grantable_by(&[VendorRole::Examiner]);
        assert!(Scopes::new([Scope::Exams, Scope::Credentials]).is_within(&examiner));
        assert!(!Scopes::new([Scope::Read]).is_within(&examiner));
        assert!(!Scopes::new([Scope::Referrals]).is_within(&examiner));
        let both = Scopes::grantable_by(&[VendorRole::Examiner, VendorRole::ProgramManager]);
        assert!(Scopes::new([Scope::Exams, Scope::Referrals]).is_within(&both));
        assert_eq!(
            Scopes::grantable_by(&[VendorRole::Owner]),
            Scopes::new(Scope::ALL)
        );
    }
}
