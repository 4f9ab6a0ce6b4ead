use std::fmt;

use thiserror::Error;

use crate::{ScopeSet, scope_tokens, syntax::is_scope_token};

/// Why a scope could not be registered.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// The name breaks the scope-token grammar of RFC 6749 §3.3.
    #[error("scope name {0:?} is not a valid scope-token")]
    InvalidName(String),
    /// The name is registered already.
    #[error("scope {0:?} is registered twice")]
    Duplicate(String),
    /// The catalog holds 128 scopes, its capacity.
    #[error("a scope catalog holds at most 128 scopes")]
    Full,
}

/// Why a requested `scope` value was rejected; both map to `invalid_scope`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// A token breaks the grammar of RFC 6749 §3.3.
    #[error("scope is malformed")]
    Malformed,
    /// A well-formed token is not in the catalog.
    #[error("scope is not registered")]
    Unknown,
}

#[derive(Clone, Debug)]
struct Entry {
    name: Box<str>,
    description: Box<str>,
}

/// The scopes a server registers, each with a description for consent pages.
#[derive(Clone, Debug, Default)]
pub struct ScopeCatalog {
    entries: Vec<Entry>,
}

impl ScopeCatalog {
    /// Creates an empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a scope, returning the set that holds only it.
    ///
    /// # Errors
    ///
    /// [`CatalogError`] for an invalid or duplicate name, or a full catalog.
    pub fn register(&mut self, name: &str, description: &str) -> Result<ScopeSet, CatalogError> {
        if !is_scope_token(name) {
            return Err(CatalogError::InvalidName(name.to_owned()));
        }
        if self.position(name).is_some() {
            return Err(CatalogError::Duplicate(name.to_owned()));
        }
        if self.entries.len() == 128 {
            return Err(CatalogError::Full);
        }
        self.entries.push(Entry {
            name: name.into(),
            description: description.into(),
        });
        Ok(ScopeSet::single(self.entries.len() - 1))
    }

    /// Returns the set of every registered scope.
    pub fn all(&self) -> ScopeSet {
        match self.entries.len() {
            128 => ScopeSet::from_bits(u128::MAX),
            len => ScopeSet::from_bits((1u128 << len) - 1),
        }
    }

    /// Returns the set holding the one scope named `name`, if registered.
    pub fn lookup(&self, name: &str) -> Option<ScopeSet> {
        self.position(name).map(ScopeSet::single)
    }

    /// Parses a space-separated `scope` value into a set.
    ///
    /// Duplicates collapse. An empty value gives the empty set; whether that
    /// means "the client's default scope" is the caller's decision (RFC 6749 §3.3).
    ///
    /// # Errors
    ///
    /// [`ScopeError::Malformed`] or [`ScopeError::Unknown`].
    pub fn parse(&self, value: &str) -> Result<ScopeSet, ScopeError> {
        let tokens = scope_tokens(value).map_err(|_| ScopeError::Malformed)?;
        let mut set = ScopeSet::EMPTY;
        for token in tokens {
            set = set.union(self.lookup(token).ok_or(ScopeError::Unknown)?);
        }
        Ok(set)
    }

    /// Formats a set as a space-separated `scope` value in catalog order.
    pub fn format(&self, set: ScopeSet) -> String {
        self.display(set).to_string()
    }

    /// Returns a value whose `Display` writes the set, for writing without an
    /// intermediate `String`.
    pub fn display(&self, set: ScopeSet) -> impl fmt::Display + '_ {
        Display { catalog: self, set }
    }

    /// Iterates over the `(name, description)` of each scope in `set`, in catalog order.
    pub fn describe(&self, set: ScopeSet) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .enumerate()
            .filter(move |(index, _)| set.contains(ScopeSet::single(*index)))
            .map(|(_, entry)| (&*entry.name, &*entry.description))
    }

    /// Iterates over every registered `(name, description)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.describe(self.all())
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|entry| &*entry.name == name)
    }
}

struct Display<'a> {
    catalog: &'a ScopeCatalog,
    set: ScopeSet,
}

impl fmt::Display for Display<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, (name, _)) in self.catalog.describe(self.set).enumerate() {
            if position > 0 {
                f.write_str(" ")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn catalog() -> ScopeCatalog {
        let mut catalog = ScopeCatalog::new();
        for name in ["datasets:read", "datasets:write", "mcp:query", "a", "b~c"] {
            catalog.register(name, "description").unwrap();
        }
        catalog
    }

    #[test]
    fn parse_orders_and_deduplicates() {
        let catalog = catalog();
        let set = catalog.parse("mcp:query datasets:read mcp:query").unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(catalog.format(set), "datasets:read mcp:query");
    }

    #[test]
    fn unknown_and_malformed_scopes_are_distinguished() {
        let catalog = catalog();
        assert_eq!(
            catalog.parse("datasets:read nonsense:x"),
            Err(ScopeError::Unknown)
        );
        assert_eq!(
            catalog.parse("datasets:read \"quoted\""),
            Err(ScopeError::Malformed)
        );
        assert_eq!(catalog.parse("a\\b"), Err(ScopeError::Malformed));
    }

    #[test]
    fn empty_value_is_empty_set() {
        assert_eq!(catalog().parse("").unwrap(), ScopeSet::EMPTY);
        assert_eq!(catalog().parse("   ").unwrap(), ScopeSet::EMPTY);
    }

    #[test]
    fn register_rejects_bad_names_duplicates_and_overflow() {
        let mut catalog = catalog();
        assert!(matches!(
            catalog.register("a b", ""),
            Err(CatalogError::InvalidName(_))
        ));
        assert!(matches!(
            catalog.register("a", ""),
            Err(CatalogError::Duplicate(_))
        ));
        let mut full = ScopeCatalog::new();
        for index in 0..128 {
            full.register(&format!("s{index}"), "").unwrap();
        }
        assert_eq!(full.all().len(), 128);
        assert_eq!(full.register("one-more", ""), Err(CatalogError::Full));
    }

    #[test]
    fn describe_lists_descriptions_in_catalog_order() {
        let mut catalog = ScopeCatalog::new();
        catalog.register("x", "the x scope").unwrap();
        catalog.register("y", "the y scope").unwrap();
        let set = catalog.parse("y x").unwrap();
        let described: Vec<_> = catalog.describe(set).collect();
        assert_eq!(described, [("x", "the x scope"), ("y", "the y scope")]);
    }

    proptest! {
        #[test]
        fn parse_is_an_error_or_round_trips(input in "[ -~]{0,80}") {
            let catalog = catalog();
            if let Ok(set) = catalog.parse(&input) {
                let formatted = catalog.format(set);
                prop_assert_eq!(catalog.parse(&formatted), Ok(set));
                for token in input.split(' ').filter(|t| !t.is_empty()) {
                    prop_assert!(catalog.lookup(token).is_some());
                }
            }
        }

        #[test]
        fn any_subset_round_trips(bits in 0u128..32) {
            let catalog = catalog();
            let set = ScopeSet::from_bits(bits);
            prop_assert_eq!(catalog.parse(&catalog.format(set)), Ok(set));
        }

        #[test]
        fn token_syntax_matches_rfc_grammar(input in "\\PC{0,20}") {
            let expected = !input.is_empty()
                && input.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            prop_assert_eq!(is_scope_token(&input), expected);
        }
    }
}
