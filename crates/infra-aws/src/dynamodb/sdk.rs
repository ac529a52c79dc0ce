//! The table's shapes to and from the SDK's, its read, and the waits an
//! UpdateTable needs (DynamoDB takes one index change at a time, on an
//! `ACTIVE` table).

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BackupStatus, BackupTypeFilter, CreateGlobalSecondaryIndexAction,
    DeleteGlobalSecondaryIndexAction, GlobalSecondaryIndexUpdate, IndexStatus, KeySchemaElement, KeyType,
    PointInTimeRecoverySpecification, Projection, ProvisionedThroughput, ScalarAttributeType, Select,
    TableDescription, TableStatus, Tag, TimeToLiveSpecification, UpdateGlobalSecondaryIndexAction,
};
use infra_core::Input;
use infra_engine::{ErrorKind, Operation, ProviderError};

use super::table::imp::TableKind;
use super::table::{
    AttributeType, BillingMode, GlobalSecondaryIndex, KeyAttribute, ProjectionType, StreamViewType, Table,
    TableClass, TableEncryption, TableOut, Ttl,
};
use crate::ids::{KmsKeyArn, TableArn, TableName, TableStreamArn};
use crate::kit::{Ctx, Seen, Service, Status, Tags, missing, settle, user_tags};

/// How long an UpdateTable, a new table or a backup is waited for.
const WAIT: Duration = Duration::from_secs(60 * 60);

pub(crate) fn invalid(field: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::new(ErrorKind::Final, format!("{field}: {e}")).with_code("InvalidInput")
}

pub(crate) fn ddb_tags<'a>(
    tags: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Result<Vec<Tag>, ProviderError> {
    tags.into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(|e| invalid("tags", e)))
        .collect()
}

// ----- shapes ----------------------------------------------------------------

pub(crate) fn view_type(v: StreamViewType) -> aws_sdk_dynamodb::types::StreamViewType {
    use aws_sdk_dynamodb::types::StreamViewType as V;
    match v {
        StreamViewType::KeysOnly => V::KeysOnly,
        StreamViewType::NewImage => V::NewImage,
        StreamViewType::OldImage => V::OldImage,
        StreamViewType::NewAndOldImages => V::NewAndOldImages,
    }
}

pub(crate) fn billing(b: BillingMode) -> aws_sdk_dynamodb::types::BillingMode {
    match b {
        BillingMode::PayPerRequest => aws_sdk_dynamodb::types::BillingMode::PayPerRequest,
        BillingMode::Provisioned => aws_sdk_dynamodb::types::BillingMode::Provisioned,
    }
}

pub(crate) fn throughput(
    read: Option<i64>,
    write: Option<i64>,
) -> Result<Option<ProvisionedThroughput>, ProviderError> {
    let (Some(r), Some(w)) = (read, write) else { return Ok(None) };
    ProvisionedThroughput::builder()
        .read_capacity_units(r)
        .write_capacity_units(w)
        .build()
        .map(Some)
        .map_err(|e| invalid("capacity", e))
}

pub(crate) fn definitions<'a>(
    keys: impl IntoIterator<Item = &'a KeyAttribute>,
) -> Result<Vec<AttributeDefinition>, ProviderError> {
    keys.into_iter()
        .map(|k| {
            let t = match k.kind {
                AttributeType::S => ScalarAttributeType::S,
                AttributeType::N => ScalarAttributeType::N,
                AttributeType::B => ScalarAttributeType::B,
            };
            AttributeDefinition::builder()
                .attribute_name(&k.name)
                .attribute_type(t)
                .build()
                .map_err(|e| invalid("key", e))
        })
        .collect()
}

/// Every key attribute of the table and its indexes, once each.
pub(crate) fn key_attributes(t: &Table) -> Vec<&KeyAttribute> {
    let mut seen = std::collections::BTreeSet::new();
    let keys = std::iter::once(&t.hash_key).chain(&t.range_key).chain(
        t.global_secondary_indexes.iter().flat_map(|g| std::iter::once(&g.hash_key).chain(&g.range_key)),
    );
    keys.filter(|k| seen.insert(k.name.as_str())).collect()
}

pub(crate) fn key_schema(
    hash: &KeyAttribute,
    range: Option<&KeyAttribute>,
) -> Result<Vec<KeySchemaElement>, ProviderError> {
    std::iter::once((hash, KeyType::Hash))
        .chain(range.map(|r| (r, KeyType::Range)))
        .map(|(k, t)| {
            KeySchemaElement::builder()
                .attribute_name(&k.name)
                .key_type(t)
                .build()
                .map_err(|e| invalid("key", e))
        })
        .collect()
}

fn projection(g: &GlobalSecondaryIndex) -> Projection {
    let t = match g.projection_type {
        ProjectionType::All => aws_sdk_dynamodb::types::ProjectionType::All,
        ProjectionType::KeysOnly => aws_sdk_dynamodb::types::ProjectionType::KeysOnly,
        ProjectionType::Include => aws_sdk_dynamodb::types::ProjectionType::Include,
    };
    let attrs = (!g.non_key_attributes.is_empty()).then(|| g.non_key_attributes.clone());
    Projection::builder().projection_type(t).set_non_key_attributes(attrs).build()
}

pub(crate) fn index(
    g: &GlobalSecondaryIndex,
) -> Result<aws_sdk_dynamodb::types::GlobalSecondaryIndex, ProviderError> {
    aws_sdk_dynamodb::types::GlobalSecondaryIndex::builder()
        .index_name(&g.name)
        .set_key_schema(Some(key_schema(&g.hash_key, g.range_key.as_ref())?))
        .projection(projection(g))
        .set_provisioned_throughput(throughput(g.read_capacity, g.write_capacity)?)
        .build()
        .map_err(|e| invalid("global_secondary_indexes", e))
}

/// True when the index must be built again to become `to`: its keys or
/// projection differ.
fn redefined(from: &GlobalSecondaryIndex, to: &GlobalSecondaryIndex) -> bool {
    from.hash_key != to.hash_key
        || from.range_key != to.range_key
        || from.projection_type != to.projection_type
        || from.non_key_attributes != to.non_key_attributes
}

fn capacity_update(g: &GlobalSecondaryIndex) -> Result<Option<GlobalSecondaryIndexUpdate>, ProviderError> {
    let Some(t) = throughput(g.read_capacity, g.write_capacity)? else { return Ok(None) };
    let action = UpdateGlobalSecondaryIndexAction::builder()
        .index_name(&g.name)
        .provisioned_throughput(t)
        .build()
        .map_err(|e| invalid("global_secondary_indexes", e))?;
    Ok(Some(GlobalSecondaryIndexUpdate::builder().update(action).build()))
}

/// The capacity of every index kept from `before` to `after` (for the
/// UpdateTable that makes a table provisioned, which must name them).
pub(crate) fn kept_index_capacities(
    before: &Table,
    after: &Table,
) -> Result<Vec<GlobalSecondaryIndexUpdate>, ProviderError> {
    if after.billing_mode != BillingMode::Provisioned {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for g in &after.global_secondary_indexes {
        if before.global_secondary_indexes.iter().any(|b| b.name == g.name && !redefined(b, g)) {
            out.extend(capacity_update(g)?);
        }
    }
    Ok(out)
}

/// One UpdateTable of the indexes: its index update, and the attribute
/// definitions a new index's keys need.
#[derive(Debug, Clone)]
pub(crate) struct IndexStep {
    pub update: GlobalSecondaryIndexUpdate,
    pub definitions: Option<Vec<AttributeDefinition>>,
}

/// The index changes from `before` to `after`, one per UpdateTable:
/// drops (an index gone, or redefined), then creations, then capacity
/// changes (unless the billing change already made them).
pub(crate) fn index_steps(
    before: &Table,
    after: &Table,
    skip_capacity: bool,
) -> Result<Vec<IndexStep>, ProviderError> {
    let find = |t: &Table, name: &str| t.global_secondary_indexes.iter().find(|g| g.name == name).cloned();
    let mut steps = Vec::new();
    for b in &before.global_secondary_indexes {
        if find(after, &b.name).is_none_or(|a| redefined(b, &a)) {
            let action = DeleteGlobalSecondaryIndexAction::builder()
                .index_name(&b.name)
                .build()
                .map_err(|e| invalid("global_secondary_indexes", e))?;
            steps.push(IndexStep {
                update: GlobalSecondaryIndexUpdate::builder().delete(action).build(),
                definitions: None,
            });
        }
    }
    // The attribute definitions name the keys of the table and of every
    // index there is once the step is made (DynamoDB takes the list whole).
    let keys = |g: &GlobalSecondaryIndex| std::iter::once(g.hash_key.clone()).chain(g.range_key.clone());
    let mut present: Vec<KeyAttribute> =
        std::iter::once(after.hash_key.clone()).chain(after.range_key.clone()).collect();
    for a in &after.global_secondary_indexes {
        if find(before, &a.name).is_some_and(|b| !redefined(&b, a)) {
            present.extend(keys(a));
        }
    }
    for a in &after.global_secondary_indexes {
        if find(before, &a.name).is_none_or(|b| redefined(&b, a)) {
            let action = CreateGlobalSecondaryIndexAction::builder()
                .index_name(&a.name)
                .set_key_schema(Some(key_schema(&a.hash_key, a.range_key.as_ref())?))
                .projection(projection(a))
                .set_provisioned_throughput(throughput(a.read_capacity, a.write_capacity)?)
                .build()
                .map_err(|e| invalid("global_secondary_indexes", e))?;
            present.extend(keys(a));
            let mut seen = std::collections::BTreeSet::new();
            let defs = definitions(present.iter().filter(|k| seen.insert(k.name.as_str())))?;
            steps.push(IndexStep {
                update: GlobalSecondaryIndexUpdate::builder().create(action).build(),
                definitions: Some(defs),
            });
        } else if !skip_capacity
            && find(before, &a.name)
                .is_some_and(|b| (b.read_capacity, b.write_capacity) != (a.read_capacity, a.write_capacity))
            && let Some(update) = capacity_update(a)?
        {
            steps.push(IndexStep { update, definitions: None });
        }
    }
    Ok(steps)
}

// ----- reads and waits -------------------------------------------------------

/// The table's description; `None` when there is no such table.
pub(crate) async fn describe(cx: &Ctx, name: &str) -> Result<Option<TableDescription>, ProviderError> {
    let call = cx.dynamodb().describe_table().table_name(name);
    match cx.send_in(Service::DynamoDb, "DescribeTable", Operation::Read, || call.clone().send()).await {
        Ok(out) => Ok(out.table),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Where the table stands: ready when it and every index are `ACTIVE`.
fn status(t: &TableDescription) -> Status {
    match t.table_status() {
        Some(TableStatus::Active) => {
            match t.global_secondary_indexes().iter().find(|g| g.index_status() != Some(&IndexStatus::Active))
            {
                Some(g) => Status::Pending(format!(
                    "index {} {}",
                    g.index_name().unwrap_or_default(),
                    g.index_status().map_or("unknown", IndexStatus::as_str)
                )),
                None => Status::Ready,
            }
        }
        Some(TableStatus::Deleting) => Status::Deleting("DELETING".into()),
        Some(s) => Status::Pending(s.as_str().to_owned()),
        None => Status::Pending("unknown".into()),
    }
}

/// Waits until the table and its indexes are `ACTIVE` (DynamoDB refuses
/// an UpdateTable meanwhile), polling with a growing interval up to 15 s.
pub(crate) async fn wait_active(cx: &Ctx, name: &str) -> Result<(), ProviderError> {
    let started = std::time::Instant::now();
    let mut delay = Duration::from_secs(1);
    loop {
        let t = describe(cx, name).await?.ok_or_else(|| {
            ProviderError::new(ErrorKind::NotFound, format!("table {name} is gone"))
                .with_code("ResourceNotFoundException")
        })?;
        let s = status(&t);
        if s == Status::Ready {
            return Ok(());
        }
        if started.elapsed() > WAIT {
            return Err(ProviderError::new(
                ErrorKind::Final,
                format!("table {name} is still {s:?} after an hour"),
            )
            .with_code("WaitTimeout"));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(15));
    }
}

/// A subsidiary read of a table still being created may find nothing yet.
fn or_default<T: Default>(r: Result<T, ProviderError>, creating: bool) -> Result<T, ProviderError> {
    match r {
        Err(e) if creating && e.kind == ErrorKind::NotFound => Ok(T::default()),
        other => other,
    }
}

async fn pitr(cx: &Ctx, name: &str) -> Result<bool, ProviderError> {
    let call = cx.dynamodb().describe_continuous_backups().table_name(name);
    let out = cx
        .send_in(Service::DynamoDb, "DescribeContinuousBackups", Operation::Read, || call.clone().send())
        .await?;
    let status = out
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status());
    Ok(status.is_some_and(|s| s.as_str() == "ENABLED"))
}

async fn ttl(cx: &Ctx, name: &str) -> Result<Option<Ttl>, ProviderError> {
    let call = cx.dynamodb().describe_time_to_live().table_name(name);
    let out =
        cx.send_in(Service::DynamoDb, "DescribeTimeToLive", Operation::Read, || call.clone().send()).await?;
    let d = out.time_to_live_description();
    let on =
        d.and_then(|d| d.time_to_live_status()).is_some_and(|s| matches!(s.as_str(), "ENABLED" | "ENABLING"));
    Ok(d.and_then(|d| d.attribute_name()).filter(|_| on).map(|a| Ttl { attribute_name: a.to_owned() }))
}

async fn tags(cx: &Ctx, arn: &str) -> Result<Tags, ProviderError> {
    let tags = cx
        .paged(|next| {
            let call = cx.dynamodb().list_tags_of_resource().resource_arn(arn).set_next_token(next);
            async move {
                let out = cx
                    .send_in(Service::DynamoDb, "ListTagsOfResource", Operation::Read, || call.clone().send())
                    .await?;
                Ok((out.tags.unwrap_or_default(), out.next_token))
            }
        })
        .await?;
    Ok(tags.into_iter().map(|t| (t.key, t.value)).collect())
}

/// True when the table holds an item (a consistent Scan of one item).
async fn holds_items(cx: &Ctx, name: &str) -> Result<bool, ProviderError> {
    let call = cx.dynamodb().scan().table_name(name).limit(1).select(Select::Count).consistent_read(true);
    let out = cx.send_in(Service::DynamoDb, "Scan", Operation::Read, || call.clone().send()).await?;
    Ok(out.count() > 0)
}

fn key_of(t: &TableDescription, schema: &[KeySchemaElement], kind: KeyType) -> Option<KeyAttribute> {
    let name = schema.iter().find(|k| k.key_type() == &kind)?.attribute_name();
    let kind = match t.attribute_definitions().iter().find(|d| d.attribute_name() == name)?.attribute_type() {
        ScalarAttributeType::N => AttributeType::N,
        ScalarAttributeType::B => AttributeType::B,
        _ => AttributeType::S,
    };
    Some(KeyAttribute { name: name.to_owned(), kind })
}

/// The table as DynamoDB reports it: DescribeTable, then its recovery,
/// TTL, tags and whether it holds items, at once (DynamoDB has no batched
/// read: five calls per table).
pub(crate) async fn read(cx: &Ctx, name: &str) -> Result<Option<Seen<TableKind>>, ProviderError> {
    let Some(t) = describe(cx, name).await? else { return Ok(None) };
    let arn = t.table_arn().ok_or_else(|| missing("table ARN"))?.to_owned();
    let status = status(&t);
    let creating = t.table_status() == Some(&TableStatus::Creating);
    if let Status::Deleting(_) = status {
        let out = TableOut {
            id: TableName::unchecked(name),
            arn: TableArn::unchecked(&arn),
            stream_arn: TableStreamArn::unchecked(""),
            stream_label: String::new(),
            holds_items: false,
        };
        let decl = Table { name: name.to_owned(), ..Default::default() };
        return Ok(Some(Seen { id: name.to_owned(), decl, out, tags: Tags::new(), status }));
    }
    let (pitr, ttl, tags, holds) = tokio::join!(pitr(cx, name), ttl(cx, name), tags(cx, &arn), async {
        if creating { Ok(false) } else { holds_items(cx, name).await }
    });
    let tags = or_default(tags, creating)?;
    let provisioned = t.billing_mode_summary().and_then(|b| b.billing_mode()).map(|b| b.as_str())
        != Some("PAY_PER_REQUEST");
    let capacity = |p: Option<&aws_sdk_dynamodb::types::ProvisionedThroughputDescription>| {
        if provisioned {
            (p.and_then(|p| p.read_capacity_units()), p.and_then(|p| p.write_capacity_units()))
        } else {
            (None, None)
        }
    };
    let (read_capacity, write_capacity) = capacity(t.provisioned_throughput());
    let mut indexes = Vec::new();
    for g in t.global_secondary_indexes() {
        let projection = g.projection();
        let (read_capacity, write_capacity) = capacity(g.provisioned_throughput());
        indexes.push(GlobalSecondaryIndex {
            name: g.index_name().unwrap_or_default().to_owned(),
            hash_key: key_of(&t, g.key_schema(), KeyType::Hash).unwrap_or_default(),
            range_key: key_of(&t, g.key_schema(), KeyType::Range),
            projection_type: match projection.and_then(|p| p.projection_type()).map(|p| p.as_str()) {
                Some("KEYS_ONLY") => ProjectionType::KeysOnly,
                Some("INCLUDE") => ProjectionType::Include,
                _ => ProjectionType::All,
            },
            non_key_attributes: projection.map(|p| p.non_key_attributes().to_vec()).unwrap_or_default(),
            read_capacity,
            write_capacity,
        });
    }
    let stream = t.stream_specification().filter(|s| s.stream_enabled()).map(|s| {
        match s.stream_view_type().map(|v| v.as_str()) {
            Some("KEYS_ONLY") => StreamViewType::KeysOnly,
            Some("NEW_IMAGE") => StreamViewType::NewImage,
            Some("OLD_IMAGE") => StreamViewType::OldImage,
            _ => StreamViewType::NewAndOldImages,
        }
    });
    let sse = t
        .sse_description()
        .filter(|s| s.status().is_some_and(|s| matches!(s.as_str(), "ENABLED" | "ENABLING" | "UPDATING")))
        .and_then(|s| s.kms_master_key_arn())
        .map(|k| TableEncryption { kms_key_arn: Input::Value(KmsKeyArn::unchecked(k)) });
    let decl = Table {
        name: name.to_owned(),
        hash_key: key_of(&t, t.key_schema(), KeyType::Hash).unwrap_or_default(),
        range_key: key_of(&t, t.key_schema(), KeyType::Range),
        billing_mode: if provisioned { BillingMode::Provisioned } else { BillingMode::PayPerRequest },
        read_capacity,
        write_capacity,
        global_secondary_indexes: indexes,
        point_in_time_recovery: or_default(pitr, creating)?,
        server_side_encryption: sse,
        ttl: or_default(ttl, creating)?,
        stream,
        deletion_protection_enabled: t.deletion_protection_enabled().unwrap_or(false),
        table_class: t
            .table_class_summary()
            .and_then(|c| c.table_class())
            .filter(|c| c.as_str() == "STANDARD_INFREQUENT_ACCESS")
            .map(|_| TableClass::StandardInfrequentAccess),
        on_delete: None,
        tags: user_tags(&tags),
    };
    let (stream_arn, stream_label) = match stream {
        Some(_) => (t.latest_stream_arn().unwrap_or_default(), t.latest_stream_label().unwrap_or_default()),
        None => ("", ""),
    };
    let out = TableOut {
        id: TableName::unchecked(name),
        arn: TableArn::unchecked(&arn),
        stream_arn: TableStreamArn::unchecked(stream_arn),
        stream_label: stream_label.to_owned(),
        holds_items: holds?,
    };
    Ok(Some(Seen { id: name.to_owned(), decl, out, tags, status }))
}

pub(crate) async fn arn_of(cx: &Ctx, name: &str) -> Result<String, ProviderError> {
    let t = describe(cx, name).await?.ok_or_else(|| missing("table"))?;
    t.table_arn().map(str::to_owned).ok_or_else(|| missing("table ARN"))
}

// ----- follow-up settings ----------------------------------------------------

pub(crate) async fn set_ttl(
    cx: &Ctx,
    name: &str,
    attribute: &str,
    on: bool,
    op: Operation,
) -> Result<(), ProviderError> {
    let spec = TimeToLiveSpecification::builder()
        .attribute_name(attribute)
        .enabled(on)
        .build()
        .map_err(|e| invalid("ttl", e))?;
    let call = cx.dynamodb().update_time_to_live().table_name(name).time_to_live_specification(spec);
    settle(|| cx.send_in(Service::DynamoDb, "UpdateTimeToLive", op, || call.clone().send())).await.map(drop)
}

pub(crate) async fn set_pitr(cx: &Ctx, name: &str, on: bool, op: Operation) -> Result<(), ProviderError> {
    let spec = PointInTimeRecoverySpecification::builder()
        .point_in_time_recovery_enabled(on)
        .build()
        .map_err(|e| invalid("point_in_time_recovery", e))?;
    let call =
        cx.dynamodb().update_continuous_backups().table_name(name).point_in_time_recovery_specification(spec);
    settle(|| cx.send_in(Service::DynamoDb, "UpdateContinuousBackups", op, || call.clone().send()))
        .await
        .map(drop)
}

/// The on-demand backup `backup` of the table, made unless a backup of that
/// name exists already (a delete tried again), and waited for: DynamoDB
/// refuses to delete a table while its backup is being made.
pub(crate) async fn final_backup(cx: &Ctx, table: &str, backup: &str) -> Result<(), ProviderError> {
    let summaries = cx
        .paged(|next| {
            let call = cx
                .dynamodb()
                .list_backups()
                .table_name(table)
                .backup_type(BackupTypeFilter::User)
                .set_exclusive_start_backup_arn(next);
            async move {
                let out = cx
                    .send_in(Service::DynamoDb, "ListBackups", Operation::Delete, || call.clone().send())
                    .await?;
                Ok((out.backup_summaries.unwrap_or_default(), out.last_evaluated_backup_arn))
            }
        })
        .await?;
    let arn = match summaries.iter().find(|s| s.backup_name() == Some(backup)).and_then(|s| s.backup_arn()) {
        Some(arn) => arn.to_owned(),
        None => {
            let call = cx.dynamodb().create_backup().table_name(table).backup_name(backup);
            let out = cx
                .send_in(Service::DynamoDb, "CreateBackup", Operation::Delete, || call.clone().send())
                .await?;
            out.backup_details().map(|d| d.backup_arn().to_owned()).ok_or_else(|| missing("backup ARN"))?
        }
    };
    let started = std::time::Instant::now();
    let mut delay = Duration::from_secs(1);
    loop {
        let call = cx.dynamodb().describe_backup().backup_arn(&arn);
        let out =
            cx.send_in(Service::DynamoDb, "DescribeBackup", Operation::Read, || call.clone().send()).await?;
        let status =
            out.backup_description().and_then(|d| d.backup_details()).map(|d| d.backup_status().clone());
        match status {
            Some(BackupStatus::Available) => return Ok(()),
            Some(BackupStatus::Deleted) => {
                return Err(ProviderError::new(
                    ErrorKind::Final,
                    format!("the final backup {backup} was deleted"),
                )
                .with_code("BackupDeleted"));
            }
            _ if started.elapsed() > WAIT => {
                return Err(ProviderError::new(
                    ErrorKind::Final,
                    format!("the final backup {backup} is not available after an hour"),
                )
                .with_code("WaitTimeout"));
            }
            _ => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(15));
            }
        }
    }
}
