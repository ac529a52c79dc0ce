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

/// Declares `Ctx` with one lazily built client per service feature, and
/// its accessor (`cx.ec2()`), each with the SDK's retries off: the
/// executor owns them.
macro_rules! clients {
    ($($feature:literal $field:ident: $krate:ident $(with $tune:path)?),* $(,)?) => {
        /// What every resource type of one instance shares: the SDK
        /// configuration, the region, call statistics and the lazily built
        /// service clients.
        #[derive(Debug)]
        pub struct Ctx {
            #[allow(dead_code)] // read by the service clients (none without a service feature)
            pub(crate) sdk: SdkConfig,
            pub(crate) region: String,
            pub(crate) stats: CallStats,
            /// The run's budget and this instance's key: every call is
            /// counted there and every throttle slows its bucket.
            pub(crate) meter: OnceLock<(infra_engine::Budget, infra_core::ProviderKey)>,
            /// The key the executor gives services metered per account
            /// (`account:<profile>`): their calls are counted there.
            pub(crate) account: infra_core::ProviderKey,
            $(
                #[cfg(feature = $feature)]
                $field: OnceLock<$krate::Client>,
            )*
        }

        impl Ctx {
            fn new(sdk: SdkConfig, region: String, account: infra_core::ProviderKey) -> Ctx {
                Ctx {
                    sdk,
                    region,
                    account,
                    stats: CallStats::default(),
                    meter: OnceLock::new(),
                    $(
                        #[cfg(feature = $feature)]
                        $field: OnceLock::new(),
                    )*
                }
            }

            $(
                #[doc = concat!("The `", stringify!($krate), "` client (retries off: the executor owns them).")]
                #[cfg(feature = $feature)]
                pub fn $field(&self) -> &$krate::Client {
                    self.$field.get_or_init(|| {
                        let conf = $krate::config::Builder::from(&self.sdk)
                            .retry_config(aws_config::retry::RetryConfig::disabled());
                        $(let conf = $tune(conf, &self.sdk);)?
                        $krate::Client::from_conf(conf.build())
                    })
                }
            )*
        }
    };
}

// IAM is global: the partition's one endpoint serves every region.
clients! {
    "ec2" ec2: aws_sdk_ec2,
    "iam" iam: aws_sdk_iam,
    "elbv2" elbv2: aws_sdk_elasticloadbalancingv2,
    "ecs" ecs: aws_sdk_ecs,
    "appautoscaling" appautoscaling: aws_sdk_applicationautoscaling,
    "autoscaling" autoscaling: aws_sdk_autoscaling,
    "logs" logs: aws_sdk_cloudwatchlogs,
    "kms" kms: aws_sdk_kms,
    "secretsmanager" secretsmanager: aws_sdk_secretsmanager,
    "acm" acm: aws_sdk_acm,
    "cloudwatch" cloudwatch: aws_sdk_cloudwatch,
    "sns" sns: aws_sdk_sns,
    "ecr" ecr: aws_sdk_ecr,
    "sts" sts: aws_sdk_sts,
    "route53" route53: aws_sdk_route53,
    "rds" rds: aws_sdk_rds,
    "elasticache" elasticache: aws_sdk_elasticache,
    "s3" s3: aws_sdk_s3 with s3_path_style,
    "dynamodb" dynamodb: aws_sdk_dynamodb,
    "cloudfront" cloudfront: aws_sdk_cloudfront,
    "wafv2" wafv2: aws_sdk_wafv2,
    "wafv2" wafv2_us_east_1: aws_sdk_wafv2 with wafv2_us_east_1,
    "shield" shield: aws_sdk_shield with shield_us_east_1,
}

/// S3 against a custom endpoint (an emulator, a test harness's loopback)
/// addresses buckets by path (`http://host/bucket`), since virtual-hosted
/// names (`bucket.host`) do not resolve there; AWS's own endpoints keep
/// virtual-hosted addressing.
#[cfg(feature = "s3")]
fn s3_path_style(conf: aws_sdk_s3::config::Builder, sdk: &SdkConfig) -> aws_sdk_s3::config::Builder {
    conf.force_path_style(sdk.endpoint_url().is_some())
}

/// Shield Advanced's API lives in us-east-1 only, whatever region the
/// provider instance is for (its protections cover resources anywhere).
#[cfg(feature = "shield")]
fn shield_us_east_1(conf: aws_sdk_shield::config::Builder, _: &SdkConfig) -> aws_sdk_shield::config::Builder {
    conf.region(aws_config::Region::new("us-east-1"))
}

/// WAFv2's CLOUDFRONT scope (web ACLs and IP sets for distributions) is
/// served from us-east-1 only, whatever region the provider instance is
/// for: the second WAFv2 client of an instance, for that scope.
#[cfg(feature = "wafv2")]
fn wafv2_us_east_1(conf: aws_sdk_wafv2::config::Builder, _: &SdkConfig) -> aws_sdk_wafv2::config::Builder {
    conf.region(aws_config::Region::new("us-east-1"))
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
        let profile = config.settings.get("profile").map_or("default", String::as_str);
        let account = infra_core::ProviderKey(format!("account:{profile}"));
        Arc::new(Ctx::new(sdk, config.region.clone(), account))
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
    #[cfg(feature = "elbv2")]
    crate::elbv2::register(instance, ctx);
    #[cfg(feature = "ecs")]
    crate::ecs::register(instance, ctx);
    #[cfg(feature = "appautoscaling")]
    crate::appautoscaling::register(instance, ctx);
    #[cfg(feature = "autoscaling")]
    crate::autoscaling::register(instance, ctx);
    #[cfg(feature = "logs")]
    crate::logs::register(instance, ctx);
    #[cfg(feature = "kms")]
    crate::kms::register(instance, ctx);
    #[cfg(feature = "secretsmanager")]
    crate::secretsmanager::register(instance, ctx);
    #[cfg(feature = "acm")]
    crate::acm::register(instance, ctx);
    #[cfg(feature = "cloudwatch")]
    crate::cloudwatch::register(instance, ctx);
    #[cfg(feature = "sns")]
    crate::sns::register(instance, ctx);
    #[cfg(feature = "ecr")]
    crate::ecr::register(instance, ctx);
    #[cfg(feature = "sts")]
    crate::sts::register(instance, ctx);
    #[cfg(feature = "route53")]
    crate::route53::register(instance, ctx);
    #[cfg(feature = "rds")]
    crate::rds::register(instance, ctx);
    #[cfg(feature = "elasticache")]
    crate::elasticache::register(instance, ctx);
    #[cfg(feature = "s3")]
    crate::s3::register(instance, ctx);
    #[cfg(feature = "dynamodb")]
    crate::dynamodb::register(instance, ctx);
    #[cfg(feature = "cloudfront")]
    crate::cloudfront::register(instance, ctx);
    #[cfg(feature = "wafv2")]
    crate::wafv2::register(instance, ctx);
    #[cfg(feature = "shield")]
    crate::shield::register(instance, ctx);
}
