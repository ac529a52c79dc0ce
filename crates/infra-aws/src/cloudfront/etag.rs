//! What CloudFront's small types share: versioned writes (every update
//! and delete carries the object's current ETag as `IfMatch`), the
//! mapping of the codes CloudFront answers for objects still in use, and
//! the account-wide uniqueness of their names.

use infra_core::{Diagnostic, ResourceDecl, Stack, Value};

/// An enum of the API's strings: serde spells each variant as the API
/// does, `as_str` gives that spelling and `parse` reads it back.
macro_rules! api_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $variant),+
        }

        impl $name {
            /// The API's spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $s),+
                }
            }

            /// The variant the API spells `s`.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($s => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}
pub(crate) use api_enum;

/// CloudFront's names (origin access controls and the three policy types)
/// are unique per type in the account, whatever region's provider
/// declares them: a second declaration of a name is refused, naming the
/// first (the `validate_type` of each named type).
pub fn unique_names(decls: &[&ResourceDecl], _: &Stack) -> Vec<Diagnostic> {
    let mut first: std::collections::HashMap<&str, &infra_core::Address> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for decl in decls {
        let Some(Value::String(name)) = decl.inputs.get("name") else { continue };
        match first.entry(name.as_str()) {
            std::collections::hash_map::Entry::Occupied(e) => out.push(Diagnostic::field(
                decl.address.clone(),
                "name",
                format!(
                    "{} already declares the name {name:?}; CloudFront names are unique in the account",
                    e.get()
                ),
            )),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(&decl.address);
            }
        }
    }
    out
}

#[cfg(feature = "cloudfront")]
pub(crate) use imp::*;

#[cfg(feature = "cloudfront")]
mod imp {
    use std::future::Future;

    use infra_engine::{ErrorKind, ProviderError};

    use crate::kit::missing;

    /// The ETag of a `Get…Config` answer (every answer carries one).
    pub(crate) fn etag(tag: Option<&str>) -> Result<String, ProviderError> {
        tag.filter(|t| !t.is_empty()).map(str::to_owned).ok_or_else(|| missing("ETag"))
    }

    /// Runs `write` with the object's current ETag (`current` reads it,
    /// with whatever else the write restates: a `Get…Config`). A `PreconditionFailed` answer (another writer
    /// changed the object since that read; `ErrorKind::Stale`) reads the
    /// ETag again and writes once more; a second stale answer goes to the
    /// executor, which retries the whole step.
    pub(crate) async fn with_current_etag<R, T, G, GF, W, WF>(
        current: G,
        write: W,
    ) -> Result<T, ProviderError>
    where
        G: Fn() -> GF,
        GF: Future<Output = Result<R, ProviderError>>,
        W: Fn(R) -> WF,
        WF: Future<Output = Result<T, ProviderError>>,
    {
        let tag = current().await?;
        match write(tag).await {
            Err(e) if e.kind == ErrorKind::Stale => write(current().await?).await,
            other => other,
        }
    }

    /// A delete with the current ETag ([`with_current_etag`]); an object
    /// already gone (its `Get…Config` or the delete answering not found)
    /// is deleted. An object still used by a distribution (`…InUse`) is
    /// retried by the executor: a distribution that stopped using it in
    /// the same run has been updated before this delete, and CloudFront
    /// lets the reference go once that update is recorded.
    pub(crate) async fn delete_with_etag<R, T, G, GF, W, WF>(
        current: G,
        delete: W,
    ) -> Result<(), ProviderError>
    where
        G: Fn() -> GF,
        GF: Future<Output = Result<R, ProviderError>>,
        W: Fn(R) -> WF,
        WF: Future<Output = Result<T, ProviderError>>,
    {
        match with_current_etag(current, delete).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(in_use(e)),
        }
    }

    /// `OriginAccessControlInUse`, `CachePolicyInUse`,
    /// `CloudFrontOriginAccessIdentityInUse`, …: eventual consistency (a
    /// distribution still being changed holds it), retried by the
    /// executor until the step's timeout.
    pub(crate) fn in_use(e: ProviderError) -> ProviderError {
        if e.code.as_deref().is_some_and(|c| c.ends_with("InUse")) {
            ProviderError { kind: ErrorKind::EventualConsistency, ..e }
        } else {
            e
        }
    }

    #[cfg(test)]
    mod tests {
        use std::sync::atomic::{AtomicU32, Ordering};

        use super::*;

        fn stale() -> ProviderError {
            ProviderError::new(ErrorKind::Stale, "the ETag is stale").with_code("PreconditionFailed")
        }

        /// A stale ETag is read again and the write sent once more with
        /// the fresh one; a second stale answer is the executor's.
        #[tokio::test]
        async fn a_stale_etag_is_read_again_once() {
            let reads = AtomicU32::new(0);
            let current = || async { Ok(format!("E{}", reads.fetch_add(1, Ordering::SeqCst))) };
            let sent = std::sync::Mutex::new(Vec::new());
            let write = |tag: String| {
                sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(tag.clone());
                async move { if tag == "E0" { Err(stale()) } else { Ok(tag) } }
            };
            assert_eq!(with_current_etag(current, write).await.ok(), Some("E1".to_owned()));
            assert_eq!(*sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner), ["E0", "E1"]);

            let always = |_: String| async { Err::<(), _>(stale()) };
            let e = with_current_etag(|| async { Ok("E".to_owned()) }, always).await.err();
            assert_eq!(e.map(|e| e.kind), Some(ErrorKind::Stale));
        }

        /// A delete of something gone is done; one still in use is retried.
        #[tokio::test]
        async fn deletes_of_gone_and_used_objects() {
            let gone = || async {
                Err::<String, _>(
                    ProviderError::new(ErrorKind::NotFound, "gone").with_code("NoSuchCachePolicy"),
                )
            };
            let never = |_: String| async { Ok::<(), ProviderError>(()) };
            assert!(delete_with_etag(gone, never).await.is_ok());
            let used = |_: String| async {
                Err::<(), _>(ProviderError::new(ErrorKind::Final, "in use").with_code("CachePolicyInUse"))
            };
            let e = delete_with_etag(|| async { Ok("E".to_owned()) }, used).await.err();
            assert_eq!(e.map(|e| e.kind), Some(ErrorKind::EventualConsistency));
        }
    }
}
