//! The SDK-backed provider: one instance per (account, region), built from
//! aws-config's standard chain, with each service's client created lazily
//! and shared by every resource type of the instance.
//!
//! **The executor owns retries and the rate budget**: clients are built
//! with the SDK's retry disabled, so a throttled call comes back to the
//! executor, which slows the budget and retries with backoff.

mod error;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use infra_core::ProviderConfig;
use infra_engine::ProviderInstance;

pub(crate) use error::sdk_error;

pub use error::classify;

/// Calls made per API operation (e.g. `DescribeSecurityGroups`), for tests
/// and diagnostics.
#[derive(Debug, Clone, Default)]
pub struct CallStats {
    calls: Arc<Mutex<BTreeMap<&'static str, u64>>>,
    retries: Arc<Mutex<BTreeMap<&'static str, (u64, u64)>>>,
}

impl CallStats {
    pub(crate) fn count(&self, operation: &'static str) {
        let mut calls = self.calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *calls.entry(operation).or_default() += 1;
    }

    pub(crate) fn retried(&self, operation: &'static str, throttled: bool) {
        let mut r = self.retries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = r.entry(operation).or_default();
        entry.0 += 1;
        if throttled {
            entry.1 += 1;
        }
    }

    /// Calls sent again per operation so far: (retried, of them after a
    /// throttle).
    pub fn retries(&self) -> BTreeMap<&'static str, (u64, u64)> {
        self.retries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Calls per operation so far.
    pub fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Calls so far whose operation starts with `prefix` (e.g. `Describe`).
    pub fn total(&self, prefix: &str) -> u64 {
        self.snapshot().iter().filter(|(k, _)| k.starts_with(prefix)).map(|(_, v)| v).sum()
    }

    /// Forgets the counts.
    pub fn reset(&self) {
        self.calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }
}

/// What every resource type of one instance shares: the SDK configuration,
/// the region, call statistics and the lazily built service clients.
#[derive(Debug)]
pub struct Ctx {
    pub(crate) sdk: SdkConfig,
    pub(crate) region: String,
    pub(crate) stats: CallStats,
    /// The run's budget and this instance's key: every call is counted
    /// there and every throttle slows its bucket.
    pub(crate) meter: OnceLock<(infra_engine::Budget, infra_core::ProviderKey)>,
    #[cfg(feature = "ec2")]
    ec2: OnceLock<aws_sdk_ec2::Client>,
    #[cfg(feature = "iam")]
    iam: OnceLock<aws_sdk_iam::Client>,
}

impl Ctx {
    /// The IAM client (retries off: the executor owns them). IAM is
    /// global: the partition's one endpoint serves every region.
    #[cfg(feature = "iam")]
    pub fn iam(&self) -> &aws_sdk_iam::Client {
        self.iam.get_or_init(|| {
            let conf = aws_sdk_iam::config::Builder::from(&self.sdk)
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .build();
            aws_sdk_iam::Client::from_conf(conf)
        })
    }

    /// The EC2 client (retries off: the executor owns them).
    #[cfg(feature = "ec2")]
    pub fn ec2(&self) -> &aws_sdk_ec2::Client {
        self.ec2.get_or_init(|| {
            let conf = aws_sdk_ec2::config::Builder::from(&self.sdk)
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .build();
            aws_sdk_ec2::Client::from_conf(conf)
        })
    }
}

/// An AWS provider instance and its call statistics.
#[derive(Debug, Clone)]
pub struct AwsInstance {
    pub instance: ProviderInstance,
    pub stats: CallStats,
}

/// Builds AWS provider instances.
#[derive(Debug, Clone, Copy)]
pub struct AwsProvider;

impl AwsProvider {
    /// An instance from aws-config's standard chain (environment, profile,
    /// SSO, container and instance metadata), so `AWS_PROFILE`,
    /// `AWS_REGION` and `AWS_ENDPOINT_URL` behave as in every AWS tool. The
    /// instance's region comes from `config`; the settings `profile` and
    /// `endpoint_url` override the chain's.
    pub async fn instance(config: &ProviderConfig) -> AwsInstance {
        Self::instance_metered(config, None).await
    }

    /// As [`AwsProvider::instance`], counting every call and throttle in
    /// the run's `budget` (the calls a type sends again itself included).
    pub async fn instance_metered(
        config: &ProviderConfig,
        budget: Option<&infra_engine::Budget>,
    ) -> AwsInstance {
        let mut loader =
            aws_config::defaults(BehaviorVersion::latest()).region(Region::new(config.region.clone()));
        if let Some(profile) = config.settings.get("profile") {
            loader = loader.profile_name(profile);
        }
        if let Some(endpoint) = config.settings.get("endpoint_url") {
            loader = loader.endpoint_url(endpoint);
        }
        let sdk = loader.load().await;
        let ctx = Self::context(config, sdk);
        if let Some(budget) = budget {
            let _ = ctx.meter.set((budget.clone(), config.key.clone()));
        }
        Self::instance_of(config, &ctx)
    }

    /// An instance with explicit SDK configuration (the test harness gives
    /// a loopback endpoint and dummy credentials this way).
    pub fn with_sdk_config(config: &ProviderConfig, sdk: SdkConfig) -> AwsInstance {
        Self::with_sdk_config_metered(config, sdk, None)
    }

    /// As [`AwsProvider::with_sdk_config`], counting calls and throttles in
    /// `budget` (benchmarks).
    pub fn with_sdk_config_metered(
        config: &ProviderConfig,
        sdk: SdkConfig,
        budget: Option<&infra_engine::Budget>,
    ) -> AwsInstance {
        let ctx = Self::context(config, sdk);
        if let Some(budget) = budget {
            let _ = ctx.meter.set((budget.clone(), config.key.clone()));
        }
        Self::instance_of(config, &ctx)
    }

    fn instance_of(config: &ProviderConfig, ctx: &Arc<Ctx>) -> AwsInstance {
        let stats = ctx.stats.clone();
        let mut instance = ProviderInstance::new(config.clone());
        register(&mut instance, ctx);
        AwsInstance { instance, stats }
    }

    /// The shared context of an instance, for registering resource types
    /// of one's own with [`crate::kit::Kit`].
    pub fn context(config: &ProviderConfig, sdk: SdkConfig) -> Arc<Ctx> {
        Arc::new(Ctx {
            sdk,
            region: config.region.clone(),
            stats: CallStats::default(),
            meter: OnceLock::new(),
            #[cfg(feature = "ec2")]
            ec2: OnceLock::new(),
            #[cfg(feature = "iam")]
            iam: OnceLock::new(),
        })
    }
}

/// Changes a resource's tags through the service's resource-ID tagging API
/// (EC2's `CreateTags` / `DeleteTags`): [`crate::kit::Kind::retag`]'s
/// default. A service whose types tag through calls of their own says so
/// in its types.
#[allow(unused_variables)]
pub(crate) async fn retag(
    ctx: &Ctx,
    service: crate::kit::Service,
    id: &str,
    remove: &[&String],
    add: &[(&String, &String)],
) -> Result<(), infra_engine::ProviderError> {
    match service {
        #[cfg(feature = "ec2")]
        crate::kit::Service::Ec2 => crate::ec2::sdk::retag(ctx, id, remove, add).await,
        _ => Err(infra_engine::ProviderError::new(
            infra_engine::ErrorKind::Final,
            format!(
                "{}: this resource type has no tagging call (its provider must override Kind::retag)",
                service.name()
            ),
        )
        .with_code("Internal")),
    }
}

#[allow(unused_variables)]
fn register(instance: &mut ProviderInstance, ctx: &Arc<Ctx>) {
    #[cfg(feature = "ec2")]
    crate::ec2::register(instance, ctx);
    #[cfg(feature = "iam")]
    crate::iam::register(instance, ctx);
}
