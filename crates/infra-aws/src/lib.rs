//! `infra-aws`: typed AWS resources.
//!
//! Each resource type is a plain struct of its inputs (field names follow the
//! AWS API and Terraform's AWS provider) with a typed outputs accessor,
//! declared with `#[derive(Resource)]`. Declarations are pure data and always
//! compiled; the SDK-backed implementations are added per service behind
//! cargo features, so a stack compiles only the AWS SDK crates it uses.

pub mod acm;
pub mod appautoscaling;
pub mod autoscaling;
pub mod cloudfront;
pub mod cloudwatch;
pub mod components;
pub mod dynamodb;
pub mod ec2;
pub mod ecr;
pub mod ecs;
pub mod elasticache;
pub mod elbv2;
pub mod iam;
pub mod ids;
pub(crate) mod json;
#[cfg(feature = "sdk")]
pub mod kit;
pub mod kms;
pub mod logs;
pub mod net;
pub mod rds;
pub mod route53;
pub mod rules;
pub mod s3;
#[cfg(feature = "sdk")]
pub mod sdk;
pub mod secretsmanager;
pub mod shield;
pub mod sns;
pub mod sts;
pub mod wafv2;

pub use ids::*;
