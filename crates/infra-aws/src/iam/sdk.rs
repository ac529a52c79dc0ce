//! What IAM's types share: tags, reads of one name at a time, documents.

use std::future::Future;

use aws_sdk_iam::types::Tag;
use infra_engine::{ErrorKind, ProviderError};

use super::PolicyDocument;
use crate::kit::Tags;

/// Tags as IAM takes them.
pub(crate) fn iam_tags<'a>(
    tags: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Result<Vec<Tag>, ProviderError> {
    tags.into_iter()
        .map(|(k, v)| {
            Tag::builder().key(k).value(v).build().map_err(|e| {
                ProviderError::new(ErrorKind::Final, format!("tag {k:?}: {e}")).with_code("InvalidInput")
            })
        })
        .collect()
}

/// Tags as a map.
pub(crate) fn tag_map(tags: &[Tag]) -> Tags {
    tags.iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect()
}

/// `read` of each name at once (IAM reads one object per call); the names
/// that do not exist are left out.
pub(crate) async fn each<T, F, Fut>(ids: &[String], read: F) -> Result<Vec<T>, ProviderError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let mut out = Vec::new();
    for r in futures_util::future::join_all(ids.iter().cloned().map(read)).await {
        match r {
            Ok(v) => out.push(v),
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// A document's JSON for a call; its inputs are resolved by now.
pub(crate) fn json(doc: &PolicyDocument, field: &str) -> Result<String, ProviderError> {
    doc.to_json()
        .map_err(|e| ProviderError::new(ErrorKind::Final, format!("{field}: {e}")).with_code("InvalidInput"))
}

/// A document as IAM answered it.
pub(crate) fn document(text: &str) -> Result<PolicyDocument, ProviderError> {
    PolicyDocument::from_json(text)
        .map_err(|e| ProviderError::new(ErrorKind::Transient, e).with_code("IncompleteResponse"))
}
