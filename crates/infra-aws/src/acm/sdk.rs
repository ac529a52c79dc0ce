//! What ACM's types share: one certificate per read, tags, the token.

use std::future::Future;

use aws_sdk_acm::types::{CertificateDetail, Tag};
use infra_engine::{ErrorKind, Operation, ProviderError};

use crate::kit::{Ctx, Service, Tags};

/// Tags as ACM takes them.
pub(crate) fn acm_tags<'a>(
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

/// The certificate `arn`; `None` when it does not exist.
pub(crate) async fn certificate(cx: &Ctx, arn: &str) -> Result<Option<CertificateDetail>, ProviderError> {
    let call = cx.acm().describe_certificate().certificate_arn(arn);
    match cx.send_in(Service::Acm, "DescribeCertificate", Operation::Read, || call.clone().send()).await {
        Ok(out) => Ok(out.certificate),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The tags of the certificate `arn`.
pub(crate) async fn tags_of(cx: &Ctx, arn: &str) -> Result<Tags, ProviderError> {
    let call = cx.acm().list_tags_for_certificate().certificate_arn(arn);
    let out =
        cx.send_in(Service::Acm, "ListTagsForCertificate", Operation::Read, || call.clone().send()).await?;
    Ok(out.tags().iter().map(|t| (t.key().to_owned(), t.value().unwrap_or_default().to_owned())).collect())
}

/// `read` of each ARN at once (ACM describes one certificate per call);
/// the ARNs that do not exist are left out.
pub(crate) async fn each<T, F, Fut>(ids: &[String], read: F) -> Result<Vec<T>, ProviderError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<Option<T>, ProviderError>>,
{
    let mut out = Vec::new();
    for r in futures_util::future::join_all(ids.iter().cloned().map(read)).await {
        match r {
            Ok(Some(v)) => out.push(v),
            Ok(None) => {}
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// ACM's `IdempotencyToken` (1 to 32 word characters) from the engine's
/// token (`infra-` and 32 hex digits): its last 32 letters and digits.
pub(crate) fn idempotency_token(token: &str) -> String {
    let word: Vec<char> = token.chars().filter(char::is_ascii_alphanumeric).collect();
    word[word.len().saturating_sub(32)..].iter().collect()
}
