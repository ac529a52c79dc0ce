//! Bootstrap: creating the bucket and the table, idempotently.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
};
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, VersioningConfiguration,
};

use crate::error::Failure;
use crate::record::KEY;
use crate::{Error, S3Backend};

/// How long to wait for a new table to become active.
const TABLE_WAIT: Duration = Duration::from_secs(120);

/// What [`S3Backend::bootstrap`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bootstrapped {
    /// The bucket did not exist and was created.
    pub bucket_created: bool,
    /// The table did not exist and was created.
    pub table_created: bool,
}

impl S3Backend {
    /// Creates what the backend needs, when missing, and (re)applies its
    /// settings; safe to run any number of times:
    ///
    /// - the bucket, in the configured region, with versioning enabled
    ///   (every state version is kept), all public access blocked, and
    ///   default encryption (SSE-KMS with the configured key, else SSE-S3);
    /// - the DynamoDB table (partition key `LockID`, on-demand billing),
    ///   waiting until it is active.
    pub async fn bootstrap(&self) -> Result<Bootstrapped, Error> {
        let bucket_created = self.create_bucket().await?;
        self.configure_bucket().await?;
        let table_created = self.create_table().await?;
        Ok(Bootstrapped { bucket_created, table_created })
    }

    async fn create_bucket(&self) -> Result<bool, Error> {
        let bucket = &self.config().bucket;
        let mut request = self.s3().create_bucket().bucket(bucket);
        if self.config().region != "us-east-1" {
            request = request.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(self.config().region.as_str()))
                    .build(),
            );
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e) => {
                let failure = Failure::of(&e);
                if failure.is("BucketAlreadyOwnedByYou") {
                    Ok(false)
                } else if failure.is("BucketAlreadyExists") {
                    Err(Error::BucketTaken { bucket: bucket.clone() })
                } else {
                    Err(Error::Bootstrap(failure.into_error("create bucket", &format!("s3://{bucket}"))))
                }
            }
        }
    }

    async fn configure_bucket(&self) -> Result<(), Error> {
        let bucket = &self.config().bucket;
        let location = format!("s3://{bucket}");
        let fail = |action: &str, f: Failure| Error::Bootstrap(f.into_error(action, &location));
        self.s3()
            .put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build(),
            )
            .send()
            .await
            .map_err(|e| fail("enable versioning on", Failure::of(&e)))?;
        self.s3()
            .put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| fail("block public access to", Failure::of(&e)))?;
        let mut default = ServerSideEncryptionByDefault::builder();
        default = match &self.config().kms_key_id {
            Some(key) => default.sse_algorithm(ServerSideEncryption::AwsKms).kms_master_key_id(key),
            None => default.sse_algorithm(ServerSideEncryption::Aes256),
        };
        let default = default.build().map_err(|e| config_error("kms_key_id", e))?;
        let encryption = ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(default).build(),
            )
            .build()
            .map_err(|e| config_error("kms_key_id", e))?;
        self.s3()
            .put_bucket_encryption()
            .bucket(bucket)
            .server_side_encryption_configuration(encryption)
            .send()
            .await
            .map_err(|e| fail("set default encryption of", Failure::of(&e)))?;
        Ok(())
    }

    async fn create_table(&self) -> Result<bool, Error> {
        let table = &self.config().dynamodb_table;
        let location = format!("DynamoDB table {table}");
        let definition = AttributeDefinition::builder()
            .attribute_name(KEY)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| config_error("dynamodb_table", e))?;
        let key = KeySchemaElement::builder()
            .attribute_name(KEY)
            .key_type(KeyType::Hash)
            .build()
            .map_err(|e| config_error("dynamodb_table", e))?;
        let created = match self
            .ddb()
            .create_table()
            .table_name(table)
            .attribute_definitions(definition)
            .key_schema(key)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
        {
            Ok(_) => true,
            Err(e) => {
                let failure = Failure::of(&e);
                if failure.is("ResourceInUseException") {
                    false
                } else {
                    return Err(Error::Bootstrap(failure.into_error("create", &location)));
                }
            }
        };
        let started = Instant::now();
        loop {
            let out = self
                .ddb()
                .describe_table()
                .table_name(table)
                .send()
                .await
                .map_err(|e| Error::Bootstrap(Failure::of(&e).into_error("describe", &location)))?;
            if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return Ok(created);
            }
            if started.elapsed() > TABLE_WAIT {
                return Err(Error::Bootstrap(infra_state::Error::Remote {
                    action: "wait for".to_owned(),
                    location,
                    code: None,
                    message: format!("the table is not active after {TABLE_WAIT:?}"),
                    request_id: None,
                }));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

fn config_error(field: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Config { field, reason: e.to_string() }
}
