//! The planner's specification: one test per behaviour, each through the
//! `check` helper that applies a "before" stack, plans an "after" stack and
//! compares the compact action list.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use infra_core::plan::{PlanOptions, StepKind, plan, plan_destroy, steps};
use infra_core::{Action, Error, Input, Options, Plan, ProviderConfig, ReplaceOrder, Stack, State};
use infra_tests::{Node, UniqueNode, addr, empty_state, fake_apply};

fn stack(build: impl FnOnce(&mut Stack)) -> Stack {
    let mut s = Stack::new("test");
    s.provider(ProviderConfig::aws("us-east-1"));
    build(&mut s);
    s
}

fn node(zone: &str, size: i64) -> Node {
    Node { zone: zone.into(), size, ..Default::default() }
}

/// Applies `before` to an empty state, then plans `after` and renders each
/// actionable change as `<marker> <address>` (`+`, `~`, `+/-`, `-/+`, `-`,
/// `.`) in plan order, plus the forced-by fields of replacements.
fn check(before: &Stack, after: &Stack, expected: &[&str]) -> (Plan, State) {
    let mut state = empty_state();
    let p0 = plan(before, &state, &PlanOptions::default()).unwrap();
    fake_apply(before, &mut state, &p0);
    let p = plan(after, &state, &PlanOptions::default()).unwrap();
    assert_eq!(compact(&p), expected, "\n{}", infra_core::plan::render::render(&p, Default::default()));
    (p, state)
}

/// The plan's steps as `<Kind> <address>`, in execution order.
fn step_order(p: &Plan) -> Vec<String> {
    steps(p).unwrap().iter().map(|s| format!("{:?} {}", s.kind, s.address)).collect()
}

fn compact(p: &Plan) -> Vec<String> {
    p.actionable()
        .map(|c| match &c.action {
            Action::Create => format!("+ {}", c.address),
            Action::Update => format!("~ {}", c.address),
            Action::Replace { order, forced_by } => format!(
                "{} {} ({})",
                if *order == ReplaceOrder::CreateBeforeDestroy { "+/-" } else { "-/+" },
                c.address,
                forced_by.join(",")
            ),
            Action::Delete => format!("- {}", c.address),
            Action::Forget => format!(". {}", c.address),
            Action::Read { during_apply } => {
                format!("<= {}{}", c.address, if *during_apply { " (during apply)" } else { "" })
            }
            Action::NoOp => unreachable!(),
        })
        .collect()
}

#[test]
fn creates_in_dependency_order() {
    let empty = stack(|_| {});
    let s = stack(|s| {
        let a = s.add("a", node("z1", 1));
        let b = s.add("b", Node { deps: vec![a.id().into()], ..node("z1", 1) });
        s.add("c", Node { deps: vec![b.id().into()], ..node("z1", 1) });
    });
    let (p, _) = check(&empty, &s, &["+ a", "+ b", "+ c"]);
    let b = p.change(&addr("b")).unwrap();
    assert_eq!(b.after.as_ref().unwrap()["deps"], infra_core::Value::List(vec![infra_core::Value::Unknown]));
}

#[test]
fn unchanged_stack_plans_nothing() {
    let s = stack(|s| {
        let a = s.add("a", node("z1", 1));
        s.add("b", Node { deps: vec![a.id().into()], ..node("z1", 1) });
    });
    let (p, _) = check(&s, &s, &[]);
    assert!(p.is_empty());
    assert_eq!(p.changes.len(), 2, "no-ops are part of the plan data");
}

#[test]
fn updatable_field_updates_in_place_with_before_and_after() {
    let before = stack(|s| {
        s.add("a", node("z1", 1));
    });
    let after = stack(|s| {
        s.add("a", node("z1", 2));
    });
    let (p, _) = check(&before, &after, &["~ a"]);
    let f = &p.changes[0].fields;
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].name, "size");
    assert_eq!(f[0].before, Some(1.into()));
    assert_eq!(f[0].after, Some(2.into()));
    assert!(!f[0].forces_replacement);
}

#[test]
fn force_new_field_replaces_create_before_destroy_by_default() {
    let before = stack(|s| {
        s.add("a", node("z1", 1));
    });
    let after = stack(|s| {
        s.add("a", node("z2", 1));
    });
    let (p, _) = check(&before, &after, &["+/- a (zone)"]);
    let kinds: Vec<StepKind> = steps(&p).unwrap().iter().map(|s| s.kind).collect();
    assert_eq!(kinds, [StepKind::CreateReplacement, StepKind::DeleteReplaced]);
}

#[test]
fn unique_names_replace_delete_before_create() {
    let before = stack(|s| {
        s.add("u", UniqueNode { name: "one".into(), deps: vec![] });
    });
    let after = stack(|s| {
        s.add("u", UniqueNode { name: "two".into(), deps: vec![] });
    });
    let (p, _) = check(&before, &after, &["-/+ u (name)"]);
    let kinds: Vec<StepKind> = steps(&p).unwrap().iter().map(|s| s.kind).collect();
    assert_eq!(kinds, [StepKind::DeleteReplaced, StepKind::CreateReplacement]);
}

#[test]
fn options_override_the_replace_order() {
    let before = stack(|s| {
        s.add("a", node("z1", 1));
    });
    let after = stack(|s| {
        s.add_with("a", node("z2", 1), Options::new().delete_before_create());
    });
    check(&before, &after, &["-/+ a (zone)"]);
}

#[test]
fn replacement_cascades_to_dependents_that_reference_its_id() {
    let before = stack(|s| {
        let a = s.add("a", node("z1", 1));
        s.add("b", Node { deps: vec![a.id().into()], ..node("z1", 1) });
        s.add("c", Node { label: Some(a.name().into()), ..node("z1", 1) });
    });
    let after = stack(|s| {
        let a = s.add("a", node("z2", 1));
        s.add("b", Node { deps: vec![a.id().into()], ..node("z1", 1) });
        s.add("c", Node { label: Some(a.name().into()), ..node("z1", 1) });
    });
    // b's reference to a's ID becomes unknown: an in-place update of `deps`.
    check(&before, &after, &["+/- a (zone)", "~ b", "~ c"]);
}

#[test]
fn create_before_destroy_moves_dependents_before_deleting_the_old_resource() {
    let before = stack(|s| {
        let a = s.add("a", node("z1", 1));
        s.add("b", Node { deps: vec![a.id().into()], ..node("z1", 1) });
    });
    let after = stack(|s| {
        let a = s.add("a", node("z2", 1));
        s.add("b", Node { deps: vec![a.id().into()], ..node("z1", 1) });
    });
    let (p, _) = check(&before, &after, &["+/- a (zone)", "~ b"]);
    let order = step_order(&p);
    assert_eq!(order, ["CreateReplacement a", "Update b", "DeleteReplaced a"]);
}

#[test]
fn delete_before_create_deletes_replaced_dependents_first() {
    let before = stack(|s| {
        let u = s.add("u", UniqueNode { name: "one".into(), deps: vec![] });
        s.add("v", UniqueNode { name: "v".into(), deps: vec![u.id().into()] });
    });
    let after = stack(|s| {
        let u = s.add("u", UniqueNode { name: "two".into(), deps: vec![] });
        s.add("v", UniqueNode { name: "v2".into(), deps: vec![u.id().into()] });
    });
    let (p, _) = check(&before, &after, &["-/+ u (name)", "-/+ v (name)"]);
    let order = step_order(&p);
    assert_eq!(order, ["DeleteReplaced v", "DeleteReplaced u", "CreateReplacement u", "CreateReplacement v"]);
}

#[test]
fn removed_resources_are_deleted_in_reverse_dependency_order() {
    let before = stack(|s| {
        let a = s.add("a", node("z1", 1));
        let b = s.add("b", Node { deps: vec![a.id().into()], ..node("z1", 1) });
        s.add("c", Node { deps: vec![b.id().into()], ..node("z1", 1) });
        s.add("keep", node("z1", 1));
    });
    let after = stack(|s| {
        s.add("keep", node("z1", 1));
    });
    check(&before, &after, &["- c", "- b", "- a"]);
}

#[test]
fn destroy_plan_needs_no_program_and_reverses_dependencies() {
    let s = stack(|s| {
        let a = s.add("a", node("z1", 1));
        let b = s.add("b", Node { deps: vec![a.id().into()], ..node("z1", 1) });
        s.add("c", Node { deps: vec![a.id().into(), b.id().into()], ..node("z1", 1) });
    });
    let mut state = empty_state();
    let p = plan(&s, &state, &PlanOptions::default()).unwrap();
    fake_apply(&s, &mut state, &p);
    let d = plan_destroy("test", &state, &[]).unwrap();
    assert_eq!(compact(&d), ["- c", "- b", "- a"]);
    // Destroying one target destroys what depends on it first.
    let d = plan_destroy("test", &state, &[addr("b")]).unwrap();
    assert_eq!(compact(&d), ["- c", "- b"]);
}

#[test]
fn retain_on_delete_forgets_instead_of_deleting() {
    let before = stack(|s| {
        s.add_with("a", node("z1", 1), Options::new().retain_on_delete());
    });
    let after = stack(|_| {});
    let (p, _) = check(&before, &after, &[". a"]);
    assert_eq!(steps(&p).unwrap()[0].kind, StepKind::Forget);
}

#[test]
fn protected_resources_refuse_replace_and_delete() {
    let before = stack(|s| {
        s.add_with("a", node("z1", 1), Options::new().protect());
        s.add_with("b", node("z1", 1), Options::new().protect());
    });
    let mut state = empty_state();
    let p = plan(&before, &state, &PlanOptions::default()).unwrap();
    fake_apply(&before, &mut state, &p);
    let after = stack(|s| {
        s.add_with("a", node("z2", 1), Options::new().protect());
    });
    let err = plan(&after, &state, &PlanOptions::default()).unwrap_err();
    let Error::Refused(d) = &err else { panic!("{err}") };
    let text = err.to_string();
    assert_eq!(d.len(), 2, "{text}");
    assert!(text.contains("a: is protected, but the plan would replace it"), "{text}");
    assert!(text.contains("b: is protected, but the plan would delete it"), "{text}");
    let err = plan_destroy("test", &state, &[]).unwrap_err();
    assert!(matches!(err, Error::Refused(_)));
}

#[test]
fn ignore_changes_hides_changes_to_those_fields() {
    let before = stack(|s| {
        s.add_with("a", node("z1", 1), Options::new().ignore_changes(["size"]));
    });
    let after = stack(|s| {
        s.add_with("a", node("z1", 5), Options::new().ignore_changes(["size"]));
    });
    check(&before, &after, &[]);
}

#[test]
fn ignore_changes_of_an_unknown_field_is_reported() {
    let s = stack(|s| {
        s.add_with("a", node("z1", 1), Options::new().ignore_changes(["desired_count"]));
    });
    let err = s.validate().unwrap_err().to_string();
    assert!(err.contains("a: field `desired_count`: ignore_changes names a field"), "{err}");
}

#[test]
fn secrets_are_sealed_compared_by_digest_and_never_shown() {
    let with_pw = |pw: &str| {
        let pw = pw.to_owned();
        stack(move |s| {
            s.add("db", Node { password: Some(pw), ..node("z1", 1) });
        })
    };
    let (p, state) = check(&with_pw("hunter2"), &with_pw("hunter2"), &[]);
    assert!(p.is_empty());
    let stored = serde_json::to_string(&state).unwrap();
    assert!(!stored.contains("hunter2"), "plaintext secret in state: {stored}");
    assert!(stored.contains("hmac-sha256:"));

    let (p, _) = check(&with_pw("hunter2"), &with_pw("correct horse"), &["~ db"]);
    assert!(p.changes[0].fields[0].sensitive);
    let json = p.to_json().unwrap();
    assert!(!json.contains("hunter2") && !json.contains("correct horse"));
    let human = infra_core::plan::render::render(&p, Default::default());
    assert!(human.contains("password = (sensitive) -> (sensitive)"), "{human}");
}

#[test]
fn a_provider_change_replaces() {
    let before = stack(|s| {
        s.add("a", node("z1", 1));
    });
    let mut after = Stack::new("test");
    after.provider(ProviderConfig::aws("eu-west-1"));
    after.add("a", node("z1", 1));
    check(&before, &after, &["+/- a ((provider))"]);
}

#[test]
fn targets_plan_only_the_target_and_its_dependencies() {
    let empty = stack(|_| {});
    let s = stack(|s| {
        let a = s.add("a", node("z1", 1));
        s.add("b", Node { deps: vec![a.id().into()], ..node("z1", 1) });
        s.add("c", node("z1", 1));
    });
    let state = empty_state();
    let _ = empty;
    let p = plan(&s, &state, &PlanOptions { targets: vec![addr("b")], ..Default::default() }).unwrap();
    assert_eq!(compact(&p), ["+ a", "+ b"]);
    let err =
        plan(&s, &state, &PlanOptions { targets: vec![addr("nope")], ..Default::default() }).unwrap_err();
    assert!(err.to_string().contains("nope: is a --target"), "{err}");
}

#[test]
fn saved_plans_are_refused_when_the_state_moved_on() {
    let s = stack(|s| {
        s.add("a", node("z1", 1));
    });
    let mut state = empty_state();
    let p = plan(&s, &state, &PlanOptions::default()).unwrap();
    let saved = Plan::from_json(&p.to_json().unwrap()).unwrap();
    assert_eq!(saved, p);
    saved.check_fresh(&state).unwrap();
    fake_apply(&s, &mut state, &p);
    let err = saved.check_fresh(&state).unwrap_err();
    assert!(matches!(err, Error::StalePlan { plan_serial: 0, state_serial: 1, .. }), "{err}");
    let mut other = state.clone();
    other.serial = 0;
    other.lineage = "another".into();
    assert!(matches!(saved.check_fresh(&other), Err(Error::StalePlan { .. })));
}

#[test]
fn plan_files_of_another_format_version_are_refused() {
    let s = stack(|s| {
        s.add("a", node("z1", 1));
    });
    let p = plan(&s, &empty_state(), &PlanOptions::default()).unwrap();
    let text = p.to_json().unwrap().replacen("\"format_version\": 2", "\"format_version\": 7", 1);
    let err = Plan::from_json(&text).unwrap_err();
    assert_eq!(err, Error::PlanFormat { found: 7, supported: 2 });
    // Version 1 (before lookups' reads) is still read.
    let v1 = p.to_json().unwrap().replacen("\"format_version\": 2", "\"format_version\": 1", 1);
    assert_eq!(Plan::from_json(&v1).unwrap().changes, p.changes);
    assert!(matches!(Plan::from_json("{not json"), Err(Error::PlanDecode(_))));
}

#[test]
fn outputs_are_planned_unknown_until_applied() {
    let s = stack(|s| {
        let a = s.add("a", node("z1", 1));
        s.export("a_id", a.id());
    });
    let mut state = empty_state();
    let p = plan(&s, &state, &PlanOptions::default()).unwrap();
    assert_eq!(p.outputs.len(), 1);
    assert_eq!(p.outputs[0].after, Some(infra_core::Value::Unknown));
    fake_apply(&s, &mut state, &p);
    assert_eq!(state.outputs["a_id"], infra_core::Value::from("a#1"));
    assert!(plan(&s, &state, &PlanOptions::default()).unwrap().is_empty());
}

#[test]
fn inputs_accept_plain_values_and_outputs_of_the_same_type() {
    let s = stack(|s| {
        let a = s.add("a", node("z1", 1));
        let fixed: Input<infra_tests::NodeId> = infra_tests::NodeId::new("external-1").unwrap().into();
        s.add("b", Node { deps: vec![fixed, a.id().into()], ..node("z1", 1) });
    });
    let g = s.validate().unwrap();
    assert_eq!(g.dependencies(&addr("b")), [&addr("a")]);
}

#[test]
fn orphan_delete_waits_for_dependents_unless_that_would_deadlock() {
    // `x` uses `d` and the orphan `o`; `o` uses `d`; `d` is replaced
    // delete-before-create. Deleting `o` after `x` moved away would need the
    // new `d`, which needs `o` gone first: the soft edge is dropped and `x`
    // is updated after the delete.
    let before = stack(|s| {
        let d = s.add("d", UniqueNode { name: "d1".into(), deps: vec![] });
        let o = s.add("o", UniqueNode { name: "o".into(), deps: vec![d.id().into()] });
        s.add("x", Node { deps: vec![d.id().into(), o.id().into()], ..node("z1", 1) });
    });
    let after = stack(|s| {
        let d = s.add("d", UniqueNode { name: "d2".into(), deps: vec![] });
        s.add("x", Node { deps: vec![d.id().into()], ..node("z1", 1) });
    });
    let (p, mut state) = check(&before, &after, &["-/+ d (name)", "~ x", "- o"]);
    let order = step_order(&p);
    assert_eq!(order, ["Delete o", "DeleteReplaced d", "CreateReplacement d", "Update x"]);
    fake_apply(&after, &mut state, &p);
    assert!(plan(&after, &state, &PlanOptions::default()).unwrap().is_empty());
}

#[test]
fn a_create_before_destroy_dependent_of_a_delete_first_replacement_goes_delete_first() {
    let before = stack(|s| {
        let u = s.add("u", UniqueNode { name: "one".into(), deps: vec![] });
        s.add("n", Node { deps: vec![u.id().into()], ..node("z1", 1) });
    });
    let after = stack(|s| {
        let u = s.add("u", UniqueNode { name: "two".into(), deps: vec![] });
        s.add("n", Node { deps: vec![u.id().into()], ..node("z2", 1) });
    });
    let (p, _) = check(&before, &after, &["-/+ u (name)", "-/+ n (zone)"]);
    assert!(p.change(&addr("n")).unwrap().reason.as_deref().unwrap().contains("destroyed first because u"));
    let order = step_order(&p);
    assert_eq!(order, ["DeleteReplaced n", "DeleteReplaced u", "CreateReplacement u", "CreateReplacement n"]);
}

#[test]
fn create_before_destroy_that_would_deadlock_through_a_chain_of_deletes_goes_delete_first() {
    // Old `x` uses the orphan `o`, which uses `r`; `r` is replaced
    // delete-before-create and new `x` needs new `r` (through `y`). Creating
    // new `x` first would wait for new `r`, which waits for `o` to go, which
    // waits for old `x` to go: `x` must be destroyed first.
    let before = stack(|s| {
        let r = s.add("r", UniqueNode { name: "r1".into(), deps: vec![] });
        let y = s.add("y", Node { deps: vec![r.id().into()], ..node("z1", 1) });
        let o = s.add("o", UniqueNode { name: "o".into(), deps: vec![r.id().into()] });
        s.add("x", Node { deps: vec![y.id().into(), o.id().into()], ..node("z1", 1) });
    });
    let after = stack(|s| {
        let r = s.add("r", UniqueNode { name: "r2".into(), deps: vec![] });
        let y = s.add("y", Node { deps: vec![r.id().into()], ..node("z1", 1) });
        s.add("x", Node { deps: vec![y.id().into()], ..node("z2", 1) });
    });
    let (p, mut state) = check(&before, &after, &["-/+ r (name)", "~ y", "-/+ x (zone)", "- o"]);
    assert!(p.change(&addr("x")).unwrap().reason.as_deref().unwrap().contains("destroyed first"));
    assert_eq!(
        step_order(&p),
        [
            "DeleteReplaced x",
            "Delete o",
            "DeleteReplaced r",
            "CreateReplacement r",
            "Update y",
            "CreateReplacement x"
        ]
    );
    fake_apply(&after, &mut state, &p);
    assert!(plan(&after, &state, &PlanOptions::default()).unwrap().is_empty());
}

// ----- lookups ---------------------------------------------------------------

mod lookups {
    use std::collections::BTreeMap;

    use infra_core::plan::LookupRead;
    use infra_core::{Address, Fields, Value};
    use infra_tests::FakeLookup;

    use super::*;

    /// What the engine reads before planning: `value` for the lookup `l`
    /// with the query `q`.
    fn read(s: &Stack, state: &State, address: &str, id: &str, value: &str) -> BTreeMap<Address, LookupRead> {
        let decl = s.resource(&addr(address)).unwrap();
        let key = state.secret_key_bytes();
        let inputs: Fields =
            state.resolve_inputs(decl).unwrap().into_iter().map(|(k, v)| (k, v.seal(&key))).collect();
        let outputs: Fields =
            [("id".to_string(), Value::from(id)), ("value".to_string(), Value::from(value))].into();
        [(addr(address), LookupRead { inputs, id: id.into(), outputs })].into()
    }

    fn with_reads(reads: BTreeMap<Address, LookupRead>) -> PlanOptions {
        PlanOptions { reads, ..PlanOptions::default() }
    }

    /// A lookup `l` with query `q` and a node `n` labelled with its value.
    fn stack_with(q: &str) -> Stack {
        stack(|s| {
            let l = s.add("l", FakeLookup { query: q.into() });
            s.add(
                "n",
                Node { zone: "z1".into(), size: 1, label: Some(l.value().into()), ..Default::default() },
            );
        })
    }

    fn label(p: &Plan) -> Option<Value> {
        p.change(&addr("n")).and_then(|c| c.after.as_ref()).and_then(|a| a.get("label").cloned())
    }

    #[test]
    fn read_at_plan_shows_a_read_and_dependents_know_its_outputs() {
        let s = stack_with("q1");
        let mut state = empty_state();
        let p = plan(&s, &state, &with_reads(read(&s, &state, "l", "x-1", "one"))).unwrap();
        assert_eq!(compact(&p), ["<= l", "+ n"]);
        assert_eq!(label(&p), Some(Value::from("one")));
        assert_eq!(p.summary().read, 1);
        assert_eq!(step_order(&p), ["Read l", "Create n"]);
        // Applied (the read recorded): the same answer plans empty.
        fake_apply(&s, &mut state, &p);
        state.resources.get_mut(&addr("l")).unwrap().outputs =
            [("id".to_string(), Value::from("x-1")), ("value".to_string(), Value::from("one"))].into();
        state.resources.get_mut(&addr("l")).unwrap().id = "x-1".into();
        state.resources.get_mut(&addr("n")).unwrap().inputs.insert("label".into(), Value::from("one"));
        let p = plan(&s, &state, &with_reads(read(&s, &state, "l", "x-1", "one"))).unwrap();
        assert!(p.is_empty(), "{}", infra_core::plan::render::render(&p, Default::default()));
        // A new answer: a read, and its dependent updated in place.
        let p = plan(&s, &state, &with_reads(read(&s, &state, "l", "x-2", "two"))).unwrap();
        assert_eq!(compact(&p), ["<= l", "~ n"]);
        assert_eq!(label(&p), Some(Value::from("two")));
        // Not read (no reads given) and the query unchanged: the recorded
        // answer stands.
        assert!(plan(&s, &state, &PlanOptions::default()).unwrap().is_empty());
    }

    #[test]
    fn a_query_waiting_on_the_apply_is_read_during_apply() {
        let s = stack(|s| {
            let n = s.add("n", node("z1", 1));
            s.add("l", FakeLookup { query: n.name().into() });
        });
        let p = plan(&s, &empty_state(), &PlanOptions::default()).unwrap();
        assert_eq!(compact(&p), ["+ n", "<= l (during apply)"]);
        assert_eq!(step_order(&p), ["Create n", "Read l"]);
        let text = infra_core::plan::render::render(&p, Default::default());
        assert!(text.contains("# l (test:fake:Lookup) will be read during apply"), "{text}");
        assert!(text.contains(" <= l {"), "{text}");
        assert!(text.contains("1 to add, 0 to change, 0 to destroy, 1 to read."), "{text}");
    }

    #[test]
    fn a_removed_lookup_is_forgotten_and_never_replaced_or_refused() {
        let s = stack_with("q1");
        let mut state = empty_state();
        let p = plan(&s, &state, &with_reads(read(&s, &state, "l", "x-1", "one"))).unwrap();
        fake_apply(&s, &mut state, &p);
        assert!(state.resources[&addr("l")].retain_on_delete);
        let p = plan(&stack(|_| {}), &state, &PlanOptions::default()).unwrap();
        assert_eq!(compact(&p), ["- n", ". l"]);
        assert_eq!(
            plan_destroy("test", &state, &[]).unwrap().change(&addr("l")).unwrap().action,
            Action::Forget
        );
        // A changed query is a read, never a replacement.
        let p = plan(&stack_with("q2"), &state, &PlanOptions::default()).unwrap();
        assert_eq!(compact(&p)[0], "<= l (during apply)");
    }
}
