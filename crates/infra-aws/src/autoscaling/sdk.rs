//! What the Auto Scaling types share: its errors and its tags.

use aws_sdk_autoscaling::types::Tag;
use infra_engine::{ErrorKind, ProviderError};

/// Auto Scaling answers a missing group or policy with a generic
/// `ValidationError` ("AutoScalingGroup name not found - …"), not a
/// not-found code: such an answer means the object is gone.
pub(crate) fn is_gone(e: &ProviderError) -> bool {
    e.kind == ErrorKind::NotFound
        || (e.code.as_deref() == Some("ValidationError")
            && e.message.to_ascii_lowercase().contains("not found"))
}

/// `result`, with an answer that the object is gone counted as done (a
/// delete of something already deleted).
pub(crate) fn done_if_gone<T>(result: Result<T, ProviderError>) -> Result<(), ProviderError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_gone(&e) => Ok(()),
        // A group whose scaling activity is still running (a delete right
        // after a resize) is deleted a moment later.
        Err(e) if matches!(e.code.as_deref(), Some("ScalingActivityInProgress" | "ResourceInUse")) => {
            Err(ProviderError { kind: ErrorKind::EventualConsistency, ..e })
        }
        Err(e) => Err(e),
    }
}

/// One tag of group `group` as Auto Scaling takes it.
pub(crate) fn tag(group: &str, key: &str, value: &str, propagate: bool) -> Tag {
    Tag::builder()
        .resource_id(group)
        .resource_type("auto-scaling-group")
        .key(key)
        .value(value)
        .propagate_at_launch(propagate)
        .build()
}
