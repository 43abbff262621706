//! Status columns stored as text, read back as closed Rust enums.
//!
//! The columns stay `Text` on both backends (no PostgreSQL enum types to migrate, the same schema
//! for SQLite); the mapping is checked where a row is read: a value outside the set fails the
//! read with [`UnknownValue`] naming the column's kind, instead of flowing on as a string.
//! Use with diesel's `#[diesel(deserialize_as = String)]` on `Queryable` fields and
//! `#[diesel(serialize_as = String)]` on `Insertable` fields, or `.as_str()` in filters.

/// A stored text value that names no variant of the enum it was read as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a known {kind}")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

/// Declares a `Copy` enum whose variants are stored as the given texts, with `as_str`, `parse`,
/// `ALL`, `Display`, `FromStr`, serde (as the texts) and the `String` conversions diesel's
/// `deserialize_as` / `serialize_as` use.
///
/// ```ignore
/// text_enum! {
///     /// Where an attempt is in its life.
///     pub enum AttemptStatus("attempt status") {
///         InProgress = "in_progress",
///         Graded = "graded",
///     }
/// }
/// ```
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($kind:literal) {
            // `tt`, not `literal`: a `literal` fragment reaches derive macros wrapped in an
            // invisible group, and utoipa's `ToSchema` then misses the `serde(rename)` (the
            // schema would list the variant names instead of the stored texts).
            $($(#[$variant_meta:meta])* $variant:ident = $text:tt),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        $vis enum $name {
            $($(#[$variant_meta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The text stored in the database and shown in the API.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::db::text_enum::UnknownValue;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::parse(text).ok_or_else(|| $crate::db::text_enum::UnknownValue {
                    kind: $kind,
                    value: text.to_owned(),
                })
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::db::text_enum::UnknownValue;

            fn try_from(text: String) -> Result<Self, Self::Error> {
                text.parse()
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_owned()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }
    };
}
pub(crate) use text_enum;

/// Reads stored texts as enum values where a query selects the column alone (diesel's
/// `deserialize_as` needs a struct): a value outside the set fails the read like a bad column.
pub fn read_all<E>(texts: Vec<String>) -> diesel::QueryResult<Vec<E>>
where
    E: TryFrom<String, Error = UnknownValue>,
{
    texts
        .into_iter()
        .map(|text| {
            E::try_from(text).map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    text_enum! {
        /// A test enum.
        #[derive(utoipa::ToSchema)]
        pub enum Colour("colour") {
            Red = "red",
            DarkBlue = "dark_blue",
        }
    }

    #[test]
    fn texts_round_trip_and_unknown_values_are_named() {
        for colour in Colour::ALL {
            assert_eq!(colour.as_str().parse::<Colour>(), Ok(*colour));
            assert_eq!(String::from(*colour), colour.to_string());
        }
        assert_eq!(
            Colour::try_from("dark_blue".to_owned()),
            Ok(Colour::DarkBlue)
        );
        let error = "green".parse::<Colour>().unwrap_err();
        assert_eq!(error.to_string(), "`green` is not a known colour");
        assert_eq!(
            serde_json::to_string(&Colour::DarkBlue).unwrap(),
            "\"dark_blue\""
        );
        assert_eq!(
            serde_json::from_str::<Colour>("\"red\"").unwrap(),
            Colour::Red
        );
        assert!(serde_json::from_str::<Colour>("\"Red\"").is_err());
    }

    #[test]
    fn read_all_fails_on_a_value_outside_the_set() {
        let read: Vec<Colour> = super::read_all(vec!["red".into(), "dark_blue".into()]).unwrap();
        assert_eq!(read, [Colour::Red, Colour::DarkBlue]);
        let error = super::read_all::<Colour>(vec!["red".into(), "blue".into()]).unwrap_err();
        assert!(
            error.to_string().contains("`blue` is not a known colour"),
            "{error}"
        );
    }

    #[test]
    fn the_openapi_schema_lists_the_texts() {
        let schema = serde_json::to_value(<Colour as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(
            schema["enum"],
            serde_json::json!(["red", "dark_blue"]),
            "{schema}"
        );
    }
}
