//! `state …`: inspect and edit the recorded state. Edits take the stack's
//! lock and are one operation each (the serial advances once, the previous
//! version goes to the history); none touches the cloud.

use std::collections::BTreeSet;
use std::time::Duration;

use infra_core::plan::render::value as show_value;
use infra_core::{Address, State};

use crate::args::StateCommand;
use crate::commands::{Ctx, OK};
use crate::error::{Error, Result};

pub(crate) async fn run(ctx: &Ctx<'_>, command: &StateCommand) -> Result<u8> {
    let name = ctx.stack_name().await?;
    let backend = ctx.backend().await?;
    match command {
        StateCommand::List => {
            let state = stored(backend.as_ref(), &name).await?;
            let mut text = String::new();
            for a in state.resources.keys() {
                text.push_str(a.as_str());
                text.push('\n');
            }
            ctx.ui.out(&text);
        }
        StateCommand::Show { address } => {
            let state = stored(backend.as_ref(), &name).await?;
            let address = parse(address)?;
            let r = state
                .resources
                .get(&address)
                .ok_or_else(|| Error::NotInState { address: address.to_string(), stack: name.clone() })?;
            let mut text = format!(
                "# {address} ({})\nid       = {}\nprovider = {}\nregion   = {}\n",
                r.type_name, r.id, r.provider, r.region
            );
            let width = r.inputs.keys().chain(r.outputs.keys()).map(String::len).max().unwrap_or(0);
            text.push_str("\ninputs:\n");
            for (k, v) in &r.inputs {
                text.push_str(&format!("  {k:<width$} = {}\n", show_value(v)));
            }
            text.push_str("\noutputs:\n");
            for (k, v) in &r.outputs {
                text.push_str(&format!("  {k:<width$} = {}\n", show_value(v)));
            }
            if !r.dependencies.is_empty() {
                let deps: Vec<&str> = r.dependencies.iter().map(Address::as_str).collect();
                text.push_str(&format!("\ndepends on: {}\n", deps.join(", ")));
            }
            ctx.ui.out(&text);
        }
        StateCommand::Rm { address } => {
            let address = parse(address)?;
            let removed = edit(ctx, backend.as_ref(), &name, "state rm", |s| {
                let gone = matching(s, &address);
                if gone.is_empty() {
                    return Err(Error::NotInState { address: address.to_string(), stack: name.clone() });
                }
                refuse_pending(s, &gone)?;
                for a in &gone {
                    s.resources.remove(a);
                }
                for r in s.resources.values_mut() {
                    r.dependencies.retain(|d| !gone.contains(d));
                }
                Ok(gone)
            })
            .await?;
            for a in &removed {
                ctx.ui.info(&format!("Removed {a} from the state (it still exists in the cloud)."));
            }
        }
        StateCommand::Mv { from, to } => {
            let (from, to) = (parse(from)?, parse(to)?);
            let moved = edit(ctx, backend.as_ref(), &name, "state mv", |s| {
                let sources = matching(s, &from);
                if sources.is_empty() {
                    return Err(Error::NotInState { address: from.to_string(), stack: name.clone() });
                }
                refuse_pending(s, &sources)?;
                let rename = |a: &Address| -> Result<Address> {
                    let rest = &a.as_str()[from.as_str().len()..];
                    parse(&format!("{to}{rest}"))
                };
                let mut pairs = Vec::new();
                for a in &sources {
                    let b = rename(a)?;
                    if s.resources.contains_key(&b) && !sources.contains(&b) {
                        return Err(Error::Usage(format!(
                            "cannot move {a} to {b}: {b} is already in the state"
                        )));
                    }
                    pairs.push((a.clone(), b));
                }
                let taken: Vec<_> =
                    pairs.iter().filter_map(|(a, _)| s.resources.remove(a).map(|r| (a.clone(), r))).collect();
                for ((_, r), (_, b)) in taken.into_iter().zip(&pairs) {
                    s.resources.insert(b.clone(), r);
                }
                for r in s.resources.values_mut() {
                    r.dependencies = r
                        .dependencies
                        .iter()
                        .map(|d| {
                            pairs
                                .iter()
                                .find(|(a, _)| a == d)
                                .map(|(_, b)| b.clone())
                                .unwrap_or_else(|| d.clone())
                        })
                        .collect();
                }
                for d in &mut s.deposed {
                    if let Some((_, b)) = pairs.iter().find(|(a, _)| *a == d.address) {
                        d.address = b.clone();
                    }
                }
                Ok(pairs)
            })
            .await?;
            for (a, b) in &moved {
                ctx.ui.info(&format!("Moved {a} to {b}."));
            }
        }
        StateCommand::Pull { version } => {
            let state = match version {
                Some(v) => backend.read_version(&name, v).await?,
                None => stored(backend.as_ref(), &name).await?,
            };
            let bytes = infra_state::encode(&state)?;
            ctx.ui.out(&String::from_utf8_lossy(&bytes));
            if !bytes.ends_with(b"\n") {
                ctx.ui.out("\n");
            }
        }
        StateCommand::Push { file } => {
            let bytes =
                std::fs::read(file).map_err(|e| Error::File { path: file.clone(), reason: e.to_string() })?;
            let pushed = infra_state::decode(&bytes)?;
            let lock = backend.lock(&name, "state push", ctx.cli.global.lock_timeout).await?;
            let result = async {
                let current = backend.read(&name).await?;
                let mut next = pushed.clone();
                let expected = match &current {
                    Some((s, v)) => {
                        if s.lineage != pushed.lineage {
                            return Err(Error::Usage(format!(
                                "{}: lineage {} is not the stored lineage {}; a state of another stack is never pushed over this one",
                                file.display(),
                                pushed.lineage,
                                s.lineage
                            )));
                        }
                        if s.serial > pushed.serial {
                            return Err(Error::Usage(format!(
                                "{}: serial {} is older than the stored serial {}; pull the current state and edit that",
                                file.display(),
                                pushed.serial,
                                s.serial
                            )));
                        }
                        next.serial = s.serial + 1;
                        Some(v.clone())
                    }
                    None => None,
                };
                let written = backend.write(lock.as_ref(), &next, expected.as_ref()).await?;
                backend.settle(lock.as_ref(), &written).await?;
                Ok(next.serial)
            }
            .await;
            let released = lock.release().await;
            let serial = result?;
            released?;
            ctx.ui.info(&format!("Pushed {} as stack {name:?}'s state (serial {serial}).", file.display()));
        }
        StateCommand::History => {
            let entries = backend.history(&name).await?;
            if entries.is_empty() {
                ctx.ui.info(&format!("Stack {name:?} has no earlier versions."));
            }
            let mut text = String::new();
            for e in entries {
                text.push_str(&format!(
                    "{}  serial {:>4}  {}  {} bytes\n",
                    e.version_id, e.serial, e.written_at, e.size
                ));
            }
            ctx.ui.out(&text);
        }
    }
    Ok(OK)
}

fn parse(a: &str) -> Result<Address> {
    Address::parse(a).map_err(|e| Error::Address { argument: a.to_owned(), reason: e.to_string() })
}

async fn stored(backend: &dyn infra_state::Backend, name: &str) -> Result<State> {
    match backend.read(name).await? {
        Some((s, _)) => Ok(s),
        None => Err(Error::NoStack(format!("stack {name:?} has no state in {}", backend.describe()))),
    }
}

/// The recorded addresses equal to `a` or under it (`a.` prefix).
fn matching(s: &State, a: &Address) -> BTreeSet<Address> {
    let prefix = format!("{a}.");
    s.resources.keys().filter(|k| *k == a || k.as_str().starts_with(&prefix)).cloned().collect()
}

fn refuse_pending(s: &State, addresses: &BTreeSet<Address>) -> Result<()> {
    if let Some(p) = s.pending.iter().find(|p| addresses.contains(&p.address)) {
        return Err(Error::Usage(format!(
            "{}: an interrupted run left a pending {:?} on it; run `apply` (or `refresh`) to resolve it first",
            p.address, p.kind
        )));
    }
    Ok(())
}

/// Edits the stored state under the stack's lock, as one operation.
async fn edit<T>(
    ctx: &Ctx<'_>,
    backend: &dyn infra_state::Backend,
    name: &str,
    operation: &str,
    change: impl Fn(&mut State) -> Result<T>,
) -> Result<T> {
    // A change that would be refused is refused before the lock is taken,
    // so a refused command writes nothing (not even a lock file).
    if backend.holder(name).await?.is_none() {
        match backend.read(name).await? {
            Some((mut state, _)) => {
                change(&mut state)?;
            }
            None => {
                return Err(Error::NoStack(format!("stack {name:?} has no state in {}", backend.describe())));
            }
        }
    }
    let timeout: Duration = ctx.cli.global.lock_timeout;
    let lock = backend.lock(name, operation, timeout).await?;
    let result = async {
        let (state, version) = match backend.read(name).await? {
            Some(v) => v,
            None => {
                return Err(Error::NoStack(format!("stack {name:?} has no state in {}", backend.describe())));
            }
        };
        let mut next = state.clone();
        let out = change(&mut next)?;
        next.serial = state.serial + 1;
        let written = backend.write(lock.as_ref(), &next, Some(&version)).await?;
        backend.settle(lock.as_ref(), &written).await?;
        Ok(out)
    }
    .await;
    let released = lock.release().await;
    let out = result?;
    released?;
    Ok(out)
}
