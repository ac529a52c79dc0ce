//! A Fargate service's steady-state wait, on the simulated provider (the
//! emulator never starts ECS tasks, so a rollout never completes there):
//! the wait shows the rollout's progress as events, and a deployment its
//! circuit breaker stopped fails only that service's step and what
//! depends on it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use infra_aws::appautoscaling::ScalableTarget;
use infra_aws::ec2::{SecurityGroup, Subnet, Vpc};
use infra_aws::ecs::{ContainerDefinition, EcsCluster, FargateService, TaskDefinition};
use infra_core::plan::PlanOptions;
use infra_core::{ProviderConfig, Stack};
use infra_engine::{
    Budget, BudgetConfig, Event, Events, Executor, ExecutorConfig, Interrupt, Mode, RunOptions, run,
};
use infra_sim::{SimCloud, SimConfig, sim_registry};
use infra_state::{Backend, MemoryBackend};
use infra_tests::addr;

const TYPES: [&str; 7] = [
    "aws:ec2:Vpc",
    "aws:ec2:Subnet",
    "aws:ec2:SecurityGroup",
    "aws:ecs:Cluster",
    "aws:ecs:TaskDefinition",
    "aws:ecs:Service",
    "aws:appautoscaling:Target",
];

fn stack() -> Stack {
    let mut s = Stack::new("app");
    s.provider(ProviderConfig::aws("us-east-1"));
    let vpc = s.add("vpc", Vpc { cidr_block: "10.1.0.0/16".into(), ..Default::default() });
    let subnet = s.add(
        "app-a",
        Subnet {
            vpc_id: vpc.id().into(),
            cidr_block: "10.1.1.0/24".into(),
            availability_zone: "us-east-1a".into(),
            ..Default::default()
        },
    );
    let sg = s.add(
        "app-sg",
        SecurityGroup {
            name: "app".into(),
            description: "tasks".into(),
            vpc_id: vpc.id().into(),
            ..Default::default()
        },
    );
    let cluster = s.add("cluster", EcsCluster { name: "prod".into(), ..Default::default() });
    let task = s.add(
        "task",
        TaskDefinition {
            family: "product".into(),
            cpu: 512,
            memory: 1024,
            container_definitions: vec![ContainerDefinition {
                name: "app".into(),
                image: "nginx:1.27".into(),
                essential: Some(true),
                ..Default::default()
            }],
            ..TaskDefinition::fargate()
        },
    );
    for name in ["web", "api"] {
        let svc = s.add(
            name,
            FargateService {
                name: name.into(),
                cluster: cluster.arn().into(),
                task_definition: task.arn().into(),
                desired_count: 4,
                subnets: vec![subnet.id().into()],
                security_groups: vec![sg.id().into()],
                wait_for_steady_state: true,
                ..Default::default()
            },
        );
        s.add(&format!("{name}-scaling"), ScalableTarget::ecs_service(cluster.name(), svc.name()));
    }
    s
}

#[tokio::test(start_paused = true)]
async fn a_rollout_shows_its_progress_and_a_stopped_one_fails_only_its_branch() {
    let config = SimConfig::default().with_failed_readiness(
        "api",
        "deployment FAILED: the circuit breaker stopped it (tasks failed to start)",
    );
    let cloud = SimCloud::new(config);
    let registry = sim_registry(&cloud, &[ProviderConfig::aws("us-east-1")], &TYPES);
    let executor =
        Executor::new(Arc::new(registry), Budget::new(BudgetConfig::default()), ExecutorConfig::default());
    let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    let (events, mut rx) = Events::channel();
    let options = RunOptions {
        mode: Mode::Apply(PlanOptions::default()),
        lock_timeout: std::time::Duration::from_secs(1),
        refresh: true,
    };
    let outcome = run(&executor, backend, &stack(), &options, &events, &Interrupt::new()).await.unwrap();
    drop(events);
    let mut seen = Vec::new();
    while let Some(e) = rx.recv().await {
        seen.push(e);
    }

    // The wait reports the running tasks as they come up.
    let progress: Vec<&str> = seen
        .iter()
        .filter_map(|e| match e {
            Event::Waiting { address, status, .. } if *address == addr("web") => Some(status.as_str()),
            _ => None,
        })
        .collect();
    assert!(progress.len() >= 3, "{progress:?}");
    assert!(progress.iter().all(|s| s.starts_with("deployment IN_PROGRESS: ")), "{progress:?}");
    assert!(progress.first() != progress.last(), "the count moves: {progress:?}");
    assert!(progress.iter().any(|s| s.ends_with("/4 tasks running")), "{progress:?}");

    // The stopped rollout fails its step, names why, and skips only what
    // depends on it.
    let failed: Vec<_> = outcome.report.failed.iter().map(|f| (f.0.to_string(), f.2.clone())).collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, "api");
    assert!(failed[0].1.contains("circuit breaker"), "{failed:?}");
    let skipped: Vec<String> = seen
        .iter()
        .filter_map(|e| match e {
            Event::Skipped { address, .. } => Some(address.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(skipped, ["api-scaling"]);
    for done in ["web", "web-scaling", "cluster", "task"] {
        assert!(outcome.state.resources.contains_key(&addr(done)), "{done} was not applied");
    }
    assert!(!outcome.state.resources.contains_key(&addr("api-scaling")));
}
