//! `infra-bench state [--json]`: the cost of a plan without refresh on a
//! big stack — load the state file's bytes, plan against the declaration,
//! save the state — for 10,000 resources (10 VPCs, 8,000 subnets, 1,990
//! security groups) whose state matches the declaration. Prints the state's
//! size, each phase's time and the process's peak RSS.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Result, ensure};
use infra_aws::ec2::{SecurityGroup, SecurityGroupRuleSpec, Subnet, Vpc};
use infra_core::plan::{PlanOptions, plan};
use infra_core::{Address, Fields, ProviderConfig, Stack, State, Value};
use serde::Serialize;

#[derive(Debug, Serialize)]
struct Row {
    resources: usize,
    state_bytes: usize,
    load_ms: f64,
    /// Of the plan: checking the stack (every validation rule).
    validate_ms: f64,
    plan_ms: f64,
    save_ms: f64,
    total_ms: f64,
    peak_rss_mb: f64,
}

/// 10 VPCs, each with 800 subnets and 199 security groups.
fn stack() -> Stack {
    let mut stack = Stack::new("big");
    let key = stack.provider(ProviderConfig::aws("us-east-1"));
    let mut s = stack.root().with_provider(&key);
    for v in 0..10u32 {
        let vpc =
            s.add(&format!("vpc-{v}"), Vpc { cidr_block: format!("10.{v}.0.0/16"), ..Default::default() });
        for i in 0..800u32 {
            s.add(
                &format!("subnet-{v}-{i:03}"),
                Subnet {
                    vpc_id: vpc.id().into(),
                    cidr_block: format!("10.{v}.{}.{}/28", i / 16, (i % 16) * 16),
                    availability_zone: format!("us-east-1{}", ["a", "b", "c"][(i % 3) as usize]),
                    tags: [("Name".to_owned(), format!("subnet-{v}-{i}"))].into(),
                    ..Default::default()
                },
            );
        }
        for i in 0..199u32 {
            s.add(
                &format!("sg-{v}-{i:03}"),
                SecurityGroup {
                    name: format!("group-{v}-{i}"),
                    description: "benchmark".into(),
                    vpc_id: vpc.id().into(),
                    ingress: vec![SecurityGroupRuleSpec::tcp_from_cidrs(443, &["10.0.0.0/8"])],
                    egress: vec![SecurityGroupRuleSpec::all_to_anywhere()],
                    ..Default::default()
                },
            );
        }
    }
    stack
}

fn id_of(address: &Address) -> String {
    format!("id-{address}")
}

/// A value with every reference replaced by the referenced resource's ID.
fn resolved(v: &Value) -> Value {
    match v {
        Value::Ref(r) => Value::String(id_of(&r.address)),
        Value::List(items) => Value::List(items.iter().map(resolved).collect()),
        Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), resolved(v))).collect()),
        other => other.clone(),
    }
}

/// The state an apply of `stack` would leave.
fn applied(stack: &Stack) -> State {
    let mut state = State::new("bench-lineage", "0123456789abcdef0123456789abcdef");
    for decl in stack.resources() {
        let inputs: Fields = decl.inputs.iter().map(|(k, v)| (k.clone(), resolved(v))).collect();
        let id = id_of(&decl.address);
        let outputs: Fields = BTreeMap::from([("id".to_owned(), Value::String(id.clone()))]);
        state.record(decl, "us-east-1", id, &inputs, outputs);
    }
    state
}

/// The process's peak resident set, from /proc (0 where there is none).
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

pub fn state(json: bool) -> Result<()> {
    let stack = stack();
    stack.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let bytes = infra_state::encode(&applied(&stack))?;
    let ms = |since: Instant| since.elapsed().as_secs_f64() * 1000.0;
    let start = Instant::now();
    let state = infra_state::decode(&bytes)?;
    let load_ms = ms(start);
    let t = Instant::now();
    stack.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let validate_ms = ms(t);
    let t = Instant::now();
    let p = plan(&stack, &state, &PlanOptions::default())?;
    let plan_ms = ms(t);
    ensure!(p.is_empty(), "the state does not match the declaration: {} changes", p.changes.len());
    let t = Instant::now();
    let saved = infra_state::encode(&state)?;
    let save_ms = ms(t);
    let row = Row {
        resources: stack.resources().len(),
        state_bytes: saved.len(),
        load_ms,
        validate_ms,
        plan_ms,
        save_ms,
        total_ms: ms(start) - validate_ms,
        peak_rss_mb: peak_rss_mb(),
    };
    if json {
        println!("{}", serde_json::to_string(&row)?);
    } else {
        println!(
            "{} resources, state {:.1} MB: load {:.0} ms, plan {:.0} ms (of which validation {:.0} ms), save {:.0} ms, total {:.0} ms; peak RSS {:.0} MB",
            row.resources,
            row.state_bytes as f64 / 1e6,
            row.load_ms,
            row.plan_ms,
            row.validate_ms,
            row.save_ms,
            row.total_ms,
            row.peak_rss_mb
        );
    }
    Ok(())
}
