//! Resource addresses: the stable, human-chosen name of a resource in a stack.
//!
//! An address is a dot-separated path of segments, e.g. `us.network.public-a`.
//! Components push a prefix segment; the last segment is the name given to
//! `add`. Addresses are unique within a stack and are the key of a resource
//! in state, in plans and on the command line (`--target`, `state mv`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::AddressError;

/// A validated resource address (`segment(.segment)*`, segments of `[A-Za-z0-9_-]`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(String);

impl Address {
    /// Parses and validates an address.
    pub fn parse(s: &str) -> Result<Self, AddressError> {
        if s.is_empty() {
            return Err(AddressError::Empty);
        }
        for segment in s.split('.') {
            validate_segment(s, segment)?;
        }
        Ok(Address(s.to_owned()))
    }

    /// Builds an address from a prefix (possibly empty) and a name segment.
    pub fn join(prefix: &[String], name: &str) -> Result<Self, AddressError> {
        let mut s = String::new();
        for p in prefix {
            s.push_str(p);
            s.push('.');
        }
        s.push_str(name);
        Address::parse(&s)
    }

    /// An address that is known to be invalid, kept so that a diagnostic can
    /// name it; the stack reports it before anything is planned.
    pub(crate) fn unchecked(s: String) -> Self {
        Address(s)
    }

    /// The address as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last segment (the name given to `add`).
    pub fn name(&self) -> &str {
        self.0.rsplit('.').next().unwrap_or(&self.0)
    }

    /// True when `self` equals `prefix` or lies below it (`a.b` is within `a`).
    pub fn is_within(&self, prefix: &str) -> bool {
        self.0 == prefix || (self.0.starts_with(prefix) && self.0.as_bytes().get(prefix.len()) == Some(&b'.'))
    }
}

/// Checks one segment of an address or of a scope prefix.
pub fn validate_segment(whole: &str, segment: &str) -> Result<(), AddressError> {
    if segment.is_empty() {
        return Err(AddressError::EmptySegment { address: whole.to_owned() });
    }
    if let Some(c) = segment.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-')) {
        return Err(AddressError::InvalidChar { address: whole.to_owned(), ch: c });
    }
    Ok(())
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", self.0)
    }
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::parse(s)
    }
}

impl AsRef<Address> for Address {
    fn as_ref(&self) -> &Address {
        self
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Address::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_and_rejects_invalid() {
        assert!(Address::parse("us.network.vpc").is_ok());
        assert!(Address::parse("a-b_c").is_ok());
        assert!(matches!(Address::parse(""), Err(AddressError::Empty)));
        assert!(matches!(Address::parse("a..b"), Err(AddressError::EmptySegment { .. })));
        assert!(matches!(Address::parse("a b"), Err(AddressError::InvalidChar { ch: ' ', .. })));
    }

    #[test]
    fn within_is_segment_aware() {
        let a = Address::parse("net.vpc").unwrap_or_else(|e| unreachable!("{e}"));
        assert!(a.is_within("net"));
        assert!(a.is_within("net.vpc"));
        assert!(!a.is_within("ne"));
        assert_eq!(a.name(), "vpc");
    }
}
