//! ElastiCache: Redis and Valkey replication groups ([`ReplicationGroup`]),
//! the subnet groups they run in ([`CacheSubnetGroup`]) and their parameter
//! groups ([`CacheParameterGroup`]) (see docs/aws-provider.md).
//!
//! Every object is named by the user, and the name is its ID (unique per
//! region). ElastiCache lists nothing by tag, so a create whose answer was
//! lost is found by its name.

mod parameter_group;
mod replication_group;
#[cfg(feature = "elasticache")]
pub(crate) mod sdk;
mod subnet_group;

pub use parameter_group::*;
pub use replication_group::*;
pub use subnet_group::*;

use infra_core::ValidationContext;

/// A group's name (a replication group's ID, a subnet or parameter
/// group's name): 1 to `max` characters, a lowercase letter first, then
/// lowercase letters, digits and single hyphens, not ending with a hyphen.
/// (AWS folds names to lowercase; a name declared in capitals would read
/// back as another name.)
pub(crate) fn check_name(ctx: &mut ValidationContext<'_>, field: &str, name: &str, max: usize) {
    let n = name.chars().count();
    let problem = if n == 0 || n > max {
        format!("{name:?} must be 1 to {max} characters; it has {n}")
    } else if let Some(c) =
        name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        format!("{name:?} has {c:?}: lowercase letters, digits and hyphens only")
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        format!("{name:?} must begin with a letter")
    } else if name.contains("--") || name.ends_with('-') {
        format!("{name:?} may not have two hyphens in a row or end with a hyphen")
    } else {
        return;
    };
    ctx.error(field, problem);
}

/// `hh:mm` as minutes of the day.
fn minutes(t: &str) -> Option<u32> {
    let (h, m) = t.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// `ddd:hh:mm` as minutes of the week.
fn week_minutes(t: &str) -> Option<u32> {
    let (day, time) = t.split_once(':')?;
    let day = DAYS.iter().position(|d| d.eq_ignore_ascii_case(day))?;
    Some(u32::try_from(day).ok()? * 24 * 60 + minutes(time)?)
}

/// A daily window in UTC, `hh24:mi-hh24:mi` (`03:00-05:00`).
pub(crate) fn check_daily_window(ctx: &mut ValidationContext<'_>, field: &str, w: &str) {
    match w.split_once('-').map(|(a, b)| (minutes(a), minutes(b))) {
        Some((Some(a), Some(b))) if a != b => {}
        Some((Some(_), Some(_))) => ctx.error(field, format!("{w:?} begins and ends at the same time")),
        _ => ctx.error(field, format!("{w:?} must be a daily UTC window hh24:mi-hh24:mi, e.g. 03:00-05:00")),
    }
}

/// A weekly window in UTC, `ddd:hh24:mi-ddd:hh24:mi`
/// (`sun:05:00-sun:07:00`), at least 60 minutes long.
pub(crate) fn check_weekly_window(ctx: &mut ValidationContext<'_>, field: &str, w: &str) {
    let Some((Some(a), Some(b))) = w.split_once('-').map(|(a, b)| (week_minutes(a), week_minutes(b))) else {
        ctx.error(
            field,
            format!("{w:?} must be a weekly UTC window ddd:hh24:mi-ddd:hh24:mi, e.g. sun:05:00-sun:07:00"),
        );
        return;
    };
    let week = 7 * 24 * 60;
    let length = (b + week - a) % week;
    if length < 60 {
        ctx.error(field, format!("{w:?} is {length} minutes long: a maintenance window is at least 60"));
    }
}

/// Registers every elasticache resource type's implementation in `instance`.
#[cfg(feature = "elasticache")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    use crate::kit::register;
    register(instance, ctx, subnet_group::imp::CacheSubnetGroupKind);
    register(instance, ctx, parameter_group::imp::CacheParameterGroupKind);
    register(instance, ctx, replication_group::imp::ReplicationGroupKind);
}
