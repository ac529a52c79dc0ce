//! `aws:route53:Record`: changes through the zone's batcher, readiness on
//! `GetChange`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, GeoLocation as AwsGeo, ResourceRecord, ResourceRecordSet,
    ResourceRecordSetFailover, ResourceRecordSetRegion, RrType,
};
use infra_core::{Input, Resource as _, Value};
use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

use super::{Alias, FailoverRole, GeoLocation, Record, RecordOut, RecordType, Routing};
use crate::ids::{DnsName, HealthCheckId, HostedZoneId};
use crate::kit::{Change as Diff, Ctx, Kind, Lookup, Seen, Service, Status, Tags};
use crate::route53::batch::Batcher;
use crate::route53::sdk::{canonical_name, change_pending, refused};

/// `aws:route53:Record`, with its instance's batcher and the changes it
/// made that may still be `PENDING`.
#[derive(Debug)]
pub(crate) struct RecordKind {
    cx: Arc<Ctx>,
    batcher: Arc<Batcher>,
    /// Record ID → its last change's ID, until `GetChange` says `INSYNC`
    /// (a new process has none: its records count as in sync).
    changes: Mutex<HashMap<String, String>>,
    /// Change ID → still pending, as last seen and when: the records of
    /// one batch share one change, so one `GetChange` answers them all
    /// (for [`SEEN_FOR`]; `INSYNC` for good).
    seen: Mutex<HashMap<String, (bool, tokio::time::Instant)>>,
}

/// How long a `PENDING` answer serves the other records of its change.
const SEEN_FOR: std::time::Duration = std::time::Duration::from_secs(2);

impl RecordKind {
    pub(crate) fn new(cx: Arc<Ctx>) -> Self {
        RecordKind { cx, batcher: Arc::default(), changes: Mutex::default(), seen: Mutex::default() }
    }

    fn changed(&self, id: &str, change: String) {
        self.changes.lock().unwrap_or_else(PoisonError::into_inner).insert(id.to_owned(), change);
    }

    fn change_of(&self, id: &str) -> Option<String> {
        self.changes.lock().unwrap_or_else(PoisonError::into_inner).get(id).cloned()
    }

    /// Whether `change` is still `PENDING`, one `GetChange` per change
    /// (and per [`SEEN_FOR`] while pending).
    async fn pending(&self, change: &str) -> Result<bool, ProviderError> {
        let known = self.seen.lock().unwrap_or_else(PoisonError::into_inner).get(change).copied();
        match known {
            Some((false, _)) => return Ok(false),
            Some((true, at)) if at.elapsed() < SEEN_FOR => return Ok(true),
            _ => {}
        }
        let pending = change_pending(&self.cx, change).await?;
        let now = tokio::time::Instant::now();
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).insert(change.to_owned(), (pending, now));
        Ok(pending)
    }

    fn synced(&self, id: &str) {
        self.changes.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
    }
}

/// What identifies a record: zone, name (canonical), type, set identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) zone: String,
    pub(crate) name: String,
    pub(crate) rtype: String,
    pub(crate) set: Option<String>,
}

impl Key {
    /// Terraform's ID: `<zone>_<name>_<type>[_<set identifier>]`.
    pub(crate) fn id(&self) -> String {
        let mut id = format!("{}_{}_{}", self.zone, self.name, self.rtype);
        if let Some(set) = &self.set {
            id.push('_');
            id.push_str(set);
        }
        id
    }

    /// The key of an ID. The name is lower case and the type upper case,
    /// so the type is the first `_<TYPE>` followed by the end or `_`.
    pub(crate) fn parse(id: &str) -> Option<Key> {
        let (zone, rest) = id.split_once('_')?;
        for (i, _) in rest.match_indices('_') {
            let after = &rest[i + 1..];
            let (t, set) = match after.split_once('_') {
                Some((t, s)) => (t, Some(s.to_owned())),
                None => (after, None),
            };
            if i > 0 && RecordType::parse(t).is_some() {
                return Some(Key {
                    zone: zone.to_owned(),
                    name: canonical_name(&rest[..i]),
                    rtype: t.to_owned(),
                    set,
                });
            }
        }
        None
    }

    fn of(d: &Record) -> Key {
        Key {
            zone: d.zone_id.id().to_owned(),
            name: canonical_name(d.name.as_str()),
            rtype: d.record_type.as_str().to_owned(),
            set: d.set_identifier.clone(),
        }
    }

    pub(crate) fn of_set(zone: &str, r: &ResourceRecordSet) -> Key {
        Key {
            zone: zone.to_owned(),
            name: canonical_name(r.name()),
            rtype: r.r#type().as_str().to_owned(),
            set: r.set_identifier().map(str::to_owned),
        }
    }
}

/// A zone's record sets: from `start`'s name and type (one page), or all.
pub(crate) async fn list_zone(
    cx: &Ctx,
    zone: &str,
    start: Option<&Key>,
) -> Result<Vec<ResourceRecordSet>, ProviderError> {
    let mut out = Vec::new();
    let mut next: Option<(String, RrType, Option<String>)> =
        start.map(|k| (format!("{}.", k.name), RrType::from(k.rtype.as_str()), None));
    loop {
        let mut call = cx.route53().list_resource_record_sets().hosted_zone_id(zone);
        if let Some((name, rtype, set)) = next.take() {
            call = call.start_record_name(name).start_record_type(rtype).set_start_record_identifier(set);
        }
        if start.is_some() {
            call = call.max_items(100);
        }
        let page = cx
            .send_in(Service::Route53, "ListResourceRecordSets", Operation::Read, || call.clone().send())
            .await?;
        out.extend(page.resource_record_sets().iter().cloned());
        if start.is_some() || !page.is_truncated() {
            return Ok(out);
        }
        match (page.next_record_name(), page.next_record_type()) {
            (Some(name), Some(rtype)) => {
                next =
                    Some((name.to_owned(), rtype.clone(), page.next_record_identifier().map(str::to_owned)))
            }
            _ => return Ok(out),
        }
    }
}

/// The record set of `key`, as AWS holds it.
pub(crate) async fn fetch(cx: &Ctx, key: &Key) -> Result<Option<ResourceRecordSet>, ProviderError> {
    let sets = match list_zone(cx, &key.zone, Some(key)).await {
        Ok(sets) => sets,
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(sets.into_iter().find(|r| Key::of_set(&key.zone, r) == *key))
}

fn routing(r: &ResourceRecordSet) -> Routing {
    if let Some(weight) = r.weight() {
        Routing::Weighted { weight }
    } else if let Some(region) = r.region() {
        Routing::Latency { region: region.as_str().to_owned() }
    } else if let Some(role) = r.failover() {
        let role = if *role == ResourceRecordSetFailover::Secondary {
            FailoverRole::Secondary
        } else {
            FailoverRole::Primary
        };
        Routing::Failover { role }
    } else if let Some(g) = r.geo_location() {
        Routing::Geolocation(GeoLocation {
            continent: g.continent_code().map(str::to_owned),
            country: g.country_code().map(str::to_owned),
            subdivision: g.subdivision_code().map(str::to_owned),
        })
    } else if r.multi_value_answer() == Some(true) {
        Routing::MultiValue
    } else {
        Routing::Simple
    }
}

/// A record set as its declaration would spell it; `name` is the recorded
/// spelling (unknown when reading by ID: the ID holds the name, so refresh
/// keeps what was declared, a final dot included).
fn seen(zone: &str, r: &ResourceRecordSet, name: Input<String>) -> Option<Seen<RecordKind>> {
    let record_type = RecordType::parse(r.r#type().as_str())?;
    let key = Key::of_set(zone, r);
    let decl = Record {
        zone_id: Input::Value(HostedZoneId::unchecked(zone)),
        name,
        record_type,
        ttl: r.ttl(),
        records: r.resource_records().iter().map(|v| Input::Value(v.value().to_owned())).collect(),
        alias: r.alias_target().map(|a| Alias {
            dns_name: Input::Value(DnsName::unchecked(canonical_name(a.dns_name()))),
            zone_id: Input::Value(HostedZoneId::unchecked(a.hosted_zone_id())),
            evaluate_target_health: a.evaluate_target_health(),
        }),
        routing: routing(r),
        set_identifier: r.set_identifier().map(str::to_owned),
        health_check_id: r.health_check_id().map(|h| Input::Value(HealthCheckId::unchecked(h))),
    };
    let out = RecordOut { fqdn: key.name.clone() };
    Some(Seen { id: key.id(), decl, out, tags: Tags::new(), status: Status::Ready })
}

fn unknown() -> Input<String> {
    Input::Expr(Value::Unknown)
}

/// The record set `d` declares.
fn record_set(d: &Record) -> Result<ResourceRecordSet, ProviderError> {
    let bad = |e: aws_smithy_types::error::operation::BuildError| refused(format!("record: {e}"));
    let mut b = ResourceRecordSet::builder()
        .name(format!("{}.", canonical_name(d.name.as_str())))
        .r#type(RrType::from(d.record_type.as_str()))
        .set_ttl(d.ttl)
        .set_set_identifier(d.set_identifier.clone())
        .set_health_check_id(d.health_check_id.as_ref().map(|h| h.id().to_owned()));
    if !d.records.is_empty() {
        let values = d.records.iter().map(|v| ResourceRecord::builder().value(v.as_str()).build());
        b = b.set_resource_records(Some(values.collect::<Result<Vec<_>, _>>().map_err(bad)?));
    }
    if let Some(a) = &d.alias {
        let target = AliasTarget::builder()
            .dns_name(a.dns_name.id())
            .hosted_zone_id(a.zone_id.id())
            .evaluate_target_health(a.evaluate_target_health)
            .build()
            .map_err(bad)?;
        b = b.alias_target(target);
    }
    b = match &d.routing {
        Routing::Simple => b,
        Routing::Weighted { weight } => b.weight(*weight),
        Routing::Latency { region } => b.region(ResourceRecordSetRegion::from(region.as_str())),
        Routing::Failover { role } => b.failover(match role {
            FailoverRole::Primary => ResourceRecordSetFailover::Primary,
            FailoverRole::Secondary => ResourceRecordSetFailover::Secondary,
        }),
        Routing::Geolocation(g) => b.geo_location(
            AwsGeo::builder()
                .set_continent_code(g.continent.clone())
                .set_country_code(g.country.clone())
                .set_subdivision_code(g.subdivision.clone())
                .build(),
        ),
        Routing::MultiValue => b.multi_value_answer(true),
    };
    b.build().map_err(bad)
}

fn change(action: ChangeAction, set: ResourceRecordSet) -> Result<Change, ProviderError> {
    Change::builder()
        .action(action)
        .resource_record_set(set)
        .build()
        .map_err(|e| refused(format!("change: {e}")))
}

/// True when two declarations hold the same record, whatever the
/// spelling of their names.
fn same(a: &Record, b: &Record) -> bool {
    let plain = |r: &Record| {
        let mut r = r.clone();
        r.name = Input::Value(String::new());
        r.normalise();
        infra_core::value::to_value(&r).ok()
    };
    plain(a) == plain(b)
}

#[async_trait]
impl Kind for RecordKind {
    type Decl = Record;
    type Out = RecordOut;
    const SERVICE: Service = Service::Route53;
    const TIMINGS: Timings = Timings::secs(40, 40, 2, 5, 30 * 60);
    const TAGGED: bool = false;
    const ADOPT_UNTAGGED: bool = true;

    /// A record's create, update or delete is a share of one batched
    /// `ChangeResourceRecordSets`: its own budget class, apart from the
    /// zones' and health checks' calls.
    fn category(op: Operation) -> Option<&'static str> {
        matches!(op, Operation::Create | Operation::Update | Operation::Delete)
            .then_some("ChangeResourceRecordSets")
    }

    async fn list(&self, cx: &Ctx, by: Lookup<'_, Record>) -> Result<Vec<Seen<Self>>, ProviderError> {
        match by {
            Lookup::Ids(ids) => {
                let mut zones: BTreeMap<String, Vec<Key>> = BTreeMap::new();
                for key in ids.iter().filter_map(|id| Key::parse(id)) {
                    zones.entry(key.zone.clone()).or_default().push(key);
                }
                // A few records: from each one's name; more: the whole zone
                // (a page per 300 records), once.
                let reads = zones.into_iter().map(|(zone, keys)| async move {
                    let sets = if keys.len() <= 3 {
                        let one = keys.iter().map(|k| fetch(cx, k));
                        let mut sets = Vec::new();
                        for r in futures_util::future::join_all(one).await {
                            sets.extend(r?);
                        }
                        sets
                    } else {
                        match list_zone(cx, &zone, None).await {
                            Ok(sets) => sets,
                            Err(e) if e.kind == ErrorKind::NotFound => Vec::new(),
                            Err(e) => return Err(e),
                        }
                    };
                    Ok::<_, ProviderError>(
                        sets.iter()
                            .filter(|r| keys.contains(&Key::of_set(&zone, r)))
                            .filter_map(|r| seen(&zone, r, unknown()))
                            .collect::<Vec<_>>(),
                    )
                });
                let mut out = Vec::new();
                for r in futures_util::future::join_all(reads).await {
                    out.extend(r?);
                }
                Ok(out)
            }
            // Records carry no tags.
            Lookup::Tag(..) => Ok(Vec::new()),
            // The record of this key, only when it holds what is declared:
            // anything else is not this stack's to adopt.
            Lookup::Key(d) => {
                let key = Key::of(d);
                let Some(found) = fetch(cx, &key).await? else { return Ok(Vec::new()) };
                Ok(seen(&key.zone, &found, d.name.clone()).filter(|s| same(&s.decl, d)).into_iter().collect())
            }
        }
    }

    async fn create(&self, _: &Ctx, d: &Record, _: &Tags, _: &str) -> Result<String, ProviderError> {
        let key = Key::of(d);
        let id = key.id();
        let create = change(ChangeAction::Create, record_set(d)?)?;
        match self.batcher.submit(&self.cx, &key.zone, create, Operation::Create).await {
            Ok(change) => {
                self.changed(&id, change);
                Ok(id)
            }
            Err(e) if e.code.as_deref() == Some("InvalidChangeBatch") => {
                let Some(existing) = fetch(&self.cx, &key).await? else { return Err(e) };
                match seen(&key.zone, &existing, d.name.clone()) {
                    // A repeated create (its answer lost): the one asked for.
                    Some(s) if same(&s.decl, d) => Ok(id),
                    _ => Err(ProviderError::new(
                        ErrorKind::Final,
                        format!(
                            "a {} record {} (set identifier {}) already exists in zone {} with other values: import it ({id}) to manage it, or remove it",
                            key.rtype,
                            key.name,
                            key.set.as_deref().unwrap_or("none"),
                            key.zone,
                        ),
                    )
                    .with_code("RecordAlreadyExists")),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn update(&self, _: &Ctx, id: &str, c: Diff<'_, Record>) -> Result<(), ProviderError> {
        let upsert = change(ChangeAction::Upsert, record_set(c.after)?)?;
        let zone = c.after.zone_id.id().to_owned();
        let change = self.batcher.submit(&self.cx, &zone, upsert, Operation::Update).await?;
        self.changed(id, change);
        Ok(())
    }

    /// Deletes with the values AWS holds (a DELETE must name them), read
    /// first: a record already gone is done (the emulator accepts the
    /// DELETE of a missing record, AWS refuses it).
    async fn delete(&self, _: &Ctx, id: &str, d: &Record) -> Result<(), ProviderError> {
        let key = Key::parse(id).unwrap_or_else(|| Key::of(d));
        let Some(current) = self.batcher.current(&self.cx, key.clone()).await? else { return Ok(()) };
        let delete = change(ChangeAction::Delete, current)?;
        match self.batcher.submit(&self.cx, &key.zone, delete, Operation::Delete).await {
            Ok(_) => {
                self.synced(id);
                Ok(())
            }
            Err(e) if e.code.as_deref() == Some("InvalidChangeBatch") => {
                // Changed or deleted meanwhile: gone is done, else again.
                match fetch(&self.cx, &key).await? {
                    None => Ok(()),
                    Some(_) => Err(ProviderError { kind: ErrorKind::EventualConsistency, ..e }),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The record, `PENDING` while the change that made or changed it is
    /// not on every Route 53 server yet.
    async fn poll(
        &self,
        cx: &Ctx,
        id: &str,
        _: Option<&Record>,
    ) -> Result<Option<Seen<Self>>, ProviderError> {
        let ids = [id.to_owned()];
        let Some(mut s) = self.list(cx, Lookup::Ids(&ids)).await?.into_iter().find(|s| s.id == id) else {
            return Ok(None);
        };
        if let Some(change) = self.change_of(id) {
            if self.pending(&change).await? {
                s.status = Status::Pending("PENDING".into());
            } else {
                self.synced(id);
            }
        }
        Ok(Some(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_terraforms_and_parse_back() {
        let k = Key::parse("Z123_app.example.com_A_us-east-1").unwrap();
        assert_eq!(
            k,
            Key {
                zone: "Z123".into(),
                name: "app.example.com".into(),
                rtype: "A".into(),
                set: Some("us-east-1".into())
            }
        );
        assert_eq!(k.id(), "Z123_app.example.com_A_us-east-1");
        let k = Key::parse("Z9__x1.app.example.com_CNAME").unwrap();
        assert_eq!((k.name.as_str(), k.rtype.as_str(), k.set), ("_x1.app.example.com", "CNAME", None));
        let k = Key::parse("Z9_*.example.com_TXT_a_b").unwrap();
        assert_eq!((k.name.as_str(), k.set.as_deref()), ("*.example.com", Some("a_b")));
        assert!(Key::parse("Z9_app.example.com").is_none());
    }

    fn record(name: &str, ip: &str) -> Record {
        Record {
            zone_id: Input::Value(HostedZoneId::unchecked("Z1")),
            name: name.into(),
            record_type: RecordType::A,
            ttl: Some(300),
            records: vec![ip.into()],
            ..Default::default()
        }
    }

    /// What a CREATE answered "already exists" adopts: the record asked
    /// for, whatever the spelling of its name; anything else is refused.
    #[test]
    fn only_the_record_asked_for_is_adopted() {
        assert!(same(&record("www.example.com", "192.0.2.1"), &record("WWW.example.com.", "192.0.2.1")));
        assert!(!same(&record("www.example.com", "192.0.2.1"), &record("www.example.com", "192.0.2.9")));
        let mut other_ttl = record("www.example.com", "192.0.2.1");
        other_ttl.ttl = Some(60);
        assert!(!same(&record("www.example.com", "192.0.2.1"), &other_ttl));
    }
}
