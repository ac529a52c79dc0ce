//! IAM: typed policy documents (see docs/aws-provider.md), for the IAM
//! resource types still to come (role, inline policy, attachment,
//! instance profile) and for every policy a resource takes.

mod policy;

pub use policy::*;
