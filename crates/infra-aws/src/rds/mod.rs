//! RDS: Aurora clusters ([`AuroraCluster`]) and their instances
//! ([`ClusterInstance`]), global clusters ([`GlobalCluster`]) with their
//! secondary clusters in other regions, subnet groups ([`DbSubnetGroup`])
//! and parameter groups ([`DbClusterParameterGroup`],
//! [`DbParameterGroup`]) (see docs/aws-provider.md).
//!
//! Every object is identified by its name or identifier, which AWS stores
//! lowercased: declarations must spell them lowercase. RDS lists no
//! objects by tag, so a create whose answer was lost is found by its
//! identifier; and since a create over an existing identifier is refused
//! by AWS but silently overwrites on some emulators, every create reads
//! the identifier first and refuses one that exists (unless it is this
//! stack's own, which is adopted).

mod cluster;
mod global_cluster;
mod instance;
mod parameter_group;
#[cfg(feature = "rds")]
pub(crate) mod sdk;
mod subnet_group;

pub use cluster::*;
pub use global_cluster::*;
pub use instance::*;
pub use parameter_group::*;
pub use subnet_group::*;

use infra_core::ValidationContext;
use serde::Deserialize;

/// The Aurora engines.
pub(crate) const ENGINES: &[&str] = &["aurora-postgresql", "aurora-mysql"];

/// An identifier of a cluster, instance, global cluster, parameter group
/// or snapshot: 1 to `max` characters, a letter first, then lowercase
/// letters, digits and single hyphens, not ending with a hyphen.
pub(crate) fn check_identifier(ctx: &mut ValidationContext<'_>, field: &str, id: &str, max: usize) {
    let n = id.chars().count();
    if n == 0 || n > max {
        ctx.error(field, format!("{id:?} must be 1 to {max} characters; it has {n}"));
        return;
    }
    if !id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        ctx.error(field, format!("{id:?} must begin with a letter"));
    }
    if let Some(c) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
        ctx.error(field, format!("{id:?} has {c:?}: letters, digits and hyphens only"));
    }
    if id.chars().any(|c| c.is_ascii_uppercase()) {
        ctx.error(field, format!("{id:?} has upper-case letters: AWS stores it lowercased, so spell it so"));
    }
    if id.contains("--") || id.ends_with('-') {
        ctx.error(field, format!("{id:?} may not contain two hyphens in a row or end with one"));
    }
}

/// `engine` is an Aurora engine.
pub(crate) fn check_engine(ctx: &mut ValidationContext<'_>, field: &str, engine: &str) {
    if !ENGINES.contains(&engine) {
        ctx.error(field, format!("{engine:?} must be aurora-postgresql or aurora-mysql"));
    }
}

/// The port an engine listens on unless told otherwise.
pub(crate) fn default_port(engine: &str) -> i32 {
    if engine == "aurora-mysql" { 3306 } else { 5432 }
}

/// The major version of an engine version: `15` of `15.4`, `8.0` of
/// `8.0.mysql_aurora.3.05.2`.
#[cfg_attr(not(feature = "rds"), allow(dead_code))]
pub(crate) fn major(engine: &str, version: &str) -> String {
    let parts = if engine == "aurora-mysql" || version.contains("mysql") { 2 } else { 1 };
    version.split('.').take(parts).collect::<Vec<_>>().join(".")
}

/// The engine's default parameter group at `version`
/// (`default.aurora-postgresql15`), where an unset group goes back to.
#[cfg_attr(not(feature = "rds"), allow(dead_code))]
pub(crate) fn default_group(engine: &str, version: &str) -> String {
    format!("default.{engine}{}", major(engine, version))
}

/// Minutes since midnight of `hh24:mi`.
fn minutes(t: &str) -> Option<u32> {
    let (h, m) = t.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Minutes since Monday 00:00 of `ddd:hh24:mi`.
fn week_minutes(t: &str) -> Option<u32> {
    let (d, hm) = t.split_once(':')?;
    let day = DAYS.iter().position(|x| x.eq_ignore_ascii_case(d))?;
    Some(u32::try_from(day).ok()? * 1440 + minutes(hm)?)
}

/// A daily window `hh24:mi-hh24:mi` (UTC) of at least 30 minutes: its
/// start and end in minutes since midnight (the end may be past midnight).
pub(crate) fn daily_window(ctx: &mut ValidationContext<'_>, field: &str, w: &str) -> Option<(u32, u32)> {
    let parsed = w.split_once('-').and_then(|(a, b)| Some((minutes(a)?, minutes(b)?)));
    let Some((start, end)) = parsed else {
        ctx.error(field, format!("{w:?} must be hh24:mi-hh24:mi in UTC, e.g. 03:00-04:00"));
        return None;
    };
    let end = if end <= start { end + 1440 } else { end };
    if end - start < 30 {
        ctx.error(field, format!("{w:?} is shorter than the 30 minutes AWS requires"));
    }
    Some((start, end))
}

/// A weekly window `ddd:hh24:mi-ddd:hh24:mi` (UTC) of at least 30
/// minutes: its start and end in minutes since Monday 00:00.
pub(crate) fn weekly_window(ctx: &mut ValidationContext<'_>, field: &str, w: &str) -> Option<(u32, u32)> {
    let parsed = w.split_once('-').and_then(|(a, b)| Some((week_minutes(a)?, week_minutes(b)?)));
    let Some((start, end)) = parsed else {
        ctx.error(field, format!("{w:?} must be ddd:hh24:mi-ddd:hh24:mi in UTC, e.g. sun:05:00-sun:06:00"));
        return None;
    };
    let end = if end <= start { end + 7 * 1440 } else { end };
    if end - start < 30 {
        ctx.error(field, format!("{w:?} is shorter than the 30 minutes AWS requires"));
    }
    Some((start, end))
}

/// True when the daily window meets the weekly one on some day (either
/// may run past midnight, the weekly one past Sunday).
pub(crate) fn overlap(daily: (u32, u32), weekly: (u32, u32)) -> bool {
    const WEEK: u32 = 7 * 1440;
    (0..8).any(|day| {
        let (s, e) = (daily.0 + day * 1440, daily.1 + day * 1440);
        [0, WEEK].iter().any(|shift| s < weekly.1 + shift && weekly.0 + shift < e)
    })
}

/// An instance class: `db.<family>.<size>` or `db.serverless`.
pub(crate) fn check_instance_class(ctx: &mut ValidationContext<'_>, field: &str, class: &str) {
    let parts: Vec<&str> = class.split('.').collect();
    let ok = class == "db.serverless"
        || (parts.len() == 3 && parts[0] == "db" && parts[1..].iter().all(|p| !p.is_empty()));
    if !ok {
        ctx.error(
            field,
            format!("{class:?} is not an instance class: db.<family>.<size> (db.r6g.large) or db.serverless"),
        );
    }
}

/// Reads a secret field back: a [`crate::secretsmanager::SecretSource`] as
/// resolved for a call, or `None` for what the state records in its place
/// (a keyed digest, which an update's "before" or a delete's inputs hold
/// and which no call needs).
pub(crate) fn recorded_secret<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<crate::secretsmanager::SecretSource>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Read {
        Given(crate::secretsmanager::SecretSource),
        Recorded(#[allow(dead_code)] serde::de::IgnoredAny),
    }
    Ok(match Option::<Read>::deserialize(d)? {
        Some(Read::Given(s)) => Some(s),
        Some(Read::Recorded(_)) | None => None,
    })
}

/// Registers every rds resource type's implementation in `instance`.
#[cfg(feature = "rds")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    use crate::kit::register;
    register(instance, ctx, subnet_group::imp::DbSubnetGroupKind);
    register(
        instance,
        ctx,
        parameter_group::imp::ParameterGroupKind::<DbClusterParameterGroup>(Default::default()),
    );
    register(instance, ctx, parameter_group::imp::ParameterGroupKind::<DbParameterGroup>(Default::default()));
    register(instance, ctx, cluster::imp::AuroraClusterKind);
    register(instance, ctx, instance::imp::ClusterInstanceKind);
    register(instance, ctx, global_cluster::imp::GlobalClusterKind);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_overlap_across_days_and_midnight() {
        // 03:00-04:00 daily against Sunday 03:30-04:30.
        assert!(overlap((180, 240), (6 * 1440 + 210, 6 * 1440 + 270)));
        assert!(!overlap((180, 240), (6 * 1440 + 300, 6 * 1440 + 360)));
        // 23:30-00:30 daily meets Monday 00:00-01:00 (Sunday night's).
        assert!(overlap((1410, 1470), (0, 60)));
        // Sunday 23:00 to Monday 01:00 meets 00:30-01:30 daily.
        assert!(overlap((30, 90), (6 * 1440 + 1380, 7 * 1440 + 60)));
        assert!(!overlap((120, 180), (6 * 1440 + 1380, 7 * 1440 + 60)));
        assert_eq!(week_minutes("tue:01:00"), Some(1440 + 60));
        assert_eq!(minutes("24:00"), None);
    }
}
