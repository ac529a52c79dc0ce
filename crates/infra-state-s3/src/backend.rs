//! [`S3Backend`]: state objects in S3, locks and commit records in
//! DynamoDB.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use infra_core::State;
use infra_state::{Backend, Error, HistoryEntry, Lock, StateVersion, format, validate_stack_name};

use crate::S3BackendConfig;
use crate::error::{Failure, remote};
use crate::lock::S3Lock;
use crate::record::{Committed, KEY, Record, history_value, journal_value, n, s};

/// Object metadata naming the fencing token a state object was written
/// under; marks objects written by this backend.
const FENCE_METADATA: &str = "infra-fence";

/// How many times a read retries when S3 returns bytes that do not match
/// the commit record.
const READ_ATTEMPTS: u32 = 5;

/// A write stores the state whole, not as a journal entry, once the
/// journal holds this many entries…
const JOURNAL_MAX_ENTRIES: usize = 256;

/// …or once its bytes reach the state object's size (at least this much):
/// what is written stays within a small multiple of what changed plus the
/// state's final size.
const JOURNAL_MIN_BYTES: u64 = 64 * 1024;

/// State in S3, locked and committed through DynamoDB. Cheap to clone.
///
/// - Each stack's state is one object (`config.key` with the stack name);
///   the bucket's versioning keeps every version written.
/// - Each stack has one DynamoDB item: the lock (a lease with a fencing
///   counter) and the commit record naming the current object version and
///   its digest. A write puts the object (S3 `If-Match` on the ETag of the
///   committed version, `If-None-Match: *` for the first) and then commits
///   it with one conditional update that checks the writer's lock, its
///   fencing token and the expected version at once. An object that was
///   put but not committed is never read.
///
/// `docs/state-and-locking.md` states the guarantees.
#[derive(Clone)]
pub struct S3Backend {
    inner: Arc<Inner>,
}

struct Inner {
    /// The state last read or written per stack, with its version: what a
    /// journal entry is computed against.
    last: std::sync::Mutex<HashMap<String, (StateVersion, Arc<State>)>>,
    config: S3BackendConfig,
    s3: aws_sdk_s3::Client,
    ddb: aws_sdk_dynamodb::Client,
    #[cfg(feature = "kms")]
    sealer: crate::envelope::Sealer,
}

/// Whether stored bytes are a client-side encryption envelope rather than
/// a plain state file.
pub(crate) fn is_envelope(bytes: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Probe {
        infra_envelope: Option<u32>,
    }
    serde_json::from_slice::<Probe>(bytes).is_ok_and(|p| p.infra_envelope.is_some())
}

impl std::fmt::Debug for S3Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Backend").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

/// A conditional update of a stack's item.
pub(crate) struct Update<'a> {
    pub record_key: &'a str,
    /// The update expression; every attribute is written `#name`.
    pub expression: &'a str,
    /// The condition expression, same convention.
    pub condition: &'a str,
    pub values: Vec<(&'a str, AttributeValue)>,
    /// For errors: what was being done ("take the lock in").
    pub action: &'a str,
}

impl S3Backend {
    /// A backend with the default AWS credential chain (environment,
    /// profile, SSO, instance role) for `config.region`. Validates the
    /// settings first; makes no API call.
    pub async fn new(config: S3BackendConfig) -> Result<Self, crate::Error> {
        config.validate()?;
        let mut loader =
            aws_config::defaults(BehaviorVersion::latest()).region(Region::new(config.region.clone()));
        if let Some(endpoint) = &config.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let sdk = loader.load().await;
        Ok(Self::build(config, &sdk))
    }

    /// A backend using the given SDK configuration (credentials, retry,
    /// HTTP client); the region and endpoint of `config` take precedence.
    pub fn with_sdk_config(config: S3BackendConfig, sdk: &SdkConfig) -> Result<Self, crate::Error> {
        config.validate()?;
        Ok(Self::build(config, sdk))
    }

    fn build(config: S3BackendConfig, sdk: &SdkConfig) -> Self {
        let region = Region::new(config.region.clone());
        let custom_endpoint = config.endpoint.is_some() || sdk.endpoint_url().is_some();
        let mut s3 = aws_sdk_s3::config::Builder::from(sdk).region(region.clone());
        let mut ddb = aws_sdk_dynamodb::config::Builder::from(sdk).region(region.clone());
        #[cfg(feature = "kms")]
        let mut kms = aws_sdk_kms::config::Builder::from(sdk).region(region);
        if let Some(endpoint) = &config.endpoint {
            s3 = s3.endpoint_url(endpoint);
            ddb = ddb.endpoint_url(endpoint);
            #[cfg(feature = "kms")]
            {
                kms = kms.endpoint_url(endpoint);
            }
        }
        if custom_endpoint {
            s3 = s3.force_path_style(true);
        }
        S3Backend {
            inner: Arc::new(Inner {
                last: std::sync::Mutex::new(HashMap::new()),
                s3: aws_sdk_s3::Client::from_conf(s3.build()),
                ddb: aws_sdk_dynamodb::Client::from_conf(ddb.build()),
                #[cfg(feature = "kms")]
                sealer: crate::envelope::Sealer::new(
                    aws_sdk_kms::Client::from_conf(kms.build()),
                    config.client_encryption_kms_key.clone(),
                ),
                config,
            }),
        }
    }

    /// The settings.
    pub fn config(&self) -> &S3BackendConfig {
        &self.inner.config
    }

    pub(crate) fn s3(&self) -> &aws_sdk_s3::Client {
        &self.inner.s3
    }

    pub(crate) fn ddb(&self) -> &aws_sdk_dynamodb::Client {
        &self.inner.ddb
    }

    /// Takes the lock of `stack` and returns the concrete lock type (with
    /// [`S3Lock::is_lost`]); [`Backend::lock`] boxes the same.
    pub async fn lock_stack(&self, stack: &str, operation: &str, timeout: Duration) -> Result<S3Lock, Error> {
        validate_stack_name(stack)?;
        self.acquire(stack, operation, timeout).await
    }

    /// Who holds the lock of `stack` right now, if anyone.
    pub async fn lock_holder(&self, stack: &str) -> Result<Option<infra_state::LockInfo>, Error> {
        validate_stack_name(stack)?;
        Ok(self.record_at(&self.record_key(stack)).await?.holder.map(|h| h.info))
    }

    /// `s3://bucket/key` of the stack's state object.
    pub fn object_url(&self, stack: &str) -> String {
        format!("s3://{}/{}", self.config().bucket, self.config().object_key(stack))
    }

    pub(crate) fn record_key(&self, stack: &str) -> String {
        format!("{}/{}", self.config().bucket, self.config().object_key(stack))
    }

    pub(crate) fn table_location(&self) -> String {
        format!("DynamoDB table {}", self.config().dynamodb_table)
    }

    // ---- the DynamoDB item -----------------------------------------------

    /// The stack's item, read strongly consistently.
    pub(crate) async fn record_at(&self, record_key: &str) -> Result<Record, Error> {
        let location = format!("{} item {record_key}", self.table_location());
        let out = self
            .ddb()
            .get_item()
            .table_name(&self.config().dynamodb_table)
            .key(KEY, s(record_key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| remote(&e, "read", &location))?;
        Record::parse(out.item(), &location)
    }

    /// Runs a conditional update. `Ok(None)` when the condition did not
    /// hold; with `return_new`, the updated attributes.
    pub(crate) async fn update(
        &self,
        update: Update<'_>,
        return_new: bool,
    ) -> Result<Option<HashMap<String, AttributeValue>>, Error> {
        let mut request = self
            .ddb()
            .update_item()
            .table_name(&self.config().dynamodb_table)
            .key(KEY, s(update.record_key))
            .update_expression(update.expression)
            .condition_expression(update.condition);
        for name in attribute_names(&[update.expression, update.condition]) {
            request = request.expression_attribute_names(format!("#{name}"), name);
        }
        for (name, value) in update.values {
            request = request.expression_attribute_values(name, value);
        }
        if return_new {
            request = request.return_values(ReturnValue::AllNew);
        }
        match request.send().await {
            Ok(out) => Ok(Some(out.attributes().cloned().unwrap_or_default())),
            Err(e) => {
                let failure = Failure::of(&e);
                if failure.is("ConditionalCheckFailedException") {
                    Ok(None)
                } else {
                    let location = format!("{} item {}", self.table_location(), update.record_key);
                    Err(failure.into_error(update.action, &location))
                }
            }
        }
    }

    /// Checks that `lock` is the stack's current lock in `record`.
    fn check_lock(record: &Record, lock: &dyn Lock) -> Result<(), Error> {
        let stack = &lock.info().stack;
        match &record.holder {
            None => Err(Error::NotLocked { stack: stack.clone() }),
            Some(h) if h.id != lock.info().id => Err(Error::LockLost {
                stack: stack.clone(),
                lock_id: lock.info().id.clone(),
                reason: format!("the stack is now locked by someone else: {}", h.info),
            }),
            Some(_) if record.fence != lock.fencing_token() => Err(Error::LockLost {
                stack: stack.clone(),
                lock_id: lock.info().id.clone(),
                reason: format!(
                    "its fencing token {} is stale (latest is {})",
                    lock.fencing_token(),
                    record.fence
                ),
            }),
            Some(_) => Ok(()),
        }
    }

    // ---- the S3 object ---------------------------------------------------

    /// The bytes to store for an encoded state: encrypted client-side when
    /// configured (feature `kms`), else the encoding itself.
    async fn seal(&self, encoded: Vec<u8>, stack: &str) -> Result<Vec<u8>, Error> {
        #[cfg(feature = "kms")]
        {
            self.inner.sealer.seal(&encoded, &self.object_url(stack)).await
        }
        #[cfg(not(feature = "kms"))]
        {
            let _ = stack;
            Ok(encoded)
        }
    }

    /// The encoded state in stored bytes (decrypted when it was encrypted
    /// client-side).
    async fn open(&self, stored: Vec<u8>, location: &str) -> Result<Vec<u8>, Error> {
        #[cfg(feature = "kms")]
        {
            self.inner.sealer.open(stored, location).await
        }
        #[cfg(not(feature = "kms"))]
        {
            if is_envelope(&stored) {
                return Err(Error::Corrupt {
                    location: location.to_owned(),
                    reason: "the state is encrypted client-side with KMS; build infra-state-s3 with its \
                             `kms` feature to read it"
                        .to_owned(),
                });
            }
            Ok(stored)
        }
    }

    /// The bytes of one version of the stack's object; `Ok(None)` when S3
    /// has no such version.
    async fn get_version(&self, stack: &str, version_id: &str) -> Result<Option<Vec<u8>>, Error> {
        self.get_object_version(stack, self.config().object_key(stack), version_id).await
    }

    /// The bytes of one version of `key`; `Ok(None)` when S3 has no such
    /// version.
    async fn get_object_version(
        &self,
        stack: &str,
        key: String,
        version_id: &str,
    ) -> Result<Option<Vec<u8>>, Error> {
        let result = self
            .s3()
            .get_object()
            .bucket(&self.config().bucket)
            .key(&key)
            .version_id(version_id)
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                let failure = Failure::of(&e);
                let missing = ["NoSuchVersion", "NoSuchKey", "InvalidArgument"].iter().any(|c| failure.is(c))
                    || matches!(failure.status, Some(400 | 404));
                if missing {
                    return Ok(None);
                }
                return Err(failure.into_error("read state object", &self.object_url(stack)));
            }
        };
        let bytes = out.body.collect().await.map_err(|e| Error::Remote {
            action: "read state object".to_owned(),
            location: self.object_url(stack),
            code: None,
            message: e.to_string(),
            request_id: None,
        })?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    /// The committed state's bytes, checked against the commit record's
    /// digest; a mismatching answer (an older object) is retried, never
    /// used.
    async fn fetch_committed(&self, stack: &str, committed: &Committed) -> Result<Vec<u8>, Error> {
        let location = format!("{} version {}", self.object_url(stack), committed.version_id);
        let mut found = String::from("nothing");
        for attempt in 0..READ_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            if let Some(stored) = self.get_version(stack, &committed.version_id).await? {
                let bytes = self.open(stored, &location).await?;
                let digest = format::digest(&bytes);
                if digest == committed.base_digest {
                    return Ok(bytes);
                }
                found = format!("an object with sha256 {digest}");
            }
        }
        Err(Error::Corrupt {
            location,
            reason: format!(
                "the commit record names sha256 {} (serial {}) but S3 returned {found}, \
                 {READ_ATTEMPTS} times",
                committed.base_digest, committed.serial
            ),
        })
    }

    /// With no commit record: checks that no state object exists that the
    /// record does not account for. An object written by this backend
    /// under a lock that was lost before its commit is ignored (it was
    /// never committed); any other object is refused, so that a lost lock
    /// table never makes existing state look absent.
    async fn check_unrecorded(&self, stack: &str) -> Result<(), Error> {
        match self.head(stack).await? {
            None => Ok(()),
            Some(head) if head.fence.is_some() => Ok(()),
            Some(_) => Err(Error::Unrecorded {
                location: self.object_url(stack),
                reason: format!(
                    "a state object exists but {} has no commit record for it (was the table recreated, \
                     or the object copied in by hand?); nothing was read from it. After checking it, \
                     adopt it by writing it through the backend, or delete it",
                    self.table_location()
                ),
            }),
        }
    }

    async fn head(&self, stack: &str) -> Result<Option<Head>, Error> {
        let key = self.config().object_key(stack);
        match self.s3().head_object().bucket(&self.config().bucket).key(&key).send().await {
            Ok(out) => Ok(Some(Head {
                etag: out.e_tag().unwrap_or_default().to_owned(),
                fence: out.metadata().and_then(|m| m.get(FENCE_METADATA)).and_then(|f| f.parse().ok()),
            })),
            Err(e) => {
                let failure = Failure::of(&e);
                if failure.status == Some(404) || failure.is("NotFound") || failure.is("NoSuchKey") {
                    Ok(None)
                } else {
                    Err(failure.into_error("look up state object", &self.object_url(stack)))
                }
            }
        }
    }

    /// Puts a new version of the stack's object, conditional on the latest
    /// version's ETag (`None`: on there being none).
    async fn put(
        &self,
        stack: &str,
        bytes: &[u8],
        if_match: Option<&str>,
        token: u64,
    ) -> Result<Result<(String, String), Failure>, Error> {
        let mut request = self
            .s3()
            .put_object()
            .bucket(&self.config().bucket)
            .key(self.config().object_key(stack))
            .content_type("application/json")
            .metadata(FENCE_METADATA, token.to_string())
            .body(ByteStream::from(bytes.to_vec()));
        request = match if_match {
            Some(etag) => request.if_match(etag),
            None => request.if_none_match("*"),
        };
        if let Some(key) = &self.config().kms_key_id {
            request = request.server_side_encryption(ServerSideEncryption::AwsKms).ssekms_key_id(key);
        }
        match request.send().await {
            Ok(out) => {
                let Some(version_id) = out.version_id().filter(|v| !v.is_empty() && *v != "null") else {
                    return Err(Error::Remote {
                        action: "write state object".to_owned(),
                        location: self.object_url(stack),
                        code: None,
                        message: format!(
                            "the bucket {} does not have versioning enabled; bootstrap the backend or \
                             enable versioning on it",
                            self.config().bucket
                        ),
                        request_id: None,
                    });
                };
                Ok(Ok((version_id.to_owned(), out.e_tag().unwrap_or_default().to_owned())))
            }
            Err(e) => {
                let failure = Failure::of(&e);
                let precondition = failure.is("PreconditionFailed")
                    || failure.is("ConditionalRequestConflict")
                    || matches!(failure.status, Some(409 | 412));
                if precondition {
                    Ok(Err(failure))
                } else {
                    Err(failure.into_error("write state object", &self.object_url(stack)))
                }
            }
        }
    }

    /// Deletes one version of the stack's object (an uncommitted write).
    async fn delete_version(&self, stack: &str, version_id: &str) {
        self.delete_object_version(self.config().object_key(stack), version_id).await;
    }

    /// Deletes one version of `key`, best effort (what is left is never
    /// read: no commit record names it).
    async fn delete_object_version(&self, key: String, version_id: &str) {
        let _ = self
            .s3()
            .delete_object()
            .bucket(&self.config().bucket)
            .key(&key)
            .version_id(version_id)
            .send()
            .await;
    }

    async fn write_inner(
        &self,
        lock: &dyn Lock,
        state: &State,
        expected: Option<&StateVersion>,
    ) -> Result<StateVersion, Error> {
        let stack = lock.info().stack.as_str();
        validate_stack_name(stack)?;
        let record_key = self.record_key(stack);
        let record = self.record_at(&record_key).await?;
        Self::check_lock(&record, lock)?;
        let found = record.committed.as_ref().map(Committed::version);
        if found.as_ref() != expected {
            return Err(Error::Conflict { stack: stack.to_owned(), expected: expected.cloned(), found });
        }
        if let Some(old) = &record.committed {
            if old.lineage != state.lineage {
                return Err(Error::LineageMismatch {
                    stack: stack.to_owned(),
                    stored: old.lineage.clone(),
                    given: state.lineage.clone(),
                });
            }
            if state.serial < old.serial {
                return Err(Error::SerialRegression {
                    stack: stack.to_owned(),
                    stored: old.serial,
                    attempted: state.serial,
                });
            }
        }
        if let Some(old) = &record.committed {
            let previous = self.remembered(stack, &old.version());
            let new_operation = old.serial != state.serial;
            // An operation that ended without settling leaves a journal the
            // next operation must not extend.
            let unsettled = new_operation && !old.journal.is_empty();
            if let Some(previous) = &previous {
                if **previous == *state {
                    return Ok(old.version());
                }
                let room = old.journal.len() < JOURNAL_MAX_ENTRIES
                    && old.journal_bytes < old.size.max(JOURNAL_MIN_BYTES);
                if room
                    && !unsettled
                    && let Some(delta) = format::delta::Delta::between(previous, state)
                {
                    return self.append(lock, state, &record, old, delta).await;
                }
            }
            if unsettled {
                // An operation that ended without settling (it was killed):
                // store its last state whole first, so that the history
                // names one object per operation.
                let previous = match previous {
                    Some(p) => p,
                    None => Arc::new(self.load(stack, old).await?),
                };
                let settled = self.snapshot(lock, &previous, &record, Some(&old.version())).await?;
                let record = self.record_at(&record_key).await?;
                Self::check_lock(&record, lock)?;
                return self.snapshot(lock, state, &record, Some(&settled)).await;
            }
        }
        self.snapshot(lock, state, &record, expected).await
    }

    /// The history with `old` (the version an operation ended with) added
    /// as the next operation starts: one entry per operation, trimmed to
    /// the configured limit.
    fn history_with(&self, record: &Record, old: &Committed) -> AttributeValue {
        let mut history = record.history.clone();
        history.push(old.history_entry());
        let excess = history.len().saturating_sub(self.config().history_limit);
        history.drain(..excess);
        history_value(&history)
    }

    /// The state last read or written at `version`, if this process has it.
    fn remembered(&self, stack: &str, version: &StateVersion) -> Option<Arc<State>> {
        let last = self.inner.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        last.get(stack).filter(|(v, _)| v == version).map(|(_, s)| s.clone())
    }

    fn remember(&self, stack: &str, version: &StateVersion, state: &State) {
        let mut last = self.inner.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        last.insert(stack.to_owned(), (version.clone(), Arc::new(state.clone())));
    }

    /// The committed state: the state object, then the journal's entries in
    /// order, each checked against the chain of digests.
    async fn load(&self, stack: &str, committed: &Committed) -> Result<State, Error> {
        let bytes = self.fetch_committed(stack, committed).await?;
        let mut state = format::decode_from(&bytes, &self.object_url(stack))?;
        let key = self.journal_key(stack);
        let fetches = committed.journal.iter().map(|vid| {
            let key = key.clone();
            async move { (vid, self.get_object_version(stack, key, vid).await) }
        });
        let mut digest = committed.base_digest.clone();
        for (vid, fetched) in futures_util::future::join_all(fetches).await {
            let location = format!("{} version {vid}", self.journal_url(stack));
            let corrupt = |reason: String| Error::Corrupt { location: location.clone(), reason };
            let stored = fetched?
                .ok_or_else(|| corrupt("the commit record names it but S3 has no such version".to_owned()))?;
            let entry = self.open(stored, &location).await?;
            digest = format::delta::chain_digest(&digest, &entry);
            format::delta::Delta::decode_from(&entry, &location)?.apply(&mut state);
        }
        if digest != committed.digest {
            return Err(Error::Corrupt {
                location: self.journal_url(stack),
                reason: format!(
                    "the commit record names digest {} (serial {}) but the state object and journal give {digest}",
                    committed.digest, committed.serial
                ),
            });
        }
        Ok(state)
    }

    fn journal_key(&self, stack: &str) -> String {
        format!("{}.journal", self.config().object_key(stack))
    }

    fn journal_url(&self, stack: &str) -> String {
        format!("{}.journal", self.object_url(stack))
    }

    /// Stores `delta` as the journal's next entry and commits it: one put,
    /// one conditional update (the same lock, fencing and version checks as
    /// a whole write).
    async fn append(
        &self,
        lock: &dyn Lock,
        state: &State,
        record: &Record,
        old: &Committed,
        delta: format::delta::Delta,
    ) -> Result<StateVersion, Error> {
        let stack = lock.info().stack.as_str();
        let record_key = self.record_key(stack);
        let entry = delta.encode()?;
        let version =
            StateVersion { serial: state.serial, digest: format::delta::chain_digest(&old.digest, &entry) };
        let size = entry.len() as u64;
        let bytes = self.seal(entry, stack).await?;
        let token = lock.fencing_token();
        let put = self
            .s3()
            .put_object()
            .bucket(&self.config().bucket)
            .key(self.journal_key(stack))
            .content_type("application/json")
            .metadata(FENCE_METADATA, token.to_string())
            .body(ByteStream::from(bytes));
        let put = match &self.config().kms_key_id {
            Some(key) => put.server_side_encryption(ServerSideEncryption::AwsKms).ssekms_key_id(key),
            None => put,
        };
        let out = put
            .send()
            .await
            .map_err(|e| Failure::of(&e).into_error("write state journal", &self.journal_url(stack)))?;
        let Some(version_id) = out.version_id().filter(|v| !v.is_empty() && *v != "null").map(str::to_owned)
        else {
            return Err(Error::Remote {
                action: "write state journal".to_owned(),
                location: self.journal_url(stack),
                code: None,
                message: format!("the bucket {} does not have versioning enabled", self.config().bucket),
                request_id: None,
            });
        };
        let written_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        let mut expression = String::from(
            "SET #digest = :digest, #serial = :serial, #base_digest = :base, \
             #journal = list_append(if_not_exists(#journal, :none), :entry), \
             #journal_bytes = :jbytes, #written_at = :at",
        );
        let mut values = vec![
            (":digest", s(&version.digest)),
            (":serial", n(state.serial)),
            (":base", s(&old.base_digest)),
            (":none", journal_value(&[])),
            (":entry", journal_value(std::slice::from_ref(&version_id))),
            (":jbytes", n(old.journal_bytes + size)),
            (":at", s(&written_at)),
            (":id", s(&lock.info().id)),
            (":token", n(token)),
            (":expected", s(&old.digest)),
        ];
        if old.serial != state.serial {
            // The previous operation settled: its journal is empty, its
            // state object whole.
            values.push((":history", self.history_with(record, old)));
            expression.push_str(", #history = :history");
        }
        let update = Update {
            record_key: &record_key,
            expression: &expression,
            condition: "#holder = :id AND #fence = :token AND #digest = :expected",
            values,
            action: "commit state in",
        };
        let committed = match self.update(update, false).await {
            Ok(Some(_)) => Ok(version),
            Ok(None) => {
                let now = self.record_at(&record_key).await?;
                Self::check_lock(&now, lock)?;
                Err(Error::Conflict {
                    stack: stack.to_owned(),
                    expected: Some(old.version()),
                    found: now.committed.as_ref().map(Committed::version),
                })
            }
            Err(e) => match self.record_at(&record_key).await {
                Ok(now) if now.committed.as_ref().is_some_and(|c| c.journal.last() == Some(&version_id)) => {
                    Ok(version)
                }
                _ => Err(e),
            },
        };
        match committed {
            Ok(version) => {
                self.remember(stack, &version, state);
                Ok(version)
            }
            Err(e) => {
                self.delete_object_version(self.journal_key(stack), &version_id).await;
                Err(e)
            }
        }
    }

    /// Stores `state` whole as the stack's object (compare-and-swap on the
    /// committed version's ETag) and commits it, clearing the journal.
    async fn snapshot(
        &self,
        lock: &dyn Lock,
        state: &State,
        record: &Record,
        expected: Option<&StateVersion>,
    ) -> Result<StateVersion, Error> {
        let stack = lock.info().stack.as_str();
        let record_key = self.record_key(stack);
        let found = record.committed.as_ref().map(Committed::version);
        let encoded = format::encode(state)?;
        let version = StateVersion { serial: state.serial, digest: format::digest(&encoded) };
        if found.as_ref() == Some(&version) {
            return Ok(version);
        }
        let bytes = self.seal(encoded, stack).await?;
        let token = lock.fencing_token();

        // 1. The object, compare-and-swap on the committed version's ETag.
        let committed_etag = record.committed.as_ref().map(|c| c.etag.as_str());
        let (version_id, etag) = match self.put(stack, &bytes, committed_etag, token).await? {
            Ok(put) => put,
            Err(precondition) => {
                // The latest object is not the committed one. Either someone
                // committed since we read the record (a conflict), or a
                // holder that lost its lock left an uncommitted object.
                let now = self.record_at(&record_key).await?;
                Self::check_lock(&now, lock)?;
                let now_found = now.committed.as_ref().map(Committed::version);
                if now_found != found {
                    return Err(Error::Conflict {
                        stack: stack.to_owned(),
                        expected: expected.cloned(),
                        found: now_found,
                    });
                }
                match self.head(stack).await? {
                    Some(head) if head.fence.is_some_and(|f| f < token) => {
                        match self.put(stack, &bytes, Some(&head.etag), token).await? {
                            Ok(put) => put,
                            Err(again) => {
                                return Err(
                                    again.into_error("write state object (retry)", &self.object_url(stack))
                                );
                            }
                        }
                    }
                    Some(_) if record.committed.is_none() => {
                        self.check_unrecorded(stack).await?;
                        return Err(precondition.into_error("write state object", &self.object_url(stack)));
                    }
                    _ => return Err(precondition.into_error("write state object", &self.object_url(stack))),
                }
            }
        };

        // 2. The commit: one conditional update checks the lock, the
        // fencing token and the expected version together.
        let written_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        let mut expression = String::from(
            "SET #version_id = :vid, #etag = :etag, #digest = :digest, #serial = :serial, \
             #lineage = :lineage, #size = :size, #written_at = :at",
        );
        let mut values = vec![
            (":vid", s(&version_id)),
            (":etag", s(&etag)),
            (":digest", s(&version.digest)),
            (":serial", n(state.serial)),
            (":lineage", s(&state.lineage)),
            (":size", n(bytes.len() as u64)),
            (":at", s(&written_at)),
            (":id", s(&lock.info().id)),
            (":token", n(token)),
        ];
        let mut condition = String::from("#holder = :id AND #fence = :token AND ");
        match &record.committed {
            Some(old) => {
                condition.push_str("#digest = :expected");
                values.push((":expected", s(&old.digest)));
                if old.serial != state.serial {
                    values.push((":history", self.history_with(record, old)));
                    expression.push_str(", #history = :history");
                }
            }
            None => condition.push_str("attribute_not_exists(#digest)"),
        }
        // A whole state ends the journal.
        expression.push_str(" REMOVE #base_digest, #journal, #journal_bytes");
        let update = Update {
            record_key: &record_key,
            expression: &expression,
            condition: &condition,
            values,
            action: "commit state in",
        };
        match self.update(update, false).await {
            Ok(Some(_)) => {
                self.remember(stack, &version, state);
                // The journal's entries are no longer read: remove them.
                if let Some(old) = &record.committed {
                    let key = self.journal_key(stack);
                    let deletes = old.journal.iter().map(|vid| self.delete_object_version(key.clone(), vid));
                    futures_util::future::join_all(deletes).await;
                }
                Ok(version)
            }
            Ok(None) => {
                self.delete_version(stack, &version_id).await;
                let now = self.record_at(&record_key).await?;
                Self::check_lock(&now, lock)?;
                Err(Error::Conflict {
                    stack: stack.to_owned(),
                    expected: expected.cloned(),
                    found: now.committed.as_ref().map(Committed::version),
                })
            }
            Err(e) => {
                // The outcome is unknown: look.
                if let Ok(now) = self.record_at(&record_key).await
                    && now.committed.as_ref().is_some_and(|c| c.version_id == version_id)
                {
                    self.remember(stack, &version, state);
                    return Ok(version);
                }
                self.delete_version(stack, &version_id).await;
                Err(e)
            }
        }
    }
}

struct Head {
    etag: String,
    fence: Option<u64>,
}

/// The `#name` placeholders used in expressions.
fn attribute_names(expressions: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for expression in expressions {
        let mut rest = *expression;
        while let Some(start) = rest.find('#') {
            let tail = &rest[start + 1..];
            let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
            let name = &tail[..end];
            if !name.is_empty() && !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
            rest = &tail[end..];
        }
    }
    names
}

#[async_trait]
impl Backend for S3Backend {
    fn describe(&self) -> String {
        format!(
            "S3 bucket {} (key {}, region {}) locked with DynamoDB table {}",
            self.config().bucket,
            self.config().key,
            self.config().region,
            self.config().dynamodb_table
        )
    }

    async fn lock(&self, stack: &str, operation: &str, timeout: Duration) -> Result<Box<dyn Lock>, Error> {
        Ok(Box::new(self.lock_stack(stack, operation, timeout).await?))
    }

    async fn read(&self, stack: &str) -> Result<Option<(State, StateVersion)>, Error> {
        validate_stack_name(stack)?;
        let record = self.record_at(&self.record_key(stack)).await?;
        let Some(committed) = record.committed else {
            self.check_unrecorded(stack).await?;
            return Ok(None);
        };
        let state = self.load(stack, &committed).await?;
        self.remember(stack, &committed.version(), &state);
        Ok(Some((state, committed.version())))
    }

    async fn settle(&self, lock: &dyn Lock, version: &StateVersion) -> Result<StateVersion, Error> {
        let stack = lock.info().stack.as_str();
        validate_stack_name(stack)?;
        let record = self.record_at(&self.record_key(stack)).await?;
        Self::check_lock(&record, lock)?;
        let Some(committed) = &record.committed else {
            return Err(Error::Conflict {
                stack: stack.to_owned(),
                expected: Some(version.clone()),
                found: None,
            });
        };
        if committed.version() != *version {
            return Err(Error::Conflict {
                stack: stack.to_owned(),
                expected: Some(version.clone()),
                found: Some(committed.version()),
            });
        }
        if committed.journal.is_empty() {
            return Ok(version.clone());
        }
        let state = match self.remembered(stack, version) {
            Some(state) => state,
            None => Arc::new(self.load(stack, committed).await?),
        };
        self.snapshot(lock, &state, &record, Some(version)).await
    }

    async fn write(
        &self,
        lock: &dyn Lock,
        state: &State,
        expected: Option<&StateVersion>,
    ) -> Result<StateVersion, Error> {
        self.write_inner(lock, state, expected).await
    }

    async fn force_unlock(&self, stack: &str, lock_id: &str) -> Result<(), Error> {
        validate_stack_name(stack)?;
        let record_key = self.record_key(stack);
        loop {
            let record = self.record_at(&record_key).await?;
            match record.holder {
                None => return Err(Error::NotLocked { stack: stack.to_owned() }),
                Some(h) if h.id != lock_id => {
                    return Err(Error::WrongLockId {
                        stack: stack.to_owned(),
                        given: lock_id.to_owned(),
                        holder: Box::new(h.info),
                    });
                }
                Some(_) => {
                    if self.remove_holder(&record_key, lock_id, None).await? {
                        return Ok(());
                    }
                    // Changed between the read and the update: look again.
                }
            }
        }
    }

    async fn history(&self, stack: &str) -> Result<Vec<HistoryEntry>, Error> {
        validate_stack_name(stack)?;
        let record = self.record_at(&self.record_key(stack)).await?;
        Ok(record.history.into_iter().rev().collect())
    }

    async fn read_version(&self, stack: &str, version_id: &str) -> Result<State, Error> {
        validate_stack_name(stack)?;
        let not_found =
            || Error::VersionNotFound { stack: stack.to_owned(), version_id: version_id.to_owned() };
        if version_id.is_empty() || version_id.len() > 1024 {
            return Err(not_found());
        }
        let stored = self.get_version(stack, version_id).await?.ok_or_else(not_found)?;
        let location = format!("{} version {version_id}", self.object_url(stack));
        let bytes = self.open(stored, &location).await?;
        format::decode_from(&bytes, &location)
    }

    async fn list_stacks(&self) -> Result<Vec<String>, Error> {
        let mut stacks = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .s3()
                .list_objects_v2()
                .bucket(&self.config().bucket)
                .prefix(self.config().key_prefix())
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    remote(&e, "list state objects in", &format!("s3://{}", self.config().bucket))
                })?;
            stacks.extend(
                out.contents().iter().filter_map(|o| o.key()).filter_map(|k| self.config().stack_of_key(k)),
            );
            match out.next_continuation_token() {
                Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        stacks.sort();
        stacks.dedup();
        Ok(stacks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_collected_once() {
        assert_eq!(
            attribute_names(&[
                "SET #a = :x, #b_c = #a + :one",
                "#holder = :id AND attribute_not_exists(#b_c)"
            ]),
            vec!["a", "b_c", "holder"]
        );
    }
}
