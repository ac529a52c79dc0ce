//! Provider instances for a run: AWS through the SDK (aws-config's
//! standard chain: `AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, SSO, …),
//! or, in builds with the `sim` feature and `INFRA_SIM_CLOUD` set, the
//! simulated cloud persisted in that file (for tests and demos).

use std::collections::BTreeMap;

use async_trait::async_trait;
use infra_core::{ProviderConfig, ProviderKey, State};
use infra_engine::{Budget, BudgetConfig, Registry};

use crate::error::Result;

/// Builds the provider registry of a run.
#[async_trait]
pub trait Providers: Send + Sync + std::fmt::Debug {
    /// One instance per config, implementing (at least) `type_names`.
    async fn registry(&self, configs: &[ProviderConfig], type_names: &[String]) -> Result<Registry>;

    /// As [`Providers::registry`], with every call and throttle counted in
    /// `budget` where the providers can report them.
    async fn registry_metered(
        &self,
        configs: &[ProviderConfig],
        type_names: &[String],
        budget: &Budget,
    ) -> Result<Registry> {
        let _ = budget;
        self.registry(configs, type_names).await
    }

    /// The API rate budgets' configuration.
    fn budget_config(&self) -> BudgetConfig {
        BudgetConfig::default()
    }

    /// The API rate budget.
    fn budget(&self) -> Budget {
        Budget::new(self.budget_config())
    }

    /// A one-line description, for `-v`.
    fn describe(&self) -> String;
}

/// AWS through the SDK.
#[derive(Debug, Clone, Copy, Default)]
pub struct Aws;

#[async_trait]
impl Providers for Aws {
    async fn registry(&self, configs: &[ProviderConfig], type_names: &[String]) -> Result<Registry> {
        // Unmetered: the calls are counted in a budget no one reads.
        self.registry_metered(configs, type_names, &self.budget()).await
    }

    async fn registry_metered(
        &self,
        configs: &[ProviderConfig],
        _type_names: &[String],
        budget: &Budget,
    ) -> Result<Registry> {
        let mut registry = Registry::new();
        for config in configs {
            if config.kind != "aws" {
                return Err(crate::Error::Provider(format!(
                    "provider instance {} is of kind {:?}; this build knows only \"aws\"",
                    config.key, config.kind
                )));
            }
            let instance = infra_aws::sdk::AwsProvider::instance_metered(config, Some(budget)).await;
            registry.insert(instance.instance);
        }
        Ok(registry)
    }

    /// AWS's published limits, adapting; unbounded when an endpoint
    /// override (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`) points
    /// the SDK at something that is not AWS (an emulator, LocalStack).
    fn budget_config(&self) -> BudgetConfig {
        let overridden = std::env::vars_os()
            .any(|(k, v)| k.to_string_lossy().starts_with("AWS_ENDPOINT_URL") && !v.is_empty());
        BudgetConfig { unbounded: overridden, ..BudgetConfig::default() }
    }

    fn describe(&self) -> String {
        "AWS (credentials and endpoint from the standard AWS chain)".into()
    }
}

/// The simulated cloud persisted in a file.
#[cfg(feature = "sim")]
#[derive(Debug, Clone)]
pub struct Sim {
    cloud: infra_sim::SimCloud,
    scale: f64,
}

#[cfg(feature = "sim")]
impl Sim {
    /// The cloud in `INFRA_SIM_CLOUD`, with timings scaled by
    /// `INFRA_SIM_TIME_SCALE` (default 0.001: a NAT gateway's two minutes
    /// take 0.12 s).
    pub fn from_env() -> Result<Option<Sim>> {
        Sim::from_env_with(infra_sim::SimConfig::default())
    }

    /// As [`Sim::from_env`], with the cloud's other settings from `config`
    /// (e.g. a profile for a program's own resource types).
    pub fn from_env_with(config: infra_sim::SimConfig) -> Result<Option<Sim>> {
        let Some(path) = std::env::var_os("INFRA_SIM_CLOUD").filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let scale = match std::env::var("INFRA_SIM_TIME_SCALE") {
            Ok(v) => v.parse::<f64>().ok().filter(|s| *s > 0.0).ok_or_else(|| {
                crate::Error::Usage(format!("INFRA_SIM_TIME_SCALE={v:?}: expected a positive number"))
            })?,
            Err(_) => 0.001,
        };
        let config = config.with_time_scale(scale);
        let cloud = infra_sim::SimCloud::persisted(std::path::PathBuf::from(path), config)
            .map_err(|e| crate::Error::Provider(e.to_string()))?;
        Ok(Some(Sim { cloud, scale }))
    }
}

#[cfg(feature = "sim")]
#[async_trait]
impl Providers for Sim {
    async fn registry(&self, configs: &[ProviderConfig], type_names: &[String]) -> Result<Registry> {
        let mut types: Vec<&str> = self.cloud.config().profile.type_names().collect();
        types.extend(type_names.iter().map(String::as_str));
        types.sort_unstable();
        types.dedup();
        Ok(infra_sim::sim_registry(&self.cloud, configs, &types))
    }

    fn budget_config(&self) -> BudgetConfig {
        BudgetConfig { scale: 1.0 / self.scale, ..BudgetConfig::default() }
    }

    fn describe(&self) -> String {
        format!(
            "the simulated cloud in {}",
            self.cloud.path().map(|p| p.display().to_string()).unwrap_or_default()
        )
    }
}

/// The providers of this build: the simulated cloud when the `sim` feature
/// is on and `INFRA_SIM_CLOUD` is set, else AWS.
pub fn default_providers() -> Result<Box<dyn Providers>> {
    #[cfg(feature = "sim")]
    if let Some(sim) = Sim::from_env()? {
        return Ok(Box::new(sim));
    }
    Ok(Box::new(Aws))
}

/// The provider instances a state's resources were created through, for
/// commands that run without the stack program (destroy, refresh): each
/// recorded key with its recorded region. Settings such as a profile come
/// from the environment then.
pub fn configs_from_state(state: &State) -> Vec<ProviderConfig> {
    let mut by_key: BTreeMap<ProviderKey, String> = BTreeMap::new();
    let resources = state.resources.values().chain(state.deposed.iter().map(|d| &d.object));
    for r in resources {
        by_key.entry(r.provider.clone()).or_insert_with(|| r.region.clone());
    }
    for p in &state.pending {
        by_key.entry(p.provider.clone()).or_default();
    }
    by_key
        .into_iter()
        .map(|(key, region)| {
            let kind = key.0.split('.').next().unwrap_or("aws").to_owned();
            ProviderConfig { key, kind, region, account: None, settings: BTreeMap::new() }
        })
        .collect()
}
