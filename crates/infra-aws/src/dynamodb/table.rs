use std::collections::{BTreeMap, BTreeSet};

use infra_core::{Input, OnDelete, ValidationContext};
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::{KmsKeyArn, TableArn, TableName, TableStreamArn};

/// The type of a key attribute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttributeType {
    /// A string.
    #[default]
    S,
    /// A number.
    N,
    /// Binary.
    B,
}

/// A key attribute: its name and type (the table's attribute definitions
/// are made from the keys of the table and its indexes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyAttribute {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: AttributeType,
}

impl KeyAttribute {
    /// A string key: `KeyAttribute::string("LockID")`.
    pub fn string(name: &str) -> Self {
        KeyAttribute { name: name.to_owned(), kind: AttributeType::S }
    }
    /// A number key.
    pub fn number(name: &str) -> Self {
        KeyAttribute { name: name.to_owned(), kind: AttributeType::N }
    }
    /// A binary key.
    pub fn binary(name: &str) -> Self {
        KeyAttribute { name: name.to_owned(), kind: AttributeType::B }
    }
}

/// How reads and writes are paid for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BillingMode {
    /// On demand (`PAY_PER_REQUEST`).
    #[default]
    #[serde(rename = "PAY_PER_REQUEST")]
    PayPerRequest,
    /// Provisioned capacity (`read_capacity`, `write_capacity`).
    #[serde(rename = "PROVISIONED")]
    Provisioned,
}

/// Which attributes an index copies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProjectionType {
    #[default]
    All,
    KeysOnly,
    /// The keys and `non_key_attributes`.
    Include,
}

/// A global secondary index. Its keys and projection replace the index
/// (dropped, then built again), its capacity changes in place.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GlobalSecondaryIndex {
    /// 3–255 letters, digits, `_`, `-` and `.`.
    pub name: String,
    pub hash_key: KeyAttribute,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range_key: Option<KeyAttribute>,
    pub projection_type: ProjectionType,
    /// With `ProjectionType::Include` only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub non_key_attributes: Vec<String>,
    /// A provisioned table's index only (and then required).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_capacity: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_capacity: Option<i64>,
}

/// Encryption at rest with a customer managed KMS key. Unset, the table is
/// encrypted with a key DynamoDB owns (AWS's default). The key is required
/// here: the AWS managed key `aws/dynamodb` would read back as a key the
/// declaration does not name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TableEncryption {
    pub kms_key_arn: Input<KmsKeyArn>,
}

/// Items expire at the time (epoch seconds) in this attribute.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Ttl {
    pub attribute_name: String,
}

/// What a stream record holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamViewType {
    KeysOnly,
    NewImage,
    OldImage,
    #[default]
    NewAndOldImages,
}

/// The table's storage class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TableClass {
    /// The default, recorded as unset.
    #[default]
    Standard,
    StandardInfrequentAccess,
}

/// A DynamoDB table (`aws_dynamodb_table`). Its ID is its name, unique per
/// region. The name and the table's keys replace it (destroy first);
/// billing and capacity, indexes (one added or dropped per UpdateTable,
/// each waited for), the stream, encryption, the table class, deletion
/// protection, TTL (UpdateTimeToLive), point-in-time recovery
/// (UpdateContinuousBackups) and tags change in place. It is ready when
/// the table and every index are `ACTIVE`; a delete waits until it is gone.
///
/// **The items are data.** Deleting or replacing a table that holds items
/// (the `holds_items` output: one Scan of one item at every refresh) is
/// refused until `on_delete` says what happens:
/// `OnDelete::FinalSnapshot(name)` takes an on-demand backup of that name
/// (and waits until it is available) before the delete,
/// `OnDelete::DeleteData` deletes the items with the table. An empty table
/// is deleted without a decision.
///
/// Outputs: `table.id()` (`TableName`), `table.arn()`, `table.stream_arn()`
/// and `table.stream_label()` (empty without a stream), and
/// `table.holds_items()`.
///
/// # Example
///
/// The state backend's lock table:
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::dynamodb::{KeyAttribute, Table};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let locks = stack.add("locks", Table {
///     name: "infra-locks".into(),
///     hash_key: KeyAttribute::string("LockID"),
///     point_in_time_recovery: true,
///     ..Default::default()
/// });
/// let _arn: Output<infra::aws::ids::TableArn> = locks.arn();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:dynamodb:Table",
    outputs(id: TableName, arn: TableArn, stream_arn: TableStreamArn, stream_label: String, holds_items: bool),
    replace = "delete_before_create",
    validate = validate_table,
    validate_type = crate::rules::unique,
    normalise = canonical,
    keeps_data = "on_delete",
    keeps_data_when = "holds_items"
)]
pub struct Table {
    #[resource(force_new)]
    pub name: String,
    /// The partition key.
    #[resource(force_new)]
    pub hash_key: KeyAttribute,
    /// The sort key.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range_key: Option<KeyAttribute>,
    pub billing_mode: BillingMode,
    /// `Provisioned` only (and then required).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_capacity: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_capacity: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub global_secondary_indexes: Vec<GlobalSecondaryIndex>,
    pub point_in_time_recovery: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_side_encryption: Option<TableEncryption>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Ttl>,
    /// A stream of item changes, with what each record holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamViewType>,
    pub deletion_protection_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_class: Option<TableClass>,
    /// What deleting the table does with its items (see above).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<OnDelete>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A table's, an index's or a backup's name: 3–255 letters, digits, `_`,
/// `-` and `.`.
fn check_name(ctx: &mut ValidationContext<'_>, field: &str, what: &str, name: &str) {
    let ok = (3..=255).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if !ok {
        ctx.error(field, format!("{name:?}: a {what} name is 3 to 255 letters, digits, _, - and ."));
    }
}

fn check_capacity(
    ctx: &mut ValidationContext<'_>,
    at: &str,
    provisioned: bool,
    read: Option<i64>,
    write: Option<i64>,
) {
    for (name, v) in [("read_capacity", read), ("write_capacity", write)] {
        let field = if at.is_empty() { name.to_owned() } else { format!("{at}.{name}") };
        match (provisioned, v) {
            (true, None) => ctx.error(&field, "a provisioned table needs read and write capacity"),
            (true, Some(n)) if n < 1 => ctx.error(&field, format!("{n}: at least 1")),
            (false, Some(_)) => ctx.error(&field, "capacity goes with billing_mode Provisioned only"),
            _ => {}
        }
    }
}

fn validate_table(t: &Table, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &t.tags);
    check_name(ctx, "name", "table", &t.name);
    let provisioned = t.billing_mode == BillingMode::Provisioned;
    check_capacity(ctx, "", provisioned, t.read_capacity, t.write_capacity);
    let mut types: BTreeMap<String, AttributeType> = BTreeMap::new();
    let mut key = |ctx: &mut ValidationContext<'_>, field: String, k: &KeyAttribute| {
        if k.name.is_empty() || k.name.len() > 255 {
            ctx.error(&format!("{field}.name"), "an attribute name is 1 to 255 characters");
        }
        if let Some(kind) = types.insert(k.name.clone(), k.kind).filter(|kind| *kind != k.kind) {
            ctx.error(
                &format!("{field}.type"),
                format!("{:?} is a key of type {kind:?} elsewhere: an attribute has one type", k.name),
            );
        }
    };
    key(ctx, "hash_key".into(), &t.hash_key);
    if let Some(r) = &t.range_key {
        key(ctx, "range_key".into(), r);
        if r.name == t.hash_key.name {
            ctx.error("range_key.name", "the sort key must differ from the partition key");
        }
    }
    if t.global_secondary_indexes.len() > 20 {
        ctx.error("global_secondary_indexes", "DynamoDB allows at most 20 global secondary indexes");
    }
    let mut names = BTreeSet::new();
    for (i, g) in t.global_secondary_indexes.iter().enumerate() {
        let at = format!("global_secondary_indexes[{i}]");
        check_name(ctx, &format!("{at}.name"), "index", &g.name);
        if !names.insert(g.name.as_str()) {
            ctx.error(&format!("{at}.name"), format!("{:?} is the name of an earlier index", g.name));
        }
        key(ctx, format!("{at}.hash_key"), &g.hash_key);
        if let Some(r) = &g.range_key {
            key(ctx, format!("{at}.range_key"), r);
        }
        match (g.projection_type, g.non_key_attributes.is_empty()) {
            (ProjectionType::Include, true) => {
                ctx.error(&format!("{at}.non_key_attributes"), "an INCLUDE projection names its attributes")
            }
            (ProjectionType::All | ProjectionType::KeysOnly, false) => ctx.error(
                &format!("{at}.non_key_attributes"),
                "attributes are named with projection_type Include only",
            ),
            _ => {}
        }
        check_capacity(ctx, &at, provisioned, g.read_capacity, g.write_capacity);
    }
    if let Some(ttl) = &t.ttl
        && (ttl.attribute_name.is_empty() || ttl.attribute_name.len() > 255)
    {
        ctx.error("ttl.attribute_name", "an attribute name is 1 to 255 characters");
    }
    if let Some(OnDelete::FinalSnapshot(name)) = &t.on_delete {
        check_name(ctx, "on_delete", "backup", name);
    }
}

fn canonical(t: &mut Table) {
    if t.table_class == Some(TableClass::Standard) {
        t.table_class = None;
    }
    t.global_secondary_indexes.sort_by(|a, b| a.name.cmp(&b.name));
    for g in &mut t.global_secondary_indexes {
        g.non_key_attributes.sort();
        g.non_key_attributes.dedup();
    }
}

#[cfg(feature = "dynamodb")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_dynamodb::types::{SseSpecification, SseType, StreamSpecification, TableClass as Class};
    use infra_core::OnDelete;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::super::sdk::{self, invalid};
    use super::{BillingMode, Table, TableOut};
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags};

    /// `aws:dynamodb:Table` through the DynamoDB API.
    #[derive(Debug)]
    pub(crate) struct TableKind;

    /// One UpdateTable on an `ACTIVE` table, waited for.
    async fn update_table(
        cx: &Ctx,
        name: &str,
        build: impl Fn(
            aws_sdk_dynamodb::operation::update_table::builders::UpdateTableFluentBuilder,
        ) -> Result<
            aws_sdk_dynamodb::operation::update_table::builders::UpdateTableFluentBuilder,
            ProviderError,
        >,
    ) -> Result<(), ProviderError> {
        sdk::wait_active(cx, name).await?;
        let call = build(cx.dynamodb().update_table().table_name(name))?;
        cx.send_in(Service::DynamoDb, "UpdateTable", Operation::Update, || call.clone().send()).await?;
        sdk::wait_active(cx, name).await
    }

    fn stream(view: Option<super::StreamViewType>) -> Result<StreamSpecification, ProviderError> {
        StreamSpecification::builder()
            .stream_enabled(view.is_some())
            .set_stream_view_type(view.map(sdk::view_type))
            .build()
            .map_err(|e| invalid("stream", e))
    }

    fn sse(d: &Table) -> SseSpecification {
        match &d.server_side_encryption {
            Some(e) => SseSpecification::builder()
                .enabled(true)
                .sse_type(SseType::Kms)
                .kms_master_key_id(e.kms_key_arn.id())
                .build(),
            None => SseSpecification::builder().enabled(false).build(),
        }
    }

    fn class(d: &Table) -> Class {
        match d.table_class {
            Some(super::TableClass::StandardInfrequentAccess) => Class::StandardInfrequentAccess,
            _ => Class::Standard,
        }
    }

    #[async_trait]
    impl Kind for TableKind {
        type Decl = Table;
        type Out = TableOut;
        const SERVICE: Service = Service::DynamoDb;
        const TIMINGS: Timings = Timings::secs(20, 20, 20, 5, 3600);
        const DELETE_WAITS: bool = true;
        const WRITE_ONLY: &'static [&'static str] = &["on_delete"];

        async fn list(&self, cx: &Ctx, by: Lookup<'_, Table>) -> Result<Vec<Seen<Self>>, ProviderError> {
            let names: Vec<&str> = match by {
                Lookup::Ids(ids) => ids.iter().map(String::as_str).collect(),
                // DynamoDB lists no tables by tag: a lost create is found
                // by name.
                Lookup::Tag(..) => return Ok(Vec::new()),
                Lookup::Key(d) => vec![d.name.as_str()],
            };
            let mut out = Vec::new();
            for r in futures_util::future::join_all(names.into_iter().map(|n| sdk::read(cx, n))).await {
                out.extend(r?);
            }
            Ok(out)
        }

        async fn create(&self, cx: &Ctx, d: &Table, tags: &Tags, _: &str) -> Result<String, ProviderError> {
            let indexes = d.global_secondary_indexes.iter().map(sdk::index).collect::<Result<Vec<_>, _>>()?;
            let mut call = cx
                .dynamodb()
                .create_table()
                .table_name(&d.name)
                .set_attribute_definitions(Some(sdk::definitions(sdk::key_attributes(d))?))
                .set_key_schema(Some(sdk::key_schema(&d.hash_key, d.range_key.as_ref())?))
                .billing_mode(sdk::billing(d.billing_mode))
                .set_provisioned_throughput(sdk::throughput(d.read_capacity, d.write_capacity)?)
                .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
                .deletion_protection_enabled(d.deletion_protection_enabled)
                .set_tags(Some(sdk::ddb_tags(tags)?));
            if d.stream.is_some() {
                call = call.stream_specification(stream(d.stream)?);
            }
            if d.server_side_encryption.is_some() {
                call = call.sse_specification(sse(d));
            }
            if d.table_class.is_some() {
                call = call.table_class(class(d));
            }
            cx.send_in(Service::DynamoDb, "CreateTable", Operation::Create, || call.clone().send()).await?;
            // TTL and recovery are set on the table once it is active.
            if let Some(ttl) = &d.ttl {
                sdk::wait_active(cx, &d.name).await?;
                sdk::set_ttl(cx, &d.name, &ttl.attribute_name, true, Operation::Create).await?;
            }
            if d.point_in_time_recovery {
                sdk::wait_active(cx, &d.name).await?;
                sdk::set_pitr(cx, &d.name, true, Operation::Create).await?;
            }
            Ok(d.name.clone())
        }

        async fn update(&self, cx: &Ctx, id: &str, c: Change<'_, Table>) -> Result<(), ProviderError> {
            let (before, d) = (c.before, c.after);
            let changed = |f: &str| c.fields.iter().any(|x| x == f);
            let billing = changed("billing_mode") || changed("read_capacity") || changed("write_capacity");
            let index_step = |step: sdk::IndexStep| {
                update_table(cx, id, move |call| {
                    let call = call.global_secondary_index_updates(step.update.clone());
                    Ok(match &step.definitions {
                        Some(defs) => call.set_attribute_definitions(Some(defs.clone())),
                        None => call,
                    })
                })
            };
            let (drops, builds): (Vec<_>, Vec<_>) = if changed("global_secondary_indexes") {
                let skip_capacity = billing && d.billing_mode == BillingMode::Provisioned;
                sdk::index_steps(before, d, skip_capacity)?
                    .into_iter()
                    .partition(|s| s.update.delete.is_some())
            } else {
                Default::default()
            };
            // Indexes dropped first: a billing change names every index
            // left.
            for step in drops {
                index_step(step).await?;
            }
            if billing {
                // Going provisioned names every remaining index's capacity
                // in the same call.
                let kept = sdk::kept_index_capacities(before, d)?;
                update_table(cx, id, |call| {
                    Ok(call
                        .billing_mode(sdk::billing(d.billing_mode))
                        .set_provisioned_throughput(sdk::throughput(d.read_capacity, d.write_capacity)?)
                        .set_global_secondary_index_updates((!kept.is_empty()).then(|| kept.clone())))
                })
                .await?;
            }
            if changed("stream") {
                if before.stream.is_some() {
                    update_table(cx, id, |call| Ok(call.stream_specification(stream(None)?))).await?;
                }
                if d.stream.is_some() {
                    update_table(cx, id, |call| Ok(call.stream_specification(stream(d.stream)?))).await?;
                }
            }
            if changed("server_side_encryption") {
                update_table(cx, id, |call| Ok(call.sse_specification(sse(d)))).await?;
            }
            if changed("table_class") {
                update_table(cx, id, |call| Ok(call.table_class(class(d)))).await?;
            }
            if changed("deletion_protection_enabled") {
                let on = d.deletion_protection_enabled;
                update_table(cx, id, |call| Ok(call.deletion_protection_enabled(on))).await?;
            }
            for step in builds {
                index_step(step).await?;
            }
            if changed("ttl") {
                if let Some(old) = &before.ttl {
                    sdk::set_ttl(cx, id, &old.attribute_name, false, Operation::Update).await?;
                }
                if let Some(new) = &d.ttl {
                    sdk::set_ttl(cx, id, &new.attribute_name, true, Operation::Update).await?;
                }
            }
            if changed("point_in_time_recovery") {
                sdk::set_pitr(cx, id, d.point_in_time_recovery, Operation::Update).await?;
            }
            // `on_delete` is infra's own: no call.
            Ok(())
        }

        async fn retag(
            &self,
            cx: &Ctx,
            id: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            let arn = sdk::arn_of(cx, id).await?;
            if !remove.is_empty() {
                let keys = remove.iter().map(|k| (*k).clone()).collect();
                let call = cx.dynamodb().untag_resource().resource_arn(&arn).set_tag_keys(Some(keys));
                cx.send_in(Service::DynamoDb, "UntagResource", Operation::Update, || call.clone().send())
                    .await?;
            }
            if !add.is_empty() {
                let tags = sdk::ddb_tags(add.iter().copied())?;
                let call = cx.dynamodb().tag_resource().resource_arn(&arn).set_tags(Some(tags));
                cx.send_in(Service::DynamoDb, "TagResource", Operation::Update, || call.clone().send())
                    .await?;
            }
            Ok(())
        }

        async fn delete(&self, cx: &Ctx, id: &str, d: &Table) -> Result<(), ProviderError> {
            if d.deletion_protection_enabled {
                return Err(ProviderError::new(
                    ErrorKind::Final,
                    format!(
                        "{id} has deletion protection: apply with deletion_protection_enabled false first, then delete"
                    ),
                )
                .with_code("DeletionProtectionEnabled"));
            }
            if let Some(OnDelete::FinalSnapshot(backup)) = &d.on_delete {
                sdk::final_backup(cx, id, backup).await?;
            }
            let call = cx.dynamodb().delete_table().table_name(id);
            cx.send_in(Service::DynamoDb, "DeleteTable", Operation::Delete, || call.clone().send())
                .await
                .map(drop)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_sets_read_back_in_one_form() {
        let index = |name: &str, attrs: &[&str]| GlobalSecondaryIndex {
            name: name.into(),
            hash_key: KeyAttribute::string("g"),
            projection_type: ProjectionType::Include,
            non_key_attributes: attrs.iter().map(|a| (*a).to_owned()).collect(),
            ..Default::default()
        };
        let mut t = Table {
            table_class: Some(TableClass::Standard),
            global_secondary_indexes: vec![index("b", &["y", "x", "x"]), index("a", &["z"])],
            ..Default::default()
        };
        canonical(&mut t);
        assert_eq!(t.table_class, None);
        assert_eq!(t.global_secondary_indexes, vec![index("a", &["z"]), index("b", &["x", "y"])]);
        let mut ia = Table { table_class: Some(TableClass::StandardInfrequentAccess), ..Default::default() };
        canonical(&mut ia);
        assert_eq!(ia.table_class, Some(TableClass::StandardInfrequentAccess));
    }
}
