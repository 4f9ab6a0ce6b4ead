/// A set of scopes from one [`ScopeCatalog`](crate::ScopeCatalog), as 128 bits.
///
/// Bit `i` is the scope the catalog registered `i`-th. Sets from different
/// catalogs must not be mixed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(u128);

impl ScopeSet {
    /// The empty set.
    pub const EMPTY: Self = Self(0);

    /// Rebuilds a set from the bits returned by [`ScopeSet::bits`].
    pub const fn from_bits(bits: u128) -> Self {
        Self(bits)
    }

    /// Returns the bits, for storage.
    pub const fn bits(self) -> u128 {
        self.0
    }

    /// Returns the set holding only the scope at catalog position `index`.
    ///
    /// An `index` of 128 or more gives the empty set.
    pub const fn single(index: usize) -> Self {
        if index < 128 {
            Self(1 << index)
        } else {
            Self::EMPTY
        }
    }

    /// Returns `true` when the set holds no scope.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Returns `true` when every scope of `self` is in `other`.
    pub const fn is_subset_of(self, other: Self) -> bool {
        self.0 & !other.0 == 0
    }

    /// Returns `true` when every scope of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        other.is_subset_of(self)
    }

    /// Returns the scopes in either set.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Returns the scopes in both sets.
    #[must_use]
    pub const fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// Returns the scopes of `self` that are not in `other`.
    #[must_use]
    pub const fn difference(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// Returns the number of scopes in the set.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Iterates over the catalog positions in the set, in ascending order.
    pub fn indices(self) -> impl Iterator<Item = usize> {
        (0..128).filter(move |index| self.0 & (1 << index) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subset_and_difference() {
        let read = ScopeSet::single(0);
        let write = ScopeSet::single(1);
        let both = read.union(write);
        assert!(read.is_subset_of(both));
        assert!(!both.is_subset_of(read));
        assert!(both.contains(write));
        assert_eq!(both.difference(read), write);
        assert_eq!(both.len(), 2);
        assert_eq!(both.indices().collect::<Vec<_>>(), [0, 1]);
        assert!(ScopeSet::EMPTY.is_subset_of(read));
        assert!(ScopeSet::single(200).is_empty());
    }
}
