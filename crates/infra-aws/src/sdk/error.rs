//! AWS errors mapped to the engine's error kinds, with the error code and
//! request ID kept: one table per service, then the codes every service
//! shares.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use infra_engine::{ErrorKind, Operation, ProviderError};

/// Codes every AWS service may answer.
mod common {
    pub const THROTTLED: &[&str] = &[
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
    pub const TRANSIENT: &[&str] = &[
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "Unavailable",
        "InternalServerError",
        "RequestTimeout",
    ];
    pub const NOT_FOUND: &[&str] = &["NoSuchEntity", "NoSuchBucket", "ResourceNotFoundException"];
    pub const CONFLICT: &[&str] = &["ConflictException", "ResourceExistsException", "ResourceInUseException"];
}

/// EC2: `<Thing>.NotFound`, `<Thing>.Duplicate`, state conflicts, and the
/// dependency errors of eventual consistency.
mod ec2 {
    pub const EVENTUAL: &[&str] = &["DependencyViolation", "InvalidGatewayID.NotAttached"];
    pub const CONFLICT: &[&str] = &["IncorrectState", "InvalidStateTransition"];
}

/// ElastiCache: a group not `available` yet (still modifying, a member
/// being replaced), or a subnet or parameter group still used by a group
/// being deleted: it clears on its own.
mod elasticache {
    pub const EVENTUAL: &[&str] = &[
        "InvalidReplicationGroupState",
        "InvalidCacheClusterState",
        "InvalidCacheParameterGroupState",
        "CacheSubnetGroupInUse",
    ];
}

/// S3 and DynamoDB: a bucket already ours is found, not an error; a
/// conflicting operation in progress, and backups still being enabled on a
/// new table, pass.
mod data {
    pub const CONFLICT: &[&str] = &["BucketAlreadyOwnedByYou", "OperationAborted"];
    pub const EVENTUAL: &[&str] = &["ContinuousBackupsUnavailableException"];
}

/// RDS: an object busy with another change (modifying, leaving a global
/// cluster, a member still being deleted) is tried again; a taken global
/// cluster identifier is a conflict.
mod rds {
    pub const BUSY: &[&str] = &[
        "InvalidDBClusterStateFault",
        "InvalidDBInstanceState",
        "InvalidGlobalClusterStateFault",
        "InvalidDBSubnetGroupStateFault",
        "InvalidDBParameterGroupState",
    ];
    pub const CONFLICT: &[&str] = &["GlobalClusterAlreadyExistsFault"];
}

/// The versioned-write services (CloudFront ETags, WAFv2 lock tokens,
/// Route 53 health check versions): a stale version is read again.
mod versioned {
    pub const STALE: &[&str] = &[
        "PreconditionFailed",
        "InvalidIfMatchVersion",
        "WAFOptimisticLockException",
        "HealthCheckVersionMismatch",
        "OptimisticLockException",
    ];
    /// WAFv2: a web ACL whose association is still being removed, an
    /// object just created that another call cannot use yet.
    pub const EVENTUAL: &[&str] = &["WAFAssociatedItemException", "WAFUnavailableEntityException"];
    pub const CONFLICT: &[&str] = &[
        "DistributionAlreadyExists",
        "WAFDuplicateItemException",
        "WafV2DuplicateItem",
        "HostedZoneAlreadyExists",
        "HealthCheckAlreadyExists",
        "DuplicateTargetGroupName",
        "DuplicateLoadBalancerName",
        "DBClusterAlreadyExistsFault",
        "ReplicationGroupAlreadyExists",
    ];
}

/// The kind of an AWS error code, given the operation it answered: a
/// not-found answering a create means a dependency created moments ago is
/// not visible yet (eventual consistency, retried); answering a read,
/// update or delete it means the resource itself is gone (a delete of
/// something gone is done).
pub fn classify(code: &str, op: Operation) -> ErrorKind {
    let is = |table: &[&str]| table.contains(&code);
    if is(common::THROTTLED) {
        return ErrorKind::Throttled;
    }
    if is(common::TRANSIENT) {
        return ErrorKind::Transient;
    }
    if is(versioned::STALE) {
        return ErrorKind::Stale;
    }
    let not_found = is(common::NOT_FOUND)
        || code.ends_with(".NotFound")
        || code.ends_with("NotFound")
        || code.ends_with("NotFoundException")
        || code.ends_with("NotFoundFault")
        || code.ends_with("NotFoundError")
        || code.starts_with("NoSuch")
        || code == "WAFNonexistentItemException";
    if not_found {
        return if op == Operation::Create { ErrorKind::EventualConsistency } else { ErrorKind::NotFound };
    }
    if is(ec2::EVENTUAL)
        || is(versioned::EVENTUAL)
        || is(elasticache::EVENTUAL)
        || is(data::EVENTUAL)
        || is(rds::BUSY)
    {
        return ErrorKind::EventualConsistency;
    }
    if is(common::CONFLICT)
        || is(ec2::CONFLICT)
        || is(versioned::CONFLICT)
        || is(data::CONFLICT)
        || is(rds::CONFLICT)
        || code.ends_with(".Duplicate")
        || code.ends_with("AlreadyExists")
        || code.ends_with("AlreadyExistsException")
        || code.starts_with("Resource.AlreadyAssociated")
        || code.starts_with("Duplicate")
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
            let kind = match (se.err().code(), status) {
                (None, 500..) => ErrorKind::Transient,
                (None, 412) => ErrorKind::Stale,
                (None, 404) if op != Operation::Create => ErrorKind::NotFound,
                _ => classify(&code, op),
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
        // Per service family: a not-found on delete completes the step; a
        // stale version is read again and retried.
        check("NoSuchDistribution", Operation::Delete, ErrorKind::NotFound);
        check("WAFNonexistentItemException", Operation::Delete, ErrorKind::NotFound);
        check("NoSuchHostedZone", Operation::Delete, ErrorKind::NotFound);
        check("DBClusterNotFoundFault", Operation::Delete, ErrorKind::NotFound);
        check("ReplicationGroupNotFoundFault", Operation::Delete, ErrorKind::NotFound);
        check("ResourceNotFoundException", Operation::Delete, ErrorKind::NotFound);
        check("CacheSubnetGroupNotFoundFault", Operation::Read, ErrorKind::NotFound);
        check("CacheParameterGroupNotFound", Operation::Delete, ErrorKind::NotFound);
        check("CacheSubnetGroupInUse", Operation::Delete, ErrorKind::EventualConsistency);
        check("InvalidReplicationGroupState", Operation::Update, ErrorKind::EventualConsistency);
        check("CacheParameterGroupAlreadyExists", Operation::Create, ErrorKind::Conflict);
        check("PreconditionFailed", Operation::Update, ErrorKind::Stale);
        check("WAFOptimisticLockException", Operation::Delete, ErrorKind::Stale);
        check("DistributionAlreadyExists", Operation::Create, ErrorKind::Conflict);
        check("WafV2DuplicateItem", Operation::Create, ErrorKind::Conflict);
        check("WAFAssociatedItemException", Operation::Delete, ErrorKind::EventualConsistency);
        check("InvalidLaunchTemplateName.AlreadyExistsException", Operation::Create, ErrorKind::Conflict);
        // S3's unset settings, a bucket already ours; DynamoDB's backups.
        check("OwnershipControlsNotFoundError", Operation::Read, ErrorKind::NotFound);
        check("ServerSideEncryptionConfigurationNotFoundError", Operation::Read, ErrorKind::NotFound);
        check("BucketAlreadyOwnedByYou", Operation::Create, ErrorKind::Conflict);
        check("ContinuousBackupsUnavailableException", Operation::Create, ErrorKind::EventualConsistency);
        check("InvalidDBClusterStateFault", Operation::Delete, ErrorKind::EventualConsistency);
        check("GlobalClusterAlreadyExistsFault", Operation::Create, ErrorKind::Conflict);
        check("DBParameterGroupNotFound", Operation::Delete, ErrorKind::NotFound);
    }
}
