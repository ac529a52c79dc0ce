//! The planner: `plan(stack, state) -> Plan`. Pure; no IO.

use std::collections::{BTreeMap, BTreeSet};

use crate::address::Address;
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::error::Error;
use crate::graph::Graph;
use crate::stack::{ResourceDecl, Stack};
use crate::state::{ResourceState, State};
use crate::value::{Fields, Reference, Value, output_at};

use super::{Action, Change, FieldChange, OutputChange, PLAN_FORMAT_VERSION, Plan, PlanMode};

/// Options of one planning run.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// When non-empty, plan only these addresses and what they depend on
    /// (like `terraform plan -target`). Everything else is left alone.
    pub targets: Vec<Address>,
    /// Lookups read for this plan (by the engine, just before planning),
    /// by address. A lookup without one keeps its recorded result when its
    /// query is unchanged, and is read during apply otherwise.
    pub reads: BTreeMap<Address, LookupRead>,
}

/// What a lookup found when read for a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupRead {
    /// The inputs it was read with: resolved and sealed as the planner
    /// resolves them (a read made with other inputs is not used).
    pub inputs: Fields,
    /// The ID of what it found.
    pub id: String,
    /// Its outputs.
    pub outputs: Fields,
}

/// Plans the changes that make the cloud match `stack`, given `state`.
///
/// Fails with every validation problem at once when the stack is invalid,
/// and with every refusal at once when the plan would delete or replace a
/// protected resource.
pub fn plan(stack: &Stack, state: &State, options: &PlanOptions) -> Result<Plan, Error> {
    let graph = stack.validate()?;
    let scope = target_scope(&graph, state, &options.targets)?;
    let in_scope = |a: &Address| scope.as_ref().is_none_or(|s| s.contains(a));
    let key = state.secret_key_bytes();

    let mut changes = Vec::new();
    let mut refusals = Vec::new();
    // Resources whose recorded outputs stay valid through this apply.
    let mut stable: BTreeSet<Address> = BTreeSet::new();
    // Outputs of lookups read for this plan.
    let mut fresh: BTreeMap<Address, Fields> = BTreeMap::new();

    for address in graph.topo_order() {
        let Some(decl) = stack.resource(&address) else {
            continue;
        };
        let prior = state.resources.get(&address);
        if !in_scope(&address) {
            if prior.is_some() {
                stable.insert(address.clone());
            }
            continue;
        }
        let lookup = |r: &Reference| -> Option<Value> {
            if let Some(outputs) = fresh.get(&r.address) {
                return output_at(outputs, &r.output);
            }
            if !stable.contains(&r.address) {
                return None;
            }
            state.resources.get(&r.address).and_then(|p| output_at(&p.outputs, &r.output))
        };
        let after: Fields =
            decl.inputs.iter().map(|(k, v)| (k.clone(), v.resolve(&lookup).seal(&key))).collect();
        let change = if decl.schema.lookup {
            let (change, outputs) = diff_lookup(stack, decl, prior, after, options.reads.get(&address));
            if let Some(outputs) = outputs {
                fresh.insert(address.clone(), outputs);
            }
            change
        } else {
            let mut change = diff_resource(stack, decl, prior, after);
            if let (Action::Replace { .. }, Some(prior)) = (&change.action, prior) {
                let guard = prior.keeps_data.clone().or_else(|| decl.schema.keeps_data.map(Into::into));
                guard_data(&mut change, guard.as_ref(), prior, "replace", &mut refusals);
            }
            change
        };
        match &change.action {
            Action::NoOp | Action::Update => {
                stable.insert(address.clone());
            }
            Action::Replace { .. } if decl.options.protect => refusals.push(Diagnostic::resource(
                address.clone(),
                "is protected, but the plan would replace it; remove `protect` to allow this",
            )),
            _ => {}
        }
        changes.push(change);
    }

    propagate_delete_first(&mut changes);

    let declared: BTreeSet<&Address> = stack.resources().iter().map(|r| &r.address).collect();
    let orphans: BTreeSet<Address> =
        state.resources.keys().filter(|a| !declared.contains(a) && in_scope(a)).cloned().collect();
    changes.extend(delete_changes(state, &orphans, &mut refusals));
    changes.extend(deposed_changes(state, |a| in_scope(a)));
    resolve_step_cycles(&mut changes)?;

    if !refusals.is_empty() {
        refusals.sort();
        return Err(Error::Refused(Diagnostics(refusals)));
    }

    let outputs = if scope.is_some() { Vec::new() } else { output_changes(stack, state, &stable, &fresh) };

    Ok(Plan {
        format_version: PLAN_FORMAT_VERSION,
        stack: stack.name().to_owned(),
        mode: PlanMode::Normal,
        lineage: Some(state.lineage.clone()),
        serial: state.serial,
        changes,
        outputs,
    })
}

/// Plans the deletion of everything `state` holds (or, with targets, of the
/// targets and everything that depends on them), in reverse dependency
/// order. Needs no stack program.
pub fn plan_destroy(stack_name: &str, state: &State, targets: &[Address]) -> Result<Plan, Error> {
    let mut selected: BTreeSet<Address> = BTreeSet::new();
    if targets.is_empty() {
        selected.extend(state.resources.keys().cloned());
    } else {
        let mut unknown = Vec::new();
        let mut stack: Vec<Address> = Vec::new();
        for t in targets {
            if state.resources.contains_key(t) {
                stack.push(t.clone());
            } else {
                unknown.push(Diagnostic::resource(t.clone(), "is not in the state"));
            }
        }
        if !unknown.is_empty() {
            return Err(Error::Invalid(Diagnostics(unknown)));
        }
        // Destroying a resource destroys its dependents first.
        while let Some(a) = stack.pop() {
            if selected.insert(a.clone()) {
                stack.extend(state.dependents_of(&a).into_iter().cloned());
            }
        }
    }
    let mut refusals = Vec::new();
    let mut changes = delete_changes(state, &selected, &mut refusals);
    changes.extend(deposed_changes(state, |a| targets.is_empty() || selected.contains(a)));
    if !refusals.is_empty() {
        return Err(Error::Refused(Diagnostics(refusals)));
    }
    let outputs = if targets.is_empty() {
        state
            .outputs
            .iter()
            .map(|(name, v)| OutputChange { name: name.clone(), before: Some(v.clone()), after: None })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Plan {
        format_version: PLAN_FORMAT_VERSION,
        stack: stack_name.to_owned(),
        mode: PlanMode::Destroy,
        lineage: Some(state.lineage.clone()),
        serial: state.serial,
        changes,
        outputs,
    })
}

/// The addresses in scope for a targeted plan, or `None` for a full plan.
fn target_scope(
    graph: &Graph,
    state: &State,
    targets: &[Address],
) -> Result<Option<BTreeSet<Address>>, Error> {
    if targets.is_empty() {
        return Ok(None);
    }
    let mut problems = Vec::new();
    for t in targets {
        if !graph.contains(t) && !state.resources.contains_key(t) {
            problems.push(Diagnostic::resource(
                t.clone(),
                "is a --target, but is neither declared nor in the state",
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(Diagnostics(problems)));
    }
    let declared: Vec<&Address> = targets.iter().filter(|t| graph.contains(t)).collect();
    let mut scope = graph.with_dependencies(declared);
    scope.extend(targets.iter().cloned());
    Ok(Some(scope))
}

fn diff_resource(
    stack: &Stack,
    decl: &ResourceDecl,
    prior: Option<&ResourceState>,
    mut after: Fields,
) -> Change {
    let schema = decl.schema;
    let provider = decl.provider.clone().unwrap_or_else(|| crate::provider::ProviderKey(String::new()));
    let depends_on: Vec<Address> = decl.dependencies().into_iter().collect();
    let Some(prior) = prior else {
        let fields = after
            .iter()
            .map(|(k, v)| FieldChange {
                name: k.clone(),
                before: None,
                after: Some(v.clone()),
                forces_replacement: false,
                sensitive: schema.is_secret(k) || v.is_sensitive(),
            })
            .collect();
        return Change {
            address: decl.address.clone(),
            type_name: schema.type_name.to_owned(),
            provider,
            action: Action::Create,
            before: None,
            after: Some(after),
            fields,
            reason: Some("not in the state".into()),
            depends_on,
            prior_depends_on: Vec::new(),
            retain_on_delete: decl.options.retain_on_delete,
            deposed: None,
        };
    };

    // Ignored fields keep their recorded value.
    for field in &decl.options.ignore_changes {
        match prior.inputs.get(field) {
            Some(v) => {
                after.insert(field.clone(), v.clone());
            }
            None => {
                after.remove(field);
            }
        }
    }

    let names: BTreeSet<&String> = prior.inputs.keys().chain(after.keys()).collect();
    let mut fields = Vec::new();
    for name in names {
        let before = prior.inputs.get(name);
        let now = after.get(name);
        let unknown = now.is_some_and(Value::has_unknown);
        let same = if schema.is_set(name) {
            before.map(Value::sorted) == now.map(Value::sorted)
        } else {
            before == now
        };
        if same && !unknown {
            continue;
        }
        fields.push(FieldChange {
            name: name.clone(),
            before: before.cloned(),
            after: now.cloned(),
            forces_replacement: schema.is_force_new(name),
            sensitive: schema.is_secret(name)
                || before.is_some_and(Value::is_sensitive)
                || now.is_some_and(Value::is_sensitive),
        });
    }

    let mut forced_by: Vec<String> =
        fields.iter().filter(|f| f.forces_replacement).map(|f| f.name.clone()).collect();
    let mut reasons = Vec::new();
    if prior.type_name != schema.type_name {
        forced_by.push("(type)".into());
        reasons.push(format!("the type changed from {} to {}", prior.type_name, schema.type_name));
    }
    let region = stack.provider_of(decl).map(|p| p.region.as_str());
    if prior.provider != provider || region.is_some_and(|r| r != prior.region) {
        forced_by.push("(provider)".into());
        reasons.push(format!(
            "the provider instance changed from {} ({}) to {} ({})",
            prior.provider,
            prior.region,
            provider,
            region.unwrap_or("?")
        ));
    }

    let action = if !forced_by.is_empty() {
        if reasons.is_empty() {
            reasons.push(format!("{} cannot be changed in place", forced_by.join(", ")));
        }
        Action::Replace { order: decl.replace_order(), forced_by }
    } else if !fields.is_empty() {
        reasons.push(format!(
            "{} changed",
            fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ")
        ));
        Action::Update
    } else if prior.waiting {
        // An update with no fields: the executor only waits (no call).
        reasons.push("the last wait for it to become available did not finish; waiting again".into());
        Action::Update
    } else {
        Action::NoOp
    };

    Change {
        address: decl.address.clone(),
        type_name: schema.type_name.to_owned(),
        provider,
        action,
        before: Some(prior.inputs.clone()),
        after: Some(after),
        fields,
        reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
        depends_on,
        prior_depends_on: prior.dependencies.iter().cloned().collect(),
        retain_on_delete: decl.options.retain_on_delete,
        deposed: None,
    }
}

/// The change of a lookup, and its outputs when it was read for this plan.
///
/// Read for this plan with the inputs planned now: a no-op when the state
/// already records that result, else a read (shown, recorded by apply);
/// its outputs are known to dependents either way. Not read (its query
/// waits on values known only after apply, or no read was given): a no-op
/// when the recorded query is unchanged, else a read during apply.
fn diff_lookup(
    stack: &Stack,
    decl: &ResourceDecl,
    prior: Option<&ResourceState>,
    after: Fields,
    read: Option<&LookupRead>,
) -> (Change, Option<Fields>) {
    let schema = decl.schema;
    let provider = decl.provider.clone().unwrap_or_else(|| crate::provider::ProviderKey(String::new()));
    let region = stack.provider_of(decl).map(|p| p.region.as_str());
    let known = !after.values().any(Value::has_unknown);
    let read = read.filter(|r| known && r.inputs == after);
    let prior = prior.filter(|p| {
        p.type_name == schema.type_name && p.provider == provider && region.is_none_or(|r| r == p.region)
    });
    let same_query = prior.is_some_and(|p| p.inputs == after);
    let (action, reason) = match (read, prior) {
        (Some(r), Some(p)) if same_query && p.outputs == r.outputs && p.id == r.id => (Action::NoOp, None),
        (Some(_), None) => (Action::Read { during_apply: false }, Some("read for this plan")),
        (Some(_), Some(_)) if same_query => {
            (Action::Read { during_apply: false }, Some("its result changed"))
        }
        (Some(_), Some(_)) => (Action::Read { during_apply: false }, Some("its query changed")),
        (None, Some(_)) if known && same_query => (Action::NoOp, None),
        (None, _) if known => (Action::Read { during_apply: true }, Some("not read for this plan")),
        (None, _) => {
            (Action::Read { during_apply: true }, Some("its query waits on values known only after apply"))
        }
    };
    let mut fields = Vec::new();
    if action.is_change() {
        let empty = Fields::new();
        let before = prior.map_or(&empty, |p| &p.inputs);
        let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
        for name in names {
            let (b, a) = (before.get(name), after.get(name));
            if b != a || a.is_some_and(Value::has_unknown) {
                fields.push(FieldChange {
                    name: name.clone(),
                    before: b.cloned(),
                    after: a.cloned(),
                    forces_replacement: false,
                    sensitive: b.is_some_and(Value::is_sensitive) || a.is_some_and(Value::is_sensitive),
                });
            }
        }
        // What the read found, where it differs from what was recorded.
        if let Some(r) = read {
            let was = prior.map_or(&empty, |p| &p.outputs);
            for (name, v) in &r.outputs {
                if was.get(name) != Some(v) {
                    let shown =
                        if after.contains_key(name) { format!("{name} (found)") } else { name.clone() };
                    fields.push(FieldChange {
                        name: shown,
                        before: was.get(name).cloned(),
                        after: Some(v.clone()),
                        forces_replacement: false,
                        sensitive: v.is_sensitive(),
                    });
                }
            }
        }
    }
    let change = Change {
        address: decl.address.clone(),
        type_name: schema.type_name.to_owned(),
        provider,
        action,
        before: prior.map(|p| p.inputs.clone()),
        after: Some(after),
        fields,
        reason: reason.map(str::to_owned),
        depends_on: decl.dependencies().into_iter().collect(),
        prior_depends_on: prior.map(|p| p.dependencies.iter().cloned().collect()).unwrap_or_default(),
        retain_on_delete: true,
        deposed: None,
    };
    (change, read.map(|r| r.outputs.clone()))
}

/// Delete (or forget) changes for `selected`, ordered so that a resource is
/// deleted before everything it depended on.
fn delete_changes(
    state: &State,
    selected: &BTreeSet<Address>,
    refusals: &mut Vec<Diagnostic>,
) -> Vec<Change> {
    let graph = Graph::build(selected.iter().map(|a| {
        let deps = state
            .resources
            .get(a)
            .map(|r| r.dependencies.iter().filter(|d| selected.contains(*d)).cloned().collect())
            .unwrap_or_default();
        (a.clone(), deps)
    }));
    let mut order = match graph {
        Ok(g) => g.topo_order(),
        // A state whose recorded dependencies form a cycle cannot be ordered;
        // fall back to address order rather than refuse to clean up.
        Err(_) => selected.iter().cloned().collect(),
    };
    order.reverse();
    let mut out = Vec::new();
    for address in order {
        let Some(prior) = state.resources.get(&address) else {
            continue;
        };
        if prior.protect && !prior.retain_on_delete {
            refusals.push(Diagnostic::resource(
                address.clone(),
                "is protected, but the plan would delete it; set `protect` off and apply first, \
                 or remove it from the state with `state rm`",
            ));
        }
        let action = if prior.retain_on_delete { Action::Forget } else { Action::Delete };
        let reason = if prior.retain_on_delete {
            "no longer declared; retained in the cloud and removed from the state"
        } else {
            "no longer declared"
        };
        let mut change = Change {
            address: address.clone(),
            type_name: prior.type_name.clone(),
            provider: prior.provider.clone(),
            action,
            before: Some(prior.inputs.clone()),
            after: None,
            fields: Vec::new(),
            reason: Some(reason.into()),
            depends_on: Vec::new(),
            prior_depends_on: prior.dependencies.iter().cloned().collect(),
            retain_on_delete: prior.retain_on_delete,
            deposed: None,
        };
        if !prior.retain_on_delete {
            guard_data(&mut change, prior.keeps_data.as_ref(), prior, "delete", refusals);
        }
        out.push(change);
    }
    out
}

/// Deleting data is never silent: refuses to `what` (delete, replace) a
/// resource that holds data while its recorded declaration has not said
/// what happens to the data, and shows the decision in the change's reason
/// (the final snapshot that will be taken).
fn guard_data(
    change: &mut Change,
    guard: Option<&crate::data::DataGuard>,
    prior: &ResourceState,
    what: &str,
    refusals: &mut Vec<Diagnostic>,
) {
    use crate::data::Verdict;
    let Some(guard) = guard else {
        return;
    };
    let note = match guard.verdict(&prior.inputs, &prior.outputs) {
        Verdict::Empty => return,
        Verdict::Decided(d) => crate::data::note(&d),
        Verdict::Undecided => {
            refusals.push(Diagnostic::field(change.address.clone(), &guard.field, guard.refusal(what)));
            return;
        }
    };
    change.reason = Some(match change.reason.take() {
        Some(r) => format!("{r}; {note}"),
        None => note,
    });
}

fn output_changes(
    stack: &Stack,
    state: &State,
    stable: &BTreeSet<Address>,
    fresh: &BTreeMap<Address, Fields>,
) -> Vec<OutputChange> {
    let key = state.secret_key_bytes();
    let lookup = |r: &Reference| -> Option<Value> {
        if let Some(outputs) = fresh.get(&r.address) {
            return output_at(outputs, &r.output);
        }
        if !stable.contains(&r.address) {
            return None;
        }
        state.resources.get(&r.address).and_then(|p| output_at(&p.outputs, &r.output))
    };
    let desired: BTreeMap<&String, Value> =
        stack.outputs().iter().map(|(k, v)| (k, v.resolve(&lookup).seal(&key))).collect();
    let names: BTreeSet<&String> = desired.keys().copied().chain(state.outputs.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let before = state.outputs.get(name);
            let after = desired.get(name);
            let unknown = after.is_some_and(Value::has_unknown);
            (before != after || unknown).then(|| OutputChange {
                name: name.clone(),
                before: before.cloned(),
                after: after.cloned(),
            })
        })
        .collect()
}

/// A create-before-destroy replacement whose old object depends on an
/// object that is replaced delete-before-create must go first itself: the
/// old dependency cannot be deleted while the old dependent still uses it,
/// and the dependent's replacement needs the new dependency. `changes` is in
/// dependency order, so one pass propagates down chains.
fn propagate_delete_first(changes: &mut [Change]) {
    let mut delete_first: BTreeSet<Address> = BTreeSet::new();
    for c in changes.iter_mut() {
        let Action::Replace { order, .. } = &mut c.action else {
            continue;
        };
        if *order == crate::options::ReplaceOrder::CreateBeforeDestroy
            && let Some(dep) = c.prior_depends_on.iter().find(|d| delete_first.contains(*d))
        {
            *order = crate::options::ReplaceOrder::DeleteBeforeCreate;
            let note =
                format!("destroyed first because {dep}, which it uses, is replaced destroy-before-create");
            c.reason = Some(match c.reason.take() {
                Some(r) => format!("{r}; {note}"),
                None => note,
            });
        }
        if *order == crate::options::ReplaceOrder::DeleteBeforeCreate {
            delete_first.insert(c.address.clone());
        }
    }
}

/// Where the steps still form a cycle (a create-before-destroy replacement
/// whose old object must be deleted, through a chain of dependents, before a
/// delete-before-create replacement it needs), switches the
/// create-before-destroy replacements on the cycle to delete-before-create,
/// until the steps can be ordered. Fails when a cycle has none to switch.
fn resolve_step_cycles(changes: &mut [Change]) -> Result<(), Error> {
    loop {
        let probe = Plan {
            format_version: PLAN_FORMAT_VERSION,
            stack: String::new(),
            mode: PlanMode::Normal,
            lineage: None,
            serial: 0,
            changes: changes.to_vec(),
            outputs: Vec::new(),
        };
        let Err(err) = super::steps(&probe) else {
            return Ok(());
        };
        let Error::StepCycle { addresses } = &err else {
            return Err(err);
        };
        let on_cycle: BTreeSet<&Address> = addresses.iter().collect();
        let mut switched = false;
        for c in changes.iter_mut().filter(|c| on_cycle.contains(&c.address)) {
            if let Action::Replace { order, .. } = &mut c.action
                && *order == crate::options::ReplaceOrder::CreateBeforeDestroy
            {
                *order = crate::options::ReplaceOrder::DeleteBeforeCreate;
                let note = "destroyed first: creating the replacement first would need resources \
                                that can only be replaced after the old one is gone";
                c.reason = Some(match c.reason.take() {
                    Some(r) => format!("{r}; {note}"),
                    None => note.to_owned(),
                });
                switched = true;
            }
        }
        if !switched {
            return Err(err);
        }
    }
}

/// Deletes of deposed objects (old halves of create-before-destroy
/// replacements that an interrupted run did not finish).
fn deposed_changes(state: &State, in_scope: impl Fn(&Address) -> bool) -> Vec<Change> {
    state
        .deposed
        .iter()
        .filter(|d| in_scope(&d.address))
        .map(|d| Change {
            address: d.address.clone(),
            type_name: d.object.type_name.clone(),
            provider: d.object.provider.clone(),
            action: Action::Delete,
            before: Some(d.object.inputs.clone()),
            after: None,
            fields: Vec::new(),
            reason: Some(format!(
                "deposed object {} of a create-before-destroy replacement that did not finish",
                d.object.id
            )),
            depends_on: Vec::new(),
            prior_depends_on: d.object.dependencies.iter().cloned().collect(),
            retain_on_delete: d.object.retain_on_delete,
            deposed: Some(d.object.id.clone()),
        })
        .collect()
}
