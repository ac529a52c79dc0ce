//! Properties of plan and steps over random DAGs: every operation comes
//! after what it depends on, a converged state plans nothing, and destroy
//! deletes in reverse dependency order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use infra_core::plan::{PlanOptions, StepKind, plan, plan_destroy, steps};
use infra_core::{Address, Stack};
use infra_tests::dags::{apply_edits, build, dag, edits, name};
use infra_tests::{addr, empty_state, fake_apply};
use proptest::prelude::*;

fn position(order: &[(Address, StepKind)], a: &Address, apply: bool) -> Option<usize> {
    order.iter().position(|(x, k)| x == a && k.is_apply() == apply)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(128), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn create_order_respects_every_edge_and_converges(specs in dag()) {
        let stack = build(&specs);
        let mut state = empty_state();
        let p = plan(&stack, &state, &PlanOptions::default()).unwrap();
        let order = fake_apply(&stack, &mut state, &p);
        for (i, s) in specs.iter().enumerate() {
            let me = position(&order, &addr(&name(i)), true).unwrap();
            for d in &s.deps {
                let dep = position(&order, &addr(&name(*d)), true).unwrap();
                prop_assert!(dep < me, "{} ran before its dependency {}", name(i), name(*d));
            }
        }
        let again = plan(&stack, &state, &PlanOptions::default()).unwrap();
        prop_assert!(again.is_empty(), "{}", infra_core::plan::render::render(&again, Default::default()));
    }

    #[test]
    fn destroy_deletes_in_reverse_dependency_order(specs in dag()) {
        let stack = build(&specs);
        let mut state = empty_state();
        let p = plan(&stack, &state, &PlanOptions::default()).unwrap();
        fake_apply(&stack, &mut state, &p);
        let d = plan_destroy("prop", &state, &[]).unwrap();
        let empty = Stack::new("prop");
        let order = fake_apply(&empty, &mut state, &d);
        prop_assert!(state.resources.is_empty());
        for (i, s) in specs.iter().enumerate() {
            let me = position(&order, &addr(&name(i)), false).unwrap();
            for dep in &s.deps {
                let dep = position(&order, &addr(&name(*dep)), false).unwrap();
                prop_assert!(me < dep, "{} deleted after its dependency", name(i));
            }
        }
    }

    #[test]
    fn any_edit_plans_ordered_steps_and_converges(
        (specs, edits) in dag().prop_flat_map(|s| { let n = s.len(); (Just(s), edits(n)) })
    ) {
        let before = build(&specs);
        let mut state = empty_state();
        let p0 = plan(&before, &state, &PlanOptions::default()).unwrap();
        fake_apply(&before, &mut state, &p0);
        let prior_state = state.clone();

        let edited = apply_edits(&specs, &edits);
        let after = build(&edited);
        let p = plan(&after, &state, &PlanOptions::default()).unwrap();
        let ordered = steps(&p).unwrap();
        for (i, st) in ordered.iter().enumerate() {
            prop_assert!(st.depends_on.iter().all(|d| *d < i));
        }
        let order = fake_apply(&after, &mut state, &p);
        // Desired edges: a dependency's create/update runs first.
        for (i, s) in edited.iter().enumerate().filter(|(_, s)| s.present) {
            for d in s.deps.iter().filter(|d| edited[**d].present) {
                if let (Some(me), Some(dep)) =
                    (position(&order, &addr(&name(i)), true), position(&order, &addr(&name(*d)), true))
                {
                    prop_assert!(dep < me);
                }
            }
        }
        // Prior edges: a dependent's delete runs before its dependency's.
        for (a, r) in &prior_state.resources {
            for d in &r.dependencies {
                if let (Some(me), Some(dep)) = (position(&order, a, false), position(&order, d, false)) {
                    prop_assert!(me < dep, "{a} deleted after {d}");
                }
            }
        }
        let again = plan(&after, &state, &PlanOptions::default()).unwrap();
        prop_assert!(again.is_empty(), "{}", infra_core::plan::render::render(&again, Default::default()));
    }
}
