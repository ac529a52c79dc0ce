//! The human view of a plan. Reads only the [`Plan`] (so a saved plan file
//! renders exactly as it did when it was made). Terraform-style markers;
//! colour only when the caller asks for it (on a TTY).

use std::fmt::Write as _;

use crate::options::ReplaceOrder;
use crate::value::Value;

use super::{Action, Change, Plan, PlanMode};

const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// One legend line: which actions it covers, a sample action, its label.
type LegendEntry = (fn(&Action) -> bool, Action, &'static str);

/// How to render.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// Use ANSI colours (only on a TTY).
    pub color: bool,
}

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("{code}{text}{RESET}") } else { text.to_owned() }
    }
}

fn marker(action: &Action) -> (&'static str, &'static str) {
    match action {
        Action::NoOp => ("  ", ""),
        Action::Create => ("  +", GREEN),
        Action::Update => ("  ~", YELLOW),
        Action::Replace { order: ReplaceOrder::CreateBeforeDestroy, .. } => ("+/-", YELLOW),
        Action::Replace { order: ReplaceOrder::DeleteBeforeCreate, .. } => ("-/+", RED),
        Action::Delete => ("  -", RED),
        Action::Forget => ("  .", CYAN),
        Action::Read { .. } => (" <=", CYAN),
    }
}

fn headline(c: &Change) -> String {
    let what = match &c.action {
        Action::NoOp => "is up to date".to_owned(),
        Action::Create => "will be created".to_owned(),
        Action::Update => "will be updated in place".to_owned(),
        Action::Replace { order, .. } => format!(
            "must be replaced ({})",
            match order {
                ReplaceOrder::CreateBeforeDestroy => "create before destroy",
                ReplaceOrder::DeleteBeforeCreate => "destroy before create",
            }
        ),
        Action::Delete => "will be destroyed".to_owned(),
        Action::Forget => "will be removed from the state (kept in the cloud)".to_owned(),
        Action::Read { during_apply: true } => "will be read during apply".to_owned(),
        Action::Read { during_apply: false } => "will be read (nothing in the cloud changes)".to_owned(),
    };
    format!("# {} ({}) {what}", c.address, c.type_name)
}

/// Renders `plan` for a person.
pub fn render(plan: &Plan, options: RenderOptions) -> String {
    let p = Painter { color: options.color };
    let mut out = String::new();
    let lineage = plan.lineage.as_deref().unwrap_or("(new)");
    let _ = writeln!(
        out,
        "Stack {:?}{}, against state {} serial {}.",
        plan.stack,
        if plan.mode == PlanMode::Destroy { " (destroy)" } else { "" },
        lineage,
        plan.serial
    );
    if plan.is_empty() {
        out.push_str("\nNo changes. The infrastructure matches the configuration.\n");
        return out;
    }

    let used: Vec<&Action> = plan.actionable().map(|c| &c.action).collect();
    out.push_str("\nResource actions are indicated with the following symbols:\n");
    let legend: [LegendEntry; 7] = [
        (|a| *a == Action::Create, Action::Create, "create"),
        (|a| *a == Action::Update, Action::Update, "update in place"),
        (
            |a| matches!(a, Action::Replace { order: ReplaceOrder::DeleteBeforeCreate, .. }),
            Action::Replace { order: ReplaceOrder::DeleteBeforeCreate, forced_by: Vec::new() },
            "destroy and then create replacement",
        ),
        (
            |a| matches!(a, Action::Replace { order: ReplaceOrder::CreateBeforeDestroy, .. }),
            Action::Replace { order: ReplaceOrder::CreateBeforeDestroy, forced_by: Vec::new() },
            "create replacement and then destroy",
        ),
        (|a| *a == Action::Delete, Action::Delete, "destroy"),
        (|a| *a == Action::Forget, Action::Forget, "forget (remove from state only)"),
        (Action::is_read, Action::Read { during_apply: false }, "read (lookups)"),
    ];
    for (pred, action, label) in legend {
        if used.iter().any(|a| pred(a)) {
            let (m, code) = marker(&action);
            let _ = writeln!(out, "{} {label}", p.paint(code, &format!("{m:>3}")));
        }
    }
    out.push_str("\ninfra will perform the following actions:\n");

    for c in plan.actionable() {
        out.push('\n');
        let _ = writeln!(out, "  {}", p.paint(BOLD, &headline(c)));
        if let Some(reason) = &c.reason {
            let _ = writeln!(out, "  # ({reason})");
        }
        let (m, code) = marker(&c.action);
        let _ = writeln!(out, "{} {} {{", p.paint(code, m), c.address);
        render_fields(&mut out, &p, c);
        out.push_str("    }\n");
    }

    let s = plan.summary();
    let _ = write!(
        out,
        "\n{} {} to add, {} to change, {} to destroy",
        p.paint(BOLD, "Plan:"),
        s.add,
        s.change,
        s.destroy
    );
    if s.forget > 0 {
        let _ = write!(out, ", {} to forget", s.forget);
    }
    if s.read > 0 {
        let _ = write!(out, ", {} to read", s.read);
    }
    out.push_str(".\n");

    if !plan.outputs.is_empty() {
        out.push_str("\nChanges to outputs:\n");
        let width = plan.outputs.iter().map(|o| o.name.len()).max().unwrap_or(0);
        for o in &plan.outputs {
            let line = match (&o.before, &o.after) {
                (None, Some(a)) => format!("  + {:width$} = {}", o.name, value(a)),
                (Some(b), None) => format!("  - {:width$} = {}", o.name, value(b)),
                (Some(b), Some(a)) => {
                    format!("  ~ {:width$} = {} -> {}", o.name, value(b), value(a))
                }
                (None, None) => continue,
            };
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

fn render_fields(out: &mut String, p: &Painter, c: &Change) {
    match &c.action {
        Action::Delete | Action::Forget => {
            let Some(before) = &c.before else { return };
            let width = before.keys().map(String::len).max().unwrap_or(0);
            for (k, v) in before {
                let m = if c.action == Action::Delete { "-" } else { "." };
                let _ = writeln!(out, "      {} {k:width$} = {}", p.paint(RED, m), value(v));
            }
        }
        _ => {
            let width = c.fields.iter().map(|f| f.name.len()).max().unwrap_or(0);
            for f in &c.fields {
                let show = |v: &Value| {
                    if f.sensitive { "(sensitive)".to_owned() } else { value(v) }
                };
                // A map changed in place (tags): one line per key, as
                // Terraform shows it.
                if let (Some(Value::Map(b)), Some(Value::Map(a))) = (&f.before, &f.after)
                    && !f.sensitive
                {
                    let _ = writeln!(out, "      {} {:width$} = {{", p.paint(YELLOW, "~"), f.name);
                    map_diff(out, p, b, a);
                    let _ = writeln!(out, "        }}");
                    continue;
                }
                let (m, code, text) = match (&f.before, &f.after) {
                    (None, Some(a)) => ("+", GREEN, show(a)),
                    (Some(b), None) => ("-", RED, format!("{} -> null", show(b))),
                    (Some(b), Some(a)) => ("~", YELLOW, format!("{} -> {}", show(b), show(a))),
                    (None, None) => continue,
                };
                let suffix = if f.forces_replacement && c.action != Action::Create {
                    format!(" {}", p.paint(RED, "# forces replacement"))
                } else {
                    String::new()
                };
                let _ = writeln!(out, "      {} {:width$} = {text}{suffix}", p.paint(code, m), f.name);
            }
            let unchanged = c
                .before
                .as_ref()
                .map(|b| b.keys().filter(|k| !c.fields.iter().any(|f| &f.name == *k)).count())
                .unwrap_or(0);
            if unchanged > 0 {
                let _ = writeln!(out, "        # ({unchanged} unchanged fields hidden)");
            }
        }
    }
}

/// The keys of a map that changed, one line each, and how many did not.
fn map_diff(out: &mut String, p: &Painter, before: &crate::value::Fields, after: &crate::value::Fields) {
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let width = keys.iter().map(|k| k.len() + 2).max().unwrap_or(0);
    let mut unchanged = 0;
    for k in keys {
        let key = format!("{k:?}");
        let (m, code, text) = match (before.get(k), after.get(k)) {
            (None, Some(a)) => ("+", GREEN, value(a)),
            (Some(b), None) => ("-", RED, format!("{} -> null", value(b))),
            (Some(b), Some(a)) if b != a => ("~", YELLOW, format!("{} -> {}", value(b), value(a))),
            _ => {
                unchanged += 1;
                continue;
            }
        };
        let _ = writeln!(out, "          {} {key:width$} = {text}", p.paint(code, m));
    }
    if unchanged > 0 {
        let noun = if unchanged == 1 { "element" } else { "elements" };
        let _ = writeln!(out, "            # ({unchanged} unchanged {noun} hidden)");
    }
}

/// One value on one line: strings quoted, `(known after apply)`,
/// `(sensitive)`, lists in brackets, maps in braces.
pub fn value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => serde_json::Value::String(s.clone()).to_string(),
        Value::List(l) => format!("[{}]", l.iter().map(value).collect::<Vec<_>>().join(", ")),
        Value::Map(m) if m.is_empty() => "{}".into(),
        Value::Map(m) => format!(
            "{{ {} }}",
            m.iter().map(|(k, v)| format!("{k} = {}", value(v))).collect::<Vec<_>>().join(", ")
        ),
        Value::Unknown | Value::Template(_) | Value::Json(_) => "(known after apply)".into(),
        Value::Secret(_) | Value::SecretHash(_) => "(sensitive)".into(),
        Value::Ref(r) => format!("(known after apply: {r})"),
    }
}
