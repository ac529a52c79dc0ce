//! Problems found before any API call, reported all at once.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::address::Address;

/// One problem, naming the resource address and the field where it can.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Diagnostic {
    pub address: Option<Address>,
    pub field: Option<String>,
    pub message: String,
}

impl Diagnostic {
    /// A problem with one field of one resource.
    pub fn field(address: Address, field: &str, message: impl Into<String>) -> Self {
        Diagnostic { address: Some(address), field: Some(field.to_owned()), message: message.into() }
    }

    /// A problem with a resource as a whole.
    pub fn resource(address: Address, message: impl Into<String>) -> Self {
        Diagnostic { address: Some(address), field: None, message: message.into() }
    }

    /// A problem with the stack as a whole.
    pub fn stack(message: impl Into<String>) -> Self {
        Diagnostic { address: None, field: None, message: message.into() }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.address, &self.field) {
            (Some(a), Some(field)) => write!(f, "{a}: field `{field}`: {}", self.message),
            (Some(a), None) => write!(f, "{a}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// Every problem found, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// True when there is no problem.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The problems.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} problem(s) found:", self.0.len())?;
        for d in &self.0 {
            writeln!(f, "  - {d}")?;
        }
        Ok(())
    }
}
