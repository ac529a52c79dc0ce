//! The error type of this crate, and the conversion of AWS SDK errors into
//! [`infra_state::Error::Remote`].

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::display::DisplayErrorContext;

/// What can go wrong configuring or bootstrapping the backend. (What goes
/// wrong while using it as a [`infra_state::Backend`] is an
/// [`infra_state::Error`].)
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is missing or invalid; names the field.
    #[error("S3 backend setting {field}: {reason}")]
    Config {
        /// The [`crate::S3BackendConfig`] field.
        field: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },

    /// Creating the bucket or the table failed.
    #[error("bootstrapping the S3 backend: {0}")]
    Bootstrap(#[source] infra_state::Error),

    /// The bucket exists but belongs to another account.
    #[error(
        "the bucket {bucket:?} already exists and belongs to someone else; S3 bucket names are global, \
         choose another"
    )]
    BucketTaken {
        /// The bucket.
        bucket: String,
    },
}

/// The code, message and request ID of an SDK error.
pub(crate) struct Failure {
    pub code: Option<String>,
    pub message: String,
    pub request_id: Option<String>,
    pub status: Option<u16>,
}

impl Failure {
    pub(crate) fn of<E>(e: &SdkError<E, Response>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let request_id =
            e.meta().extra("aws_request_id").or_else(|| e.meta().extra("request_id")).map(str::to_owned);
        match e {
            SdkError::ServiceError(se) => {
                let status = se.raw().status().as_u16();
                Failure {
                    code: se.err().code().map(str::to_owned).or_else(|| Some(format!("HTTP {status}"))),
                    message: se.err().message().unwrap_or("no message").to_owned(),
                    request_id,
                    status: Some(status),
                }
            }
            other => Failure {
                code: None,
                message: DisplayErrorContext(other).to_string(),
                request_id,
                status: None,
            },
        }
    }

    pub(crate) fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    pub(crate) fn into_error(self, action: &str, location: &str) -> infra_state::Error {
        infra_state::Error::Remote {
            action: action.to_owned(),
            location: location.to_owned(),
            code: self.code,
            message: self.message,
            request_id: self.request_id,
        }
    }
}

/// Converts an SDK error into [`infra_state::Error::Remote`].
pub(crate) fn remote<E>(e: &SdkError<E, Response>, action: &str, location: &str) -> infra_state::Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    Failure::of(e).into_error(action, location)
}
