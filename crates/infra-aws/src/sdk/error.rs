//! AWS errors mapped to the engine's error kinds, with the error code and
//! request ID kept.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use infra_engine::{ErrorKind, Operation, ProviderError};

/// The kind of an AWS error code, given the operation it answered: a
/// `*.NotFound` answering a create means a dependency created moments ago
/// is not visible yet (eventual consistency, retried); answering a read,
/// update or delete it means the resource itself is gone.
pub fn classify(code: &str, op: Operation) -> ErrorKind {
    const THROTTLED: [&str; 9] = [
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "PriorRequestNotComplete",
        "ProvisionedThroughputExceededException",
    ];
    const TRANSIENT: [&str; 6] = [
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "Unavailable",
        "InternalServerError",
        "RequestTimeout",
    ];
    if THROTTLED.contains(&code) {
        return ErrorKind::Throttled;
    }
    if TRANSIENT.contains(&code) {
        return ErrorKind::Transient;
    }
    let not_found = code.ends_with(".NotFound")
        || code.ends_with("NotFound")
        || code.ends_with("NotFoundException")
        || code == "NoSuchEntity"
        || code == "NoSuchBucket"
        || code == "InvalidAllocationID.NotFound";
    if not_found {
        return if op == Operation::Create { ErrorKind::EventualConsistency } else { ErrorKind::NotFound };
    }
    if code == "DependencyViolation" || code == "InvalidGatewayID.NotAttached" {
        return ErrorKind::EventualConsistency;
    }
    if code.ends_with(".Duplicate")
        || code.ends_with("AlreadyExists")
        || code.ends_with("AlreadyExistsException")
        || code.starts_with("Resource.AlreadyAssociated")
        || code == "IncorrectState"
        || code == "InvalidStateTransition"
        || code == "ConflictException"
    {
        return ErrorKind::Conflict;
    }
    ErrorKind::Final
}

/// Converts an SDK error into a provider error.
pub(crate) fn sdk_error<E>(
    e: SdkError<E, aws_smithy_runtime_api::http::Response>,
    op: Operation,
) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let request_id = e
        .meta()
        .extra("aws_request_id")
        .map(str::to_owned)
        .or_else(|| e.meta().extra("request_id").map(str::to_owned));
    match &e {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let code = se.err().code().map_or_else(|| format!("HTTP{status}"), str::to_owned);
            let message = se.err().message().unwrap_or("no message").to_owned();
            // An answer without an error code is judged by its status.
            let kind = if se.err().code().is_none() && status >= 500 {
                ErrorKind::Transient
            } else {
                classify(&code, op)
            };
            let mut pe = ProviderError::new(kind, message).with_code(code);
            if let Some(id) = request_id {
                pe = pe.with_request_id(id);
            }
            pe
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ProviderError::new(
                ErrorKind::Transient,
                format!("{}", aws_smithy_types::error::display::DisplayErrorContext(&e)),
            )
        }
        _ => ProviderError::new(
            ErrorKind::Final,
            format!("{}", aws_smithy_types::error::display::DisplayErrorContext(&e)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        let check = |code: &str, op: Operation, kind: ErrorKind| {
            assert_eq!(classify(code, op), kind, "{code} {op:?}")
        };
        check("RequestLimitExceeded", Operation::Create, ErrorKind::Throttled);
        check("Throttling", Operation::Read, ErrorKind::Throttled);
        check("InvalidVpcID.NotFound", Operation::Create, ErrorKind::EventualConsistency);
        check("InvalidVpcID.NotFound", Operation::Delete, ErrorKind::NotFound);
        check("InvalidGroup.NotFound", Operation::Read, ErrorKind::NotFound);
        check("DependencyViolation", Operation::Delete, ErrorKind::EventualConsistency);
        check("InvalidGroup.Duplicate", Operation::Create, ErrorKind::Conflict);
        check("InvalidParameterValue", Operation::Create, ErrorKind::Final);
        check("UnauthorizedOperation", Operation::Create, ErrorKind::Final);
        check("InternalError", Operation::Update, ErrorKind::Transient);
    }
}
