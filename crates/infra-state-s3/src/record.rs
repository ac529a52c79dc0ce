//! The DynamoDB item kept per stack: the lock (holder, lease, fencing
//! counter) and the commit record of the current state (which S3 object
//! version it is, its digest, serial and lineage, and the history).
//!
//! | attribute | type | meaning |
//! |---|---|---|
//! | `LockID` | S | partition key: `<bucket>/<object key>` |
//! | `fence` | N | fencing counter, +1 on every acquisition; never reset |
//! | `holder` | S | lock ID of the holder; absent when unlocked |
//! | `info` | S | the holder's `LockInfo` as JSON |
//! | `heartbeat` | N | +1 on every lease renewal |
//! | `expires_ms` | N | holder's clock, ms since the epoch: lease end |
//! | `lease_ms` | N | the holder's lease length |
//! | `version_id` | S | S3 version ID of the committed state object |
//! | `etag` | S | its ETag |
//! | `digest` | S | the committed version's digest (`StateVersion::digest`): the SHA-256 of the state object's encoding, or with a journal, the chain digest of its last entry |
//! | `base_digest` | S | SHA-256 of the state object's encoding, when a journal follows it (absent: `digest`) |
//! | `journal` | L of S | S3 version IDs of the journal object (`<key>.journal`), oldest first: the deltas written since the state object, applied in order on read |
//! | `journal_bytes` | N | their total size |
//! | `serial` | N | the committed state's serial |
//! | `lineage` | S | the committed state's lineage |
//! | `size` | N | its size in bytes |
//! | `written_at` | S | when it was committed (RFC 3339) |
//! | `history` | L of M | earlier operations' final versions, oldest first |
//!
//! Item size stays small: `history` is trimmed to the configured limit.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use infra_state::{Error, HistoryEntry, LockInfo, StateVersion};

pub(crate) const KEY: &str = "LockID";

/// A parsed item.
#[derive(Debug, Clone, Default)]
pub(crate) struct Record {
    pub fence: u64,
    pub holder: Option<Holder>,
    pub committed: Option<Committed>,
    pub history: Vec<HistoryEntry>,
}

/// The lock's current holder.
#[derive(Debug, Clone)]
pub(crate) struct Holder {
    pub id: String,
    pub info: LockInfo,
    pub heartbeat: u64,
    pub expires_ms: u64,
    pub lease_ms: u64,
}

/// The committed state.
#[derive(Debug, Clone)]
pub(crate) struct Committed {
    pub version_id: String,
    pub etag: String,
    pub digest: String,
    pub serial: u64,
    pub lineage: String,
    pub size: u64,
    pub written_at: String,
    /// SHA-256 of the state object's encoding (`digest` when no journal
    /// follows it).
    pub base_digest: String,
    /// The journal's versions since the state object, oldest first.
    pub journal: Vec<String>,
    /// Their total size in bytes.
    pub journal_bytes: u64,
}

impl Committed {
    pub fn version(&self) -> StateVersion {
        StateVersion { serial: self.serial, digest: self.digest.clone() }
    }

    pub fn history_entry(&self) -> HistoryEntry {
        HistoryEntry {
            version_id: self.version_id.clone(),
            serial: self.serial,
            written_at: self.written_at.clone(),
            size: self.size,
        }
    }
}

type Item = HashMap<String, AttributeValue>;

impl Record {
    /// Parses an item (`None`: no item, an empty record).
    pub fn parse(item: Option<&Item>, location: &str) -> Result<Record, Error> {
        let Some(item) = item else { return Ok(Record::default()) };
        let corrupt = |reason: String| Error::Corrupt { location: location.to_owned(), reason };
        let fence = num(item, "fence", location)?.unwrap_or(0);
        let holder = match text(item, "holder") {
            None => None,
            Some(id) => {
                let info_text =
                    text(item, "info").ok_or_else(|| corrupt("a lock holder without its info".to_owned()))?;
                let info: LockInfo = serde_json::from_str(info_text)
                    .map_err(|e| corrupt(format!("the lock holder's info is not valid: {e}")))?;
                Some(Holder {
                    id: id.to_owned(),
                    info,
                    heartbeat: num(item, "heartbeat", location)?.unwrap_or(0),
                    expires_ms: num(item, "expires_ms", location)?.unwrap_or(0),
                    lease_ms: num(item, "lease_ms", location)?.unwrap_or(0),
                })
            }
        };
        let committed = match text(item, "version_id") {
            None => None,
            Some(version_id) => {
                let field = |name: &str| {
                    text(item, name)
                        .map(str::to_owned)
                        .ok_or_else(|| corrupt(format!("the commit record lacks {name}")))
                };
                let digest = field("digest")?;
                let mut journal = Vec::new();
                if let Some(AttributeValue::L(entries)) = item.get("journal") {
                    for entry in entries {
                        let AttributeValue::S(v) = entry else {
                            return Err(corrupt("a journal entry is not a string".to_owned()));
                        };
                        journal.push(v.clone());
                    }
                }
                Some(Committed {
                    version_id: version_id.to_owned(),
                    etag: field("etag")?,
                    base_digest: text(item, "base_digest").map_or_else(|| digest.clone(), str::to_owned),
                    journal,
                    journal_bytes: num(item, "journal_bytes", location)?.unwrap_or(0),
                    digest,
                    serial: num(item, "serial", location)?
                        .ok_or_else(|| corrupt("the commit record lacks serial".to_owned()))?,
                    lineage: field("lineage")?,
                    size: num(item, "size", location)?.unwrap_or(0),
                    written_at: field("written_at")?,
                })
            }
        };
        let mut history = Vec::new();
        if let Some(AttributeValue::L(entries)) = item.get("history") {
            for entry in entries {
                let AttributeValue::M(m) = entry else {
                    return Err(corrupt("a history entry is not a map".to_owned()));
                };
                let field = |name: &str| {
                    text(m, name)
                        .map(str::to_owned)
                        .ok_or_else(|| corrupt(format!("a history entry lacks {name}")))
                };
                history.push(HistoryEntry {
                    version_id: field("version_id")?,
                    serial: num(m, "serial", location)?
                        .ok_or_else(|| corrupt("a history entry lacks serial".to_owned()))?,
                    written_at: field("written_at")?,
                    size: num(m, "size", location)?.unwrap_or(0),
                });
            }
        }
        Ok(Record { fence, holder, committed, history })
    }
}

/// The history list attribute value.
pub(crate) fn history_value(history: &[HistoryEntry]) -> AttributeValue {
    AttributeValue::L(
        history
            .iter()
            .map(|h| {
                AttributeValue::M(HashMap::from([
                    ("version_id".to_owned(), s(&h.version_id)),
                    ("serial".to_owned(), n(h.serial)),
                    ("written_at".to_owned(), s(&h.written_at)),
                    ("size".to_owned(), n(h.size)),
                ]))
            })
            .collect(),
    )
}

/// The journal list attribute value.
pub(crate) fn journal_value(journal: &[String]) -> AttributeValue {
    AttributeValue::L(journal.iter().map(|v| s(v)).collect())
}

pub(crate) fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

pub(crate) fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

fn num(item: &Item, name: &str, location: &str) -> Result<Option<u64>, Error> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::N(v)) => v.parse().map(Some).map_err(|e| Error::Corrupt {
            location: location.to_owned(),
            reason: format!("attribute {name} = {v:?} is not a whole number: {e}"),
        }),
        Some(other) => Err(Error::Corrupt {
            location: location.to_owned(),
            reason: format!("attribute {name} is not a number: {other:?}"),
        }),
    }
}
