//! The kit's contract on a fake cloud, for what the emulator cannot show:
//! moto accepts a stale `If-Match` (CloudFront) and its lock tokens are
//! only on WAF, which has no types yet, so a version that went stale
//! between read and write is injected here by an in-memory `Kind`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use infra_aws::ec2::{Vpc, VpcOut};
use infra_aws::ids::{AccountId, Arn, RouteTableId, SecurityGroupId, VpcId};
use infra_aws::kit::{Change, Ctx, Kind, Kit, Lookup, Seen, Service, Status, Tags};
use infra_aws::sdk::{AwsProvider, classify};
use infra_core::plan::PlanOptions;
use infra_core::{Options, ProviderConfig, Resource, Stack};
use infra_engine::{
    Budget, BudgetConfig, Events, Executor, ExecutorConfig, Interrupt, Mode, Operation, ProviderError,
    ProviderInstance, Registry, RetryPolicy, RunOptions, Timings, run,
};
use infra_state::MemoryBackend;

/// One VPC-shaped object per ID, with a version (an ETag) that every write
/// must name.
#[derive(Debug, Default)]
struct Cloud {
    objects: BTreeMap<String, (Vpc, u32)>,
    /// Writes attempted, with the version each named.
    writes: Vec<u32>,
    /// Another writer bumps the version once, between our read and write.
    race_once: bool,
}

#[derive(Debug, Clone, Default)]
struct Versioned(Arc<Mutex<Cloud>>);

impl Versioned {
    fn cloud(&self) -> std::sync::MutexGuard<'_, Cloud> {
        self.0.lock().unwrap()
    }
}

#[async_trait]
impl Kind for Versioned {
    type Decl = Vpc;
    type Out = VpcOut;
    const SERVICE: Service = Service::Ec2;
    const TIMINGS: Timings = Timings::secs(1, 1, 1, 1, 60);

    async fn list(&self, _: &Ctx, by: Lookup<'_, Vpc>) -> Result<Vec<Seen<Self>>, ProviderError> {
        let cloud = self.cloud();
        let ids: Vec<String> = match by {
            Lookup::Ids(ids) => ids.to_vec(),
            Lookup::Tag(..) | Lookup::Key(_) => cloud.objects.keys().cloned().collect(),
        };
        Ok(ids
            .iter()
            .filter_map(|id| cloud.objects.get(id).map(|(d, _)| (id, d)))
            .map(|(id, d)| Seen {
                id: id.clone(),
                decl: d.clone(),
                out: VpcOut {
                    id: VpcId::unchecked(id),
                    arn: Arn::unchecked(format!("arn:aws:ec2:us-east-1:1:vpc/{id}")),
                    default_security_group_id: SecurityGroupId::unchecked("sg-0"),
                    main_route_table_id: RouteTableId::unchecked("rtb-0"),
                    owner_id: AccountId::unchecked("1"),
                },
                tags: Tags::new(),
                status: Status::Ready,
            })
            .collect())
    }

    async fn create(&self, _: &Ctx, d: &Vpc, _: &Tags, _: &str) -> Result<String, ProviderError> {
        let mut cloud = self.cloud();
        let id = format!("vpc-{}", cloud.objects.len() + 1);
        cloud.objects.insert(id.clone(), (d.clone(), 1));
        Ok(id)
    }

    /// Reads the current version, then writes naming it, as a CloudFront
    /// or WAF update does.
    async fn update(&self, _: &Ctx, id: &str, change: Change<'_, Vpc>) -> Result<(), ProviderError> {
        let after = change.after;
        let mut cloud = self.cloud();
        let read = cloud.objects.get(id).map(|(_, v)| *v).unwrap();
        if std::mem::take(&mut cloud.race_once) {
            cloud.objects.get_mut(id).unwrap().1 += 1;
        }
        cloud.writes.push(read);
        let (decl, version) = cloud.objects.get_mut(id).unwrap();
        if *version != read {
            let code = "PreconditionFailed";
            return Err(ProviderError::new(
                classify(code, Operation::Update),
                "the If-Match version is stale",
            )
            .with_code(code));
        }
        *decl = after.clone();
        *version += 1;
        Ok(())
    }

    async fn delete(&self, _: &Ctx, id: &str, _: &Vpc) -> Result<(), ProviderError> {
        self.cloud().objects.remove(id);
        Ok(())
    }
}

fn stack(hostnames: bool) -> Stack {
    let mut s = Stack::new("versioned");
    let us = s.provider(ProviderConfig::aws("us-east-1"));
    s.add_with(
        "vpc",
        Vpc { cidr_block: "10.0.0.0/16".into(), enable_dns_hostnames: hostnames, ..Default::default() },
        Options::new().provider(&us),
    );
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_version_is_read_again_and_the_write_retried() {
    let kind = Versioned::default();
    let config = ProviderConfig::aws("us-east-1");
    // The context is never used to call out: the fake holds the cloud.
    let sdk = infra_testkit::loopback_sdk_config("http://127.0.0.1:9", "us-east-1").unwrap();
    let mut instance = ProviderInstance::new(config.clone());
    instance.register(
        Vpc::SCHEMA.type_name,
        Arc::new(Kit::new(AwsProvider::context(&config, sdk), kind.clone())),
    );
    let mut registry = Registry::new();
    registry.insert(instance);
    let retry = RetryPolicy {
        max_attempts: 4,
        base: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    };
    let executor = Executor::new(
        Arc::new(registry),
        Budget::new(BudgetConfig::default()),
        ExecutorConfig { retry, ..Default::default() },
    );
    let backend = Arc::new(MemoryBackend::new());
    let apply = async |s: &Stack| {
        let options = RunOptions {
            mode: Mode::Apply(PlanOptions::default()),
            lock_timeout: Duration::from_secs(5),
            refresh: true,
        };
        run(&executor, backend.clone(), s, &options, &Events::none(), &Interrupt::new()).await.unwrap()
    };
    let o = apply(&stack(false)).await;
    assert!(o.report.success(), "{:?}", o.report);

    kind.cloud().race_once = true;
    let o = apply(&stack(true)).await;
    assert!(o.report.success(), "{:?}", o.report);
    let cloud = kind.cloud();
    assert_eq!(cloud.writes, vec![1, 2], "the second attempt must name the version read again");
    assert!(cloud.objects.values().all(|(d, _)| d.enable_dns_hostnames));
}
