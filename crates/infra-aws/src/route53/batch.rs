//! The per-zone change batcher: the executor creates, updates and deletes
//! records one resource at a time, in parallel; Route 53 takes up to 1000
//! changes of one zone in one `ChangeResourceRecordSets` (and meters calls,
//! five a second per account). A batch of one zone stays open while its
//! changes keep coming: it is sent [`WINDOW`] after the last one arrived,
//! at most [`MAX_WAIT`] after the first, or at [`MAX_CHANGES`]; each
//! caller gets the batch's change ID. A batch is atomic: if
//! it fails as a whole with `InvalidChangeBatch`, each change is sent again
//! alone, so each caller gets its own answer (one bad record does not fail
//! its neighbours).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_sdk_route53::types::{Change, ChangeBatch, ResourceRecordSet};
use infra_engine::{ErrorKind, Operation, ProviderError};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::record::imp::{Key, fetch, list_zone};
use super::sdk::plain_change_id;
use crate::kit::{Ctx, Service, missing};

/// How long a batch stays open after its last change.
pub(crate) const WINDOW: Duration = Duration::from_millis(25);
/// How long a batch stays open after its first change, at most.
pub(crate) const MAX_WAIT: Duration = Duration::from_millis(500);
/// Route 53's limit of changes in one batch.
pub(crate) const MAX_CHANGES: usize = 1000;

type Reply = oneshot::Sender<Result<String, ProviderError>>;
type ReadReply = oneshot::Sender<Result<Option<ResourceRecordSet>, ProviderError>>;

#[derive(Debug)]
struct Item {
    change: Change,
    op: Operation,
    reply: Reply,
}

#[derive(Debug)]
struct Open<T> {
    generation: u64,
    first: Instant,
    last: Instant,
    items: Vec<T>,
}

type Queues<T> = Mutex<HashMap<String, Open<T>>>;

/// Open batches per zone of one provider instance: changes, and the reads
/// of the records a delete must name (a DELETE holds the current values).
#[derive(Debug, Default)]
pub(crate) struct Batcher {
    open: Queues<Item>,
    reads: Queues<(Key, ReadReply)>,
    generation: std::sync::atomic::AtomicU64,
}

impl Batcher {
    /// Adds `item` to `zone`'s open batch: the batch's generation when it
    /// is new (its caller starts its timer), the batch when it is full.
    fn enqueue<T>(&self, queues: &Queues<T>, zone: &str, item: T) -> (Option<u64>, Option<Vec<T>>) {
        let mut open = queues.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let batch = open.entry(zone.to_owned()).or_insert_with(|| Open {
            generation: self.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            first: now,
            last: now,
            items: Vec::new(),
        });
        batch.last = now;
        batch.items.push(item);
        let timer = (batch.items.len() == 1).then_some(batch.generation);
        let full = if batch.items.len() >= MAX_CHANGES { open.remove(zone).map(|b| b.items) } else { None };
        (timer, full)
    }

    /// Sends `change` to `zone` in the next batch; the change ID (without
    /// `/change/`) or this change's error.
    pub(crate) async fn submit(
        self: &Arc<Self>,
        cx: &Arc<Ctx>,
        zone: &str,
        change: Change,
        op: Operation,
    ) -> Result<String, ProviderError> {
        let (reply, answer) = oneshot::channel();
        match self.enqueue(&self.open, zone, Item { change, op, reply }) {
            (_, Some(full)) => {
                tokio::spawn(flush(cx.clone(), zone.to_owned(), full));
            }
            (Some(generation), None) => {
                let (this, cx, zone) = (self.clone(), cx.clone(), zone.to_owned());
                tokio::spawn(async move {
                    if let Some(items) = closed(&this.open, &zone, generation).await {
                        flush(cx, zone, items).await;
                    }
                });
            }
            (None, None) => {}
        }
        answer.await.unwrap_or_else(|_| {
            Err(ProviderError::new(ErrorKind::Transient, "the change batch was dropped before it was sent"))
        })
    }

    /// The record set of `key` as AWS holds it, read with the other reads
    /// of its zone arriving meanwhile: a few from their names, more with
    /// one listing of the zone.
    pub(crate) async fn current(
        self: &Arc<Self>,
        cx: &Arc<Ctx>,
        key: Key,
    ) -> Result<Option<ResourceRecordSet>, ProviderError> {
        let (reply, answer) = oneshot::channel();
        let zone = key.zone.clone();
        match self.enqueue(&self.reads, &zone, (key, reply)) {
            (_, Some(full)) => {
                tokio::spawn(read(cx.clone(), zone, full));
            }
            (Some(generation), None) => {
                let (this, cx) = (self.clone(), cx.clone());
                tokio::spawn(async move {
                    if let Some(items) = closed(&this.reads, &zone, generation).await {
                        read(cx, zone, items).await;
                    }
                });
            }
            (None, None) => {}
        }
        answer.await.unwrap_or_else(|_| {
            Err(ProviderError::new(ErrorKind::Transient, "the read batch was dropped before it was sent"))
        })
    }
}

/// Waits until `zone`'s batch `generation` closes ([`WINDOW`] after its
/// last item, at most [`MAX_WAIT`] after its first) and takes it; `None`
/// when it was taken already (full).
async fn closed<T>(queues: &Queues<T>, zone: &str, generation: u64) -> Option<Vec<T>> {
    let mut wake = Instant::now() + WINDOW;
    loop {
        tokio::time::sleep_until(wake).await;
        let mut open = queues.lock().unwrap_or_else(PoisonError::into_inner);
        match open.get(zone) {
            Some(b) if b.generation == generation => {
                let until = (b.last + WINDOW).min(b.first + MAX_WAIT);
                if until > Instant::now() {
                    wake = until;
                    continue;
                }
                return open.remove(zone).map(|b| b.items);
            }
            _ => return None,
        }
    }
}

/// Answers a batch of reads of one zone.
async fn read(cx: Arc<Ctx>, zone: String, items: Vec<(Key, ReadReply)>) {
    if items.len() <= 3 {
        let reads = items.into_iter().map(|(key, reply)| {
            let cx = cx.clone();
            async move {
                let _ = reply.send(fetch(&cx, &key).await);
            }
        });
        futures_util::future::join_all(reads).await;
        return;
    }
    match list_zone(&cx, &zone, None).await {
        Ok(sets) => {
            for (key, reply) in items {
                let _ = reply.send(Ok(sets.iter().find(|r| Key::of_set(&zone, r) == key).cloned()));
            }
        }
        Err(e) if e.kind == ErrorKind::NotFound => {
            for (_, reply) in items {
                let _ = reply.send(Ok(None));
            }
        }
        Err(e) => {
            for (_, reply) in items {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

/// Sends one batch; on `InvalidChangeBatch`, each change alone.
async fn flush(cx: Arc<Ctx>, zone: String, items: Vec<Item>) {
    if items.is_empty() {
        return;
    }
    let changes: Vec<Change> = items.iter().map(|i| i.change.clone()).collect();
    let op = if items.iter().all(|i| i.op == items[0].op) { items[0].op } else { Operation::Update };
    match send(&cx, &zone, changes, op).await {
        Ok(id) => {
            for i in items {
                let _ = i.reply.send(Ok(id.clone()));
            }
        }
        Err(e) if items.len() > 1 && e.code.as_deref() == Some("InvalidChangeBatch") => {
            for i in items {
                let alone = send(&cx, &zone, vec![i.change], i.op).await;
                let _ = i.reply.send(alone);
            }
        }
        Err(e) => {
            for i in items {
                let _ = i.reply.send(Err(e.clone()));
            }
        }
    }
}

/// One `ChangeResourceRecordSets`.
async fn send(cx: &Ctx, zone: &str, changes: Vec<Change>, op: Operation) -> Result<String, ProviderError> {
    let batch = ChangeBatch::builder().set_changes(Some(changes)).build().map_err(|e| {
        ProviderError::new(ErrorKind::Final, format!("change batch: {e}")).with_code("InvalidInput")
    })?;
    let call = cx.route53().change_resource_record_sets().hosted_zone_id(zone).change_batch(batch);
    let out = cx.send_in(Service::Route53, "ChangeResourceRecordSets", op, || call.clone().send()).await?;
    let id = out.change_info().map(|c| plain_change_id(c.id())).filter(|id| !id.is_empty());
    id.ok_or_else(|| missing("ChangeInfo.Id"))
}
