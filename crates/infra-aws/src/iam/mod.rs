//! IAM: typed policy documents. The role, inline policy, attachment and
//! instance profile types build on them (see docs/aws-provider.md).

mod policy;

pub use policy::*;
