//! Client-side encryption with a KMS data key (feature `kms`), on the
//! emulator's S3, DynamoDB and KMS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use infra_state::conformance::sample_state;
use infra_state::{Backend, new_state};
use infra_state_s3::S3Backend;

#[tokio::test]
async fn state_is_encrypted_before_it_reaches_s3_and_reads_back() {
    let sdk = common::moto().sdk_config(common::REGION).unwrap();
    let kms = aws_sdk_kms::Client::new(&sdk);
    let key = kms.create_key().description("infra state").send().await.unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_owned();

    let config = common::config(Duration::from_secs(5)).with_client_encryption(&key_id);
    let backend = common::backend_with(config.clone()).await;
    let base = new_state().unwrap();
    let l = backend.lock("prod", "apply", Duration::ZERO).await.unwrap();
    let one = sample_state(&base, 1, "secret-marker-one");
    let v1 = backend.write(&*l, &one, None).await.unwrap();
    let two = sample_state(&base, 2, "secret-marker-two");
    backend.write(&*l, &two, Some(&v1)).await.unwrap();
    l.release().await.unwrap();

    // What S3 holds: no lineage, no marker, no resource ID in the clear.
    let s3 =
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let object = s3.get_object().bucket(common::BUCKET).key(config.object_key("prod")).send().await.unwrap();
    let raw = String::from_utf8(object.body.collect().await.unwrap().into_bytes().to_vec()).unwrap();
    for clear in [base.lineage.as_str(), "secret-marker-two", "vpc-0a1b2c3d4e5f60718"] {
        assert!(!raw.contains(clear), "{clear:?} stored in the clear");
    }
    assert!(raw.contains("\"infra_envelope\":1"), "{raw}");

    // Read back: the current state, and an earlier version.
    assert_eq!(backend.read("prod").await.unwrap().unwrap().0, two);
    let history = backend.history("prod").await.unwrap();
    assert_eq!(backend.read_version("prod", &history[0].version_id).await.unwrap(), one);

    // Another process, without the setting, reads it too (KMS unwraps the
    // key); version digests are the plaintext's, equal on both sides.
    let plain = S3Backend::with_sdk_config(config.clone().without_client_encryption(), &sdk).unwrap();
    let (read, version) = plain.read("prod").await.unwrap().unwrap();
    assert_eq!(read, two);
    assert_eq!(version, backend.read("prod").await.unwrap().unwrap().1);

    // Tampering is detected, never decoded.
    let tampered = raw.replacen("\"ciphertext\":\"", "\"ciphertext\":\"AAAA", 1);
    let current = s3
        .put_object()
        .bucket(common::BUCKET)
        .key(config.object_key("prod"))
        .body(tampered.into_bytes().into())
        .send()
        .await
        .unwrap();
    let err = backend.read_version("prod", current.version_id().unwrap()).await.unwrap_err();
    assert!(err.to_string().contains("does not authenticate"), "{err}");
}

/// The whole conformance suite, with every state encrypted client-side.
mod conformance_with_client_encryption {
    use super::*;
    use infra_state::conformance::Fixture;

    async fn fixture() -> Fixture {
        let sdk = common::moto().sdk_config(common::REGION).unwrap();
        let key = aws_sdk_kms::Client::new(&sdk).create_key().send().await.unwrap();
        let key_id = key.key_metadata().unwrap().key_id().to_owned();
        let config = common::config(Duration::from_secs(5)).with_client_encryption(key_id);
        Fixture::new(common::backend_with(config).await)
    }

    infra_state::backend_conformance_tests!(fixture());
}
