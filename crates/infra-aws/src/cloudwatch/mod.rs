//! CloudWatch: metric alarms and dashboards (see docs/aws-provider.md).

mod alarm;
mod dashboard;

pub use alarm::*;
pub use dashboard::*;

/// Registers every cloudwatch resource type's implementation in `instance`.
#[cfg(feature = "cloudwatch")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    crate::kit::register(instance, ctx, alarm::imp::MetricAlarmKind);
    crate::kit::register(instance, ctx, dashboard::imp::DashboardKind);
}
