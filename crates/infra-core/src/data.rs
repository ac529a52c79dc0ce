//! Resources that hold data (databases, caches, buckets): **deleting data is
//! never silent.** Such a type names the field where a declaration decides
//! what a delete does with the data ([`OnDelete`]); the planner refuses to
//! delete or replace one whose recorded declaration has not decided, and
//! shows the final snapshot a delete will take.

use serde::{Deserialize, Serialize};

use crate::value::{Fields, Value};

/// What deleting a resource does with its data.
///
/// Serialised as `{"final_snapshot": "name"}` or `"delete_data"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDelete {
    /// Take a final snapshot with this name, then delete (RDS's
    /// `FinalDBSnapshotIdentifier`, ElastiCache's `FinalSnapshotIdentifier`).
    FinalSnapshot(String),
    /// Delete the data with the resource: no final snapshot; a bucket's
    /// objects and their versions are deleted first (Terraform's
    /// `skip_final_snapshot = true`, `force_destroy = true`).
    DeleteData,
}

/// How a type that holds data declares its decision (see the module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepsData {
    /// The input field of type `Option<OnDelete>`.
    pub field: &'static str,
    /// A boolean output telling whether the object holds data now (a
    /// bucket's `holds_objects`); `None`: it always does.
    pub when: Option<&'static str>,
}

/// [`KeepsData`] as recorded in the state, so that a resource no longer
/// declared (or a state-only destroy) is still guarded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataGuard {
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

impl From<KeepsData> for DataGuard {
    fn from(k: KeepsData) -> Self {
        DataGuard { field: k.field.to_owned(), when: k.when.map(str::to_owned) }
    }
}

/// What the guard says about deleting an object with these recorded inputs
/// and outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No data to keep (a bucket known to be empty).
    Empty,
    /// The declaration decided.
    Decided(OnDelete),
    /// It holds data and nothing was decided: refuse, naming the field.
    Undecided,
}

impl DataGuard {
    /// The verdict for an object recorded with `inputs` and `outputs`.
    pub fn verdict(&self, inputs: &Fields, outputs: &Fields) -> Verdict {
        if let Some(when) = &self.when
            && outputs.get(when) == Some(&Value::Bool(false))
        {
            return Verdict::Empty;
        }
        match inputs.get(&self.field).and_then(decision) {
            Some(d) => Verdict::Decided(d),
            None => Verdict::Undecided,
        }
    }

    /// The refusal for an undecided object, naming the field.
    pub fn refusal(&self, what: &str) -> String {
        format!(
            "holds data, but the plan would {what} it and `{field}` does not say what happens to the \
             data: set `{field}: Some(OnDelete::FinalSnapshot(\"<name>\".into()))` to keep a final \
             snapshot, or `{field}: Some(OnDelete::DeleteData)` to delete it, and apply that first",
            field = self.field
        )
    }
}

/// The decision written in a recorded value.
fn decision(v: &Value) -> Option<OnDelete> {
    match v {
        Value::String(s) if s == "delete_data" => Some(OnDelete::DeleteData),
        Value::Map(m) => match m.get("final_snapshot") {
            Some(Value::String(name)) => Some(OnDelete::FinalSnapshot(name.clone())),
            _ => None,
        },
        _ => None,
    }
}

/// The plan's note on a delete that was decided.
pub fn note(d: &OnDelete) -> String {
    match d {
        OnDelete::FinalSnapshot(name) => format!("a final snapshot `{name}` will be taken"),
        OnDelete::DeleteData => "its data will be deleted with it (no final snapshot)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn check(input: Option<Value>, holds: Option<bool>, expected: Verdict) {
        let guard = DataGuard { field: "on_delete".into(), when: holds.map(|_| "holds_objects".into()) };
        let inputs: Fields = input.into_iter().map(|v| ("on_delete".to_owned(), v)).collect();
        let outputs: Fields =
            holds.into_iter().map(|h| ("holds_objects".to_owned(), Value::Bool(h))).collect();
        assert_eq!(guard.verdict(&inputs, &outputs), expected);
    }

    #[test]
    fn a_delete_needs_a_decision_unless_there_is_no_data() {
        let snapshot = crate::value::to_value(&OnDelete::FinalSnapshot("db-final".into())).unwrap();
        let delete = crate::value::to_value(&OnDelete::DeleteData).unwrap();
        check(None, None, Verdict::Undecided);
        check(Some(Value::Null), None, Verdict::Undecided);
        check(Some(snapshot.clone()), None, Verdict::Decided(OnDelete::FinalSnapshot("db-final".into())));
        check(Some(delete.clone()), None, Verdict::Decided(OnDelete::DeleteData));
        // A bucket: only when it holds objects.
        check(None, Some(false), Verdict::Empty);
        check(None, Some(true), Verdict::Undecided);
        check(Some(delete), Some(true), Verdict::Decided(OnDelete::DeleteData));
    }
}
