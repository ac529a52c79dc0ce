//! The resource kit: what every AWS resource type shares, so that a type
//! writes only what is specific to it.
//!
//! A type implements [`Kind`]: `list` (by IDs, by a tag, by its natural
//! key), `create`, `update` of the changed fields, `delete`, each on its
//! declaration's own Rust type (`Vpc`, read back from the resolved inputs)
//! and returning typed observations ([`Seen`]: the declaration as the cloud
//! reports it, the generated outputs struct, tags and status). [`Kit`] turns
//! a `Kind` into the engine's `ResourceProvider`; from the kit come call
//! counting and error mapping ([`Ctx::send`]), pagination ([`Ctx::paged`]),
//! batched `read`, `find` (token tag, then natural key, adopting only what is
//! this stack's), tags on update and the token tag, ARNs with the right
//! partition ([`Ctx::arn`]), readiness and delete polling, and
//! normalisation of every observation.
//!
//! See `docs/adding-a-resource.md`.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use infra_core::{Fields, Resource, Value};
use infra_engine::provider::{TAG_ADDRESS, TAG_STACK, TAG_TOKEN};
use infra_engine::{
    ApiClass, CreateRequest, DeleteRequest, Deletion, ErrorKind, FindRequest, Observed, Operation,
    PollRequest, ProviderError, ReadRequest, ReadResponse, Readiness, ResourceProvider, Timings,
    UpdateRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::sdk::Ctx;

mod query;
#[allow(unused_imports)] // used by the service features with lookups
pub(crate) use query::register_query;
pub use query::{Query, Reader};

/// Tags as a map.
pub type Tags = BTreeMap<String, String>;

/// The AWS services, each with its error table, tagging API and metering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Ec2,
    Iam,
    Elbv2,
    Ecs,
    AppAutoScaling,
    AutoScaling,
    Logs,
    Kms,
    SecretsManager,
    Acm,
    CloudWatch,
    Sns,
    Ecr,
    Sts,
    Route53,
    Rds,
    ElastiCache,
    S3,
    DynamoDb,
    CloudFront,
    Wafv2,
    Shield,
}

impl Service {
    /// The service's name in rate budgets and messages (`ec2`).
    pub fn name(self) -> &'static str {
        match self {
            Service::Ec2 => "ec2",
            Service::Iam => "iam",
            Service::Elbv2 => "elasticloadbalancing",
            Service::Ecs => "ecs",
            Service::AppAutoScaling => "application-autoscaling",
            Service::AutoScaling => "autoscaling",
            Service::Logs => "logs",
            Service::Kms => "kms",
            Service::SecretsManager => "secretsmanager",
            Service::Acm => "acm",
            Service::CloudWatch => "monitoring",
            Service::Sns => "sns",
            Service::Ecr => "ecr",
            Service::Sts => "sts",
            Service::Route53 => "route53",
            Service::Rds => "rds",
            Service::ElastiCache => "elasticache",
            Service::S3 => "s3",
            Service::DynamoDb => "dynamodb",
            Service::CloudFront => "cloudfront",
            Service::Wafv2 => "wafv2",
            Service::Shield => "shield",
        }
    }

    /// AWS meters the service's API rate per account (IAM, CloudFront,
    /// Route 53, WAF's CLOUDFRONT scope), not per region.
    pub fn per_account(self) -> bool {
        matches!(self, Service::Iam | Service::Route53 | Service::CloudFront | Service::Shield)
    }
}

/// How a type's objects are looked up.
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a, D> {
    /// By cloud IDs (a batched read).
    Ids(&'a [String]),
    /// By one tag (the token tag of a create whose outcome is unknown).
    Tag(&'a str, &'a str),
    /// By the declaration's natural key: for types that carry no tags, or
    /// whose tags the cloud may drop. Types without one return nothing.
    Key(&'a D),
}

/// Where an object stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Available.
    Ready,
    /// Not yet (`pending`, `modifying`, `deleting`): the cloud's word.
    Pending(String),
    /// It will never be ready; a read counts it absent (the plan makes a
    /// new one).
    Failed(String),
    /// Being deleted: a read counts it absent, a delete waits on.
    Deleting(String),
    /// Deleted, but still listed (`deleted` NAT gateways stay visible).
    Gone,
}

impl Status {
    /// True while the object counts as existing (not failed or going).
    pub fn live(&self) -> bool {
        matches!(self, Status::Ready | Status::Pending(_))
    }
}

/// What a create returned: the ID (the kit reads the object back), or the
/// object itself, built from the create's answers.
#[derive(Debug)]
pub enum Created<K: Kind + ?Sized> {
    Id(String),
    Seen(Seen<K>),
}

impl<K: Kind + ?Sized> Created<K> {
    /// The created object's ID (for a type's `create` written on its
    /// `create_seen`).
    pub fn into_id(self) -> String {
        match self {
            Created::Id(id) => id,
            Created::Seen(seen) => seen.id,
        }
    }
}

/// One object as the cloud reports it.
#[derive(Debug, Clone)]
pub struct Seen<K: Kind + ?Sized> {
    /// The cloud's ID (the resource's ID in state).
    pub id: String,
    /// The declaration as the cloud reports it (user tags only).
    pub decl: K::Decl,
    /// The outputs.
    pub out: K::Out,
    /// Every tag, the engine's included (for token and ownership checks).
    pub tags: Tags,
    pub status: Status,
}

impl<K: Kind + ?Sized> Seen<K> {
    /// An object that is available.
    pub fn ready(id: String, decl: K::Decl, out: K::Out, tags: Tags) -> Self {
        Seen { id, decl, out, tags, status: Status::Ready }
    }
}

/// An in-place update: the declaration as recorded and as wanted, and the
/// changed top-level fields (other than `tags`, which the kit syncs).
#[derive(Debug, Clone, Copy)]
pub struct Change<'a, D> {
    pub before: &'a D,
    pub after: &'a D,
    pub fields: &'a [String],
}

/// What a resource type implements. Everything else comes from [`Kit`].
#[async_trait]
pub trait Kind: fmt::Debug + Send + Sync + 'static {
    /// The declaration (`Vpc`), read back from resolved inputs.
    type Decl: Resource + DeserializeOwned + Clone + fmt::Debug + Send + Sync;
    /// The generated outputs struct (`VpcOut`).
    type Out: Serialize + Clone + fmt::Debug + Send + Sync;
    /// The service, for rate budgets and error mapping.
    const SERVICE: Service;
    /// The rate budget category of `op` when the service meters it apart
    /// (`CreateNatGateway`); `None`: the service's generic classes.
    fn category(op: Operation) -> Option<&'static str> {
        let _ = op;
        None
    }
    /// Typical timings (scheduling priority, poll interval, timeouts).
    const TIMINGS: Timings;
    /// The delete call returns before the object is gone: the engine waits
    /// for `Status::Gone` or absence (NAT gateways, attachments).
    const DELETE_WAITS: bool = false;
    /// An object found by natural key without the engine's tags may be
    /// adopted: true for types that carry no tags (routes, associations)
    /// or whose tags may be lost with a second call. Otherwise an untagged
    /// object with the same key is someone else's, and a create that
    /// collides with it fails, naming `import`.
    const ADOPT_UNTAGGED: bool = false;
    /// The type carries tags (the kit puts the engine's tags on an object
    /// it adopted untagged by natural key, so the next search finds it by
    /// token and the inventory lists it).
    const TAGGED: bool = true;
    /// Fields the cloud never reports (settings used only at create or
    /// delete, such as a secret's recovery window, or infra's own, such as
    /// an ECS service's `wait_for_steady_state`): every observation reports
    /// them as unknown, so refresh keeps what was recorded.
    const WRITE_ONLY: &'static [&'static str] = &[];

    /// Fields this observation could not read (a replication group's
    /// settings held by a member cluster the API did not describe, a
    /// window AWS picks when none is declared): reported unknown like
    /// [`Kind::WRITE_ONLY`], so refresh keeps what was recorded.
    fn unread(seen: &Seen<Self>) -> Vec<&'static str> {
        let _ = seen;
        Vec::new()
    }

    /// The objects matching `by`, in every state.
    async fn list(&self, cx: &Ctx, by: Lookup<'_, Self::Decl>) -> Result<Vec<Seen<Self>>, ProviderError>;

    /// Creates the object with `tags` (the user's and the engine's, token
    /// included; put them in the create call wherever the API takes them)
    /// and returns its ID. `token` is the idempotency token, for APIs that
    /// take one.
    async fn create(
        &self,
        cx: &Ctx,
        d: &Self::Decl,
        tags: &Tags,
        token: &str,
    ) -> Result<String, ProviderError>;

    /// Creates the object and, when the create's own answers give every
    /// output, the object as created — so the kit reads nothing back. The
    /// default calls [`Kind::create`] and lets the kit read the object.
    async fn create_seen(
        &self,
        cx: &Ctx,
        d: &Self::Decl,
        tags: &Tags,
        token: &str,
    ) -> Result<Created<Self>, ProviderError> {
        self.create(cx, d, tags, token).await.map(Created::Id)
    }

    /// Makes the object's user tags what the declaration says: `remove`
    /// these keys, then `add` these pairs (the engine's own tags are never
    /// in either). The default is EC2's `DeleteTags` / `CreateTags`; a
    /// service with a tagging call per type (IAM's `TagRole`) overrides it.
    async fn retag(
        &self,
        cx: &Ctx,
        id: &str,
        remove: &[&String],
        add: &[(&String, &String)],
    ) -> Result<(), ProviderError> {
        crate::sdk::retag(cx, Self::SERVICE, id, remove, add).await
    }

    /// Changes the changed fields in place.
    async fn update(&self, cx: &Ctx, id: &str, change: Change<'_, Self::Decl>) -> Result<(), ProviderError> {
        let _ = (cx, id, change);
        Ok(())
    }

    /// Deletes the object (see [`Kind::DELETE_WAITS`]).
    async fn delete(&self, cx: &Ctx, id: &str, d: &Self::Decl) -> Result<(), ProviderError>;

    /// Where a delete stands, asked after [`Kind::delete`] and then at
    /// every delete poll (with [`Kind::DELETE_WAITS`]). The default reads
    /// the object (`list`): gone when absent or `Status::Gone`, pending
    /// otherwise. A type whose delete goes in stages overrides it to take
    /// the next stage when the last one is done (a CloudFront distribution
    /// is disabled, deployed, then deleted).
    async fn poll_deleted(&self, cx: &Ctx, id: &str) -> Result<Deletion, ProviderError> {
        let ids = [id.to_owned()];
        let seen = self.list(cx, Lookup::Ids(&ids)).await?.into_iter().find(|s| s.id == id);
        Ok(match seen.map(|s| s.status) {
            None | Some(Status::Gone | Status::Failed(_)) => Deletion::Gone,
            Some(Status::Deleting(status) | Status::Pending(status)) => Deletion::Pending { status },
            Some(Status::Ready) => Deletion::Pending { status: "deleting".into() },
        })
    }

    /// The object as the engine's readiness poll sees it, given the
    /// declaration it was just created or updated from (`None` when the
    /// inputs are unknown). The default: as `list` reports it. A type whose
    /// wait is declared per resource (an ECS service's
    /// `wait_for_steady_state`) overrides it; `list` keeps reporting the
    /// object's own status, so a read never counts a slow rollout absent.
    async fn poll(
        &self,
        cx: &Ctx,
        id: &str,
        d: Option<&Self::Decl>,
    ) -> Result<Option<Seen<Self>>, ProviderError> {
        let _ = d;
        let ids = [id.to_owned()];
        Ok(self.list(cx, Lookup::Ids(&ids)).await?.into_iter().find(|s| s.id == id))
    }
}

/// A [`Kind`] as the engine's `ResourceProvider`.
#[derive(Debug)]
pub struct Kit<K> {
    cx: Arc<Ctx>,
    kind: K,
}

impl<K: Kind> Kit<K> {
    /// The provider of `kind` over the instance's shared context.
    pub fn new(cx: Arc<Ctx>, kind: K) -> Self {
        Kit { cx, kind }
    }

    async fn one(&self, id: &str) -> Result<Option<Seen<K>>, ProviderError> {
        let ids = [id.to_owned()];
        Ok(self.kind.list(&self.cx, Lookup::Ids(&ids)).await?.into_iter().find(|s| s.id == id))
    }

    /// The object just created, retried for a moment while the API does
    /// not show it yet.
    async fn fresh(&self, id: &str) -> Result<Seen<K>, ProviderError> {
        settle(|| async {
            self.one(id).await?.ok_or_else(|| {
                ProviderError::new(ErrorKind::EventualConsistency, format!("{id} is not visible yet"))
                    .with_code("NotVisibleYet")
            })
        })
        .await
    }
}

/// Registers `kind` in `instance` under its declaration's type name (every
/// service but EC2, which also lists its types in its inventory).
#[allow(dead_code)]
pub(crate) fn register<K: Kind>(instance: &mut infra_engine::ProviderInstance, ctx: &Arc<Ctx>, kind: K) {
    use infra_core::Resource as _;
    instance.register(K::Decl::SCHEMA.type_name, Arc::new(Kit::new(ctx.clone(), kind)));
}

/// Reads resolved inputs into the declaration's type.
pub fn decode<D: DeserializeOwned>(fields: &Fields) -> Result<D, ProviderError> {
    infra_core::value::from_fields(fields)
        .map_err(|e| ProviderError::new(ErrorKind::Final, format!("inputs: {e}")).with_code("InvalidInput"))
}

fn encode<T: Serialize>(v: &T) -> Result<Fields, ProviderError> {
    match infra_core::value::to_value(v) {
        Ok(Value::Map(m)) => Ok(m),
        Ok(_) => Ok(Fields::new()),
        Err(e) => {
            Err(ProviderError::new(ErrorKind::Final, format!("observation: {e}")).with_code("Internal"))
        }
    }
}

/// The user's tags of a resource: every tag but the engine's own.
pub fn user_tags(tags: &Tags) -> Tags {
    tags.iter().filter(|(k, _)| !k.starts_with("infra:")).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The `tags` input of resolved inputs.
fn tags_input(f: &Fields) -> Tags {
    match f.get("tags").map(Value::reveal) {
        Some(Value::Map(m)) => {
            m.into_iter().filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned()))).collect()
        }
        _ => Tags::new(),
    }
}

/// True when an object found by natural key may be adopted by the create
/// at `wanted`'s address: it carries this stack's and address's tags, or
/// none of the engine's when `untagged` (see [`Kind::ADOPT_UNTAGGED`]).
fn ours(tags: &Tags, wanted: &Tags, untagged: bool) -> bool {
    if !tags.contains_key(TAG_STACK) {
        return untagged;
    }
    let same = |k: &str| tags.get(k).is_none_or(|v| wanted.get(k) == Some(v));
    same(TAG_STACK) && same(TAG_ADDRESS)
}

/// Times an update reads the object again after a failed call.
const UPDATE_REREADS: u32 = 5;

/// Values AWS takes in one describe filter; a batched read of more IDs is
/// split (or, for a stack's own objects, read by its tag).
pub(crate) const IDS_PER_FILTER: usize = 200;

/// `read` over `ids` at most [`IDS_PER_FILTER`] at a time, all at once,
/// the answers in one list.
pub(crate) async fn by_filter_chunks<'a, T, F, Fut>(
    ids: &'a [String],
    read: F,
) -> Result<Vec<T>, ProviderError>
where
    F: Fn(&'a [String]) -> Fut,
    Fut: Future<Output = Result<Vec<T>, ProviderError>>,
{
    let mut out = Vec::new();
    for listed in futures_util::future::join_all(ids.chunks(IDS_PER_FILTER).map(read)).await {
        out.extend(listed?);
    }
    Ok(out)
}

impl<K: Kind> Kit<K> {
    /// One pass of an update: the type's own calls for the changed
    /// fields, then the tags.
    async fn update_once(
        &self,
        id: &str,
        before: &K::Decl,
        after: &K::Decl,
        changed: &[String],
        wanted: &Fields,
    ) -> Result<(), ProviderError> {
        let fields: Vec<String> = changed.iter().filter(|c| *c != "tags").cloned().collect();
        if !fields.is_empty() {
            let change = Change { before, after, fields: &fields };
            self.kind.update(&self.cx, id, change).await?;
        }
        if changed.iter().any(|c| c == "tags") {
            let have = self.one(id).await?.map(|s| s.tags).unwrap_or_default();
            sync_tags(&self.kind, &self.cx, id, &have, &tags_input(wanted)).await?;
        }
        Ok(())
    }

    fn observed(seen: Seen<K>) -> Result<Observed, ProviderError> {
        let unread = K::unread(&seen);
        let mut decl = seen.decl;
        decl.normalise();
        let mut inputs = encode(&decl)?;
        for field in K::WRITE_ONLY.iter().copied().chain(unread) {
            inputs.insert(field.to_owned(), Value::Unknown);
        }
        Ok(Observed { id: seen.id, inputs, outputs: encode(&seen.out)? })
    }
}

#[async_trait]
impl<K: Kind> ResourceProvider for Kit<K> {
    fn api_class(&self, op: Operation) -> ApiClass {
        let class = match K::category(op) {
            Some(category) => ApiClass::new(K::SERVICE.name(), category),
            None => ApiClass::generic(K::SERVICE.name(), op),
        };
        if K::SERVICE.per_account() { class.per_account() } else { class }
    }

    fn timings(&self) -> Timings {
        K::TIMINGS
    }

    async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
        let decl: K::Decl = decode(&req.inputs)?;
        let mut tags = tags_input(&req.inputs);
        tags.extend(req.tags.clone());
        match self.kind.create_seen(&self.cx, &decl, &tags, &req.token).await? {
            Created::Id(id) => Self::observed(self.fresh(&id).await?),
            Created::Seen(seen) => Self::observed(seen),
        }
    }

    async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
        if req.ids.is_empty() {
            return Ok(ReadResponse::default());
        }
        let asked: std::collections::BTreeSet<&String> = req.ids.iter().collect();
        let mut seen = Vec::new();
        // Many IDs of one stack: one listing by its tag (a page per
        // thousand), then by ID whatever that did not find (imported
        // objects may lack the tag).
        if let Some(stack) = req.stack.as_deref().filter(|_| K::TAGGED && req.ids.len() > IDS_PER_FILTER) {
            seen = self.kind.list(&self.cx, Lookup::Tag(TAG_STACK, stack)).await?;
            seen.retain(|s| asked.contains(&s.id));
        }
        let found: std::collections::BTreeSet<String> = seen.iter().map(|s| s.id.clone()).collect();
        let rest: Vec<String> = req.ids.iter().filter(|id| !found.contains(*id)).cloned().collect();
        seen.extend(by_filter_chunks(&rest, |ids| self.kind.list(&self.cx, Lookup::Ids(ids))).await?);
        let mut out = ReadResponse::default();
        for s in seen {
            if s.status.live() && asked.contains(&s.id) {
                out.found.insert(s.id.clone(), Self::observed(s)?);
            }
        }
        Ok(out)
    }

    async fn update(&self, req: UpdateRequest) -> Result<Fields, ProviderError> {
        let after: K::Decl = decode(&req.after)?;
        let mut before: K::Decl = decode(&req.before)?;
        let mut changed = req.changed.clone();
        let mut attempt = 0;
        // A failed call may have acted (a lost answer) or failed half-way:
        // read the object again and apply what still differs, rather than
        // repeating a call blindly.
        while let Err(e) = self.update_once(&req.id, &before, &after, &changed, &req.after).await {
            let again = matches!(
                e.kind,
                ErrorKind::Transient
                    | ErrorKind::Throttled
                    | ErrorKind::Conflict
                    | ErrorKind::EventualConsistency
                    | ErrorKind::Stale
            );
            if !again || attempt >= UPDATE_REREADS {
                return Err(e);
            }
            attempt += 1;
            tokio::time::sleep(call_backoff(attempt)).await;
            let Some(seen) = self.one(&req.id).await? else { return Err(e) };
            // Fields the cloud does not report keep their recorded value.
            let fresh: Fields = Self::observed(seen)?
                .inputs
                .into_iter()
                .filter_map(|(k, v)| match v {
                    Value::Unknown => req.before.get(&k).cloned().map(|b| (k, b)),
                    v => Some((k, v)),
                })
                .collect();
            changed = K::Decl::SCHEMA.changed_fields(&fresh, &req.after);
            before = decode(&fresh)?;
        }
        match self.one(&req.id).await? {
            Some(s) => Ok(Self::observed(s)?.outputs),
            None => Ok(Fields::new()),
        }
    }

    async fn delete(&self, req: DeleteRequest) -> Result<Deletion, ProviderError> {
        let decl: K::Decl = decode(&req.inputs)?;
        self.kind.delete(&self.cx, &req.id, &decl).await?;
        if !K::DELETE_WAITS {
            return Ok(Deletion::Gone);
        }
        self.poll_deleted(PollRequest::id(req.id)).await
    }

    async fn poll_deleted(&self, req: PollRequest) -> Result<Deletion, ProviderError> {
        match self.kind.poll_deleted(&self.cx, &req.id).await {
            Err(e) if e.kind == ErrorKind::NotFound => Ok(Deletion::Gone),
            other => other,
        }
    }

    async fn poll(&self, req: PollRequest) -> Result<Readiness, ProviderError> {
        let decl = if req.inputs.is_empty() { None } else { decode::<K::Decl>(&req.inputs).ok() };
        let Some(s) = self.kind.poll(&self.cx, &req.id, decl.as_ref()).await? else {
            return Ok(Readiness::Pending { status: "not visible yet".into() });
        };
        Ok(match s.status.clone() {
            Status::Ready => Readiness::Ready { outputs: Self::observed(s)?.outputs },
            Status::Pending(status) => Readiness::Pending { status },
            Status::Failed(message) => Readiness::Failed { message },
            Status::Deleting(status) => Readiness::Failed { message: format!("{} is {status}", req.id) },
            Status::Gone => Readiness::Failed { message: format!("{} was deleted", req.id) },
        })
    }

    async fn find(&self, req: FindRequest) -> Result<Option<Observed>, ProviderError> {
        let live = |s: &Seen<K>| s.status.live();
        // By token tag, checked again here: some endpoints ignore tag
        // filters.
        let by_tag = self.kind.list(&self.cx, Lookup::Tag(TAG_TOKEN, &req.token)).await?;
        if let Some(s) = by_tag
            .into_iter()
            .find(|s| live(s) && s.tags.get(TAG_TOKEN).map(String::as_str) == Some(&req.token))
        {
            return Self::observed(s).map(Some);
        }
        // By natural key, adopting only what is this stack's.
        if req.inputs.is_empty() {
            return Ok(None);
        }
        let Ok(decl) = decode::<K::Decl>(&req.inputs) else { return Ok(None) };
        let by_key = self.kind.list(&self.cx, Lookup::Key(&decl)).await?;
        let Some(found) = by_key.into_iter().find(|s| live(s) && ours(&s.tags, &req.tags, K::ADOPT_UNTAGGED))
        else {
            return Ok(None);
        };
        if K::TAGGED && !found.tags.contains_key(TAG_STACK) {
            let mut wanted = found.tags.clone();
            wanted.extend(req.tags.clone());
            sync_tags(&self.kind, &self.cx, &found.id, &found.tags, &wanted).await?;
        }
        Self::observed(found).map(Some)
    }
}

/// Makes an object's user tags equal `wanted` through the type's
/// [`Kind::retag`]; the engine's own tags (`infra:`) in `wanted` are put
/// on too, and never removed.
pub async fn sync_tags<K: Kind + ?Sized>(
    kind: &K,
    cx: &Ctx,
    id: &str,
    have: &Tags,
    wanted: &Tags,
) -> Result<(), ProviderError> {
    let remove: Vec<&String> =
        have.keys().filter(|k| !k.starts_with("infra:") && !wanted.contains_key(*k)).collect();
    let add: Vec<(&String, &String)> = wanted.iter().filter(|(k, v)| have.get(*k) != Some(v)).collect();
    if remove.is_empty() && add.is_empty() {
        return Ok(());
    }
    kind.retag(cx, id, &remove, &add).await
}

/// Runs a follow-up call made right after a create (an attribute, an
/// attachment, the first describe), retrying for a moment what eventual
/// consistency makes fail. Gives up after about 15 s with the last error.
pub async fn settle<T, F, Fut>(mut f: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let mut delay = std::time::Duration::from_millis(100);
    for _ in 0..8 {
        match f().await {
            Err(e) if e.kind == ErrorKind::EventualConsistency || e.kind == ErrorKind::NotFound => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(5));
            }
            other => return other,
        }
    }
    f().await
}

impl Ctx {
    /// One API call: counted under `name`, its error mapped through the
    /// error tables with the code and request ID kept. `op` says what the
    /// call is part of (a `NotFound` answering a create is eventual
    /// consistency; answering a delete, done).
    ///
    /// `call` builds the request; it is sent again, after a jittered
    /// backoff, while the answer is a throttle (AWS did not act on it) and,
    /// for reads, while the endpoint fails (a lost answer, a 5xx: a read
    /// has no effect to repeat). A mutating call that fails otherwise comes
    /// back: its caller reads the cloud again before anything is repeated.
    pub async fn send<T, E, F, Fut>(
        &self,
        name: &'static str,
        op: Operation,
        call: F,
    ) -> Result<T, ProviderError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.send_in(Service::Ec2, name, op, call).await
    }

    /// As [`Ctx::send`], for a call of `service` (metered under its name,
    /// per account when AWS meters it so).
    pub async fn send_in<T, E, F, Fut>(
        &self,
        service: Service,
        name: &'static str,
        op: Operation,
        call: F,
    ) -> Result<T, ProviderError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let mut attempt: u32 = 0;
        let meter = self.meter.get().map(|(budget, provider)| {
            let class = budget.config().class_of(service.name(), name, op.is_mutating());
            // A service metered per account: the executor's key for it.
            if service.per_account() {
                (
                    budget,
                    infra_engine::BudgetKey { provider: self.account.clone(), class: class.per_account() },
                )
            } else {
                (budget, infra_engine::BudgetKey { provider: provider.clone(), class })
            }
        });
        loop {
            self.stats.count(name);
            if let Some((budget, key)) = &meter {
                budget.record_call(key);
            }
            let e = match call().await {
                Ok(v) => return Ok(v),
                Err(e) => crate::sdk::sdk_error(e, op),
            };
            let again = match e.kind {
                ErrorKind::Throttled => attempt < CALL_RETRIES_THROTTLED,
                ErrorKind::Transient => op == Operation::Read && attempt < CALL_RETRIES_READ,
                _ => false,
            };
            if !again {
                return Err(e);
            }
            self.stats.retried(name, e.kind == ErrorKind::Throttled);
            if e.kind == ErrorKind::Throttled
                && let Some((budget, key)) = &meter
            {
                budget.throttled(key);
            }
            tokio::time::sleep(call_backoff(attempt)).await;
            attempt += 1;
        }
    }

    /// Every item of a paginated call: `page(next_token)` returns one
    /// page's items and the next token.
    pub async fn paged<T, F, Fut>(&self, mut page: F) -> Result<Vec<T>, ProviderError>
    where
        F: FnMut(Option<String>) -> Fut,
        Fut: Future<Output = Result<(Vec<T>, Option<String>), ProviderError>>,
    {
        let mut out = Vec::new();
        let mut next = None;
        loop {
            let (items, token) = page(next.take()).await?;
            out.extend(items);
            match token {
                Some(t) if !t.is_empty() => next = Some(t),
                _ => return Ok(out),
            }
        }
    }

    /// An ARN in this instance's region and partition:
    /// `arn:<partition>:<service>:<region>:<account>:<resource>`.
    pub fn arn(&self, service: &str, account: &str, resource: &str) -> String {
        let partition = if self.region.starts_with("cn-") {
            "aws-cn"
        } else if self.region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        };
        format!("arn:{partition}:{service}:{}:{account}:{resource}", self.region)
    }
}

/// Throttled answers a call outlasts before the throttle reaches the
/// executor (which paces the whole run down and retries the step).
const CALL_RETRIES_THROTTLED: u32 = 12;
/// Failed reads (lost answers, 5xx) a read call outlasts.
const CALL_RETRIES_READ: u32 = 8;

/// Full-jitter exponential backoff: up to 50 ms × 2^attempt, at most 5 s.
fn call_backoff(attempt: u32) -> std::time::Duration {
    use std::hash::{BuildHasher, RandomState};
    let cap = 50u64.saturating_mul(1u64 << attempt.min(10)).min(5_000);
    let jitter = RandomState::new().hash_one(attempt) % cap.max(1);
    std::time::Duration::from_millis(cap / 4 + jitter * 3 / 4)
}

/// A response that lacks a field it always has.
pub fn missing(what: &str) -> ProviderError {
    ProviderError::new(ErrorKind::Transient, format!("the response has no {what}"))
        .with_code("IncompleteResponse")
}
