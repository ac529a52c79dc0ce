//! Client-side encryption of state objects with a KMS data key (feature
//! `kms`): the state is encrypted with AES-256-GCM before it leaves the
//! process, under a data key that KMS generates and only KMS can unwrap.
//!
//! The object is a small JSON envelope:
//!
//! ```json
//! {"infra_envelope": 1, "kms_key_id": "alias/infra-state",
//!  "encrypted_key": "<base64 KMS ciphertext blob>",
//!  "nonce": "<base64, 12 bytes>", "ciphertext": "<base64 AES-256-GCM>"}
//! ```
//!
//! The digest the commit record holds is the plaintext state's, so
//! versions compare the same whether or not they are encrypted. Reading
//! needs only `kms:Decrypt` on the key (no setting): a backend without
//! client-side encryption configured still reads encrypted state.

use std::sync::Mutex;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use aws_smithy_types::base64;
use infra_state::Error;
use serde::{Deserialize, Serialize};

use crate::backend::is_envelope;
use crate::error::Failure;

/// The envelope's format version.
const ENVELOPE_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    infra_envelope: u32,
    kms_key_id: String,
    encrypted_key: String,
    nonce: String,
    ciphertext: String,
}

/// A data key: the plaintext (kept in memory only) and its KMS-encrypted
/// form (stored in every envelope).
struct DataKey {
    plaintext: Vec<u8>,
    encrypted: Vec<u8>,
}

/// Encrypts and decrypts state objects; caches one data key per process
/// for writing (with a fresh random nonce per object) and the keys it
/// unwrapped for reading.
pub(crate) struct Sealer {
    kms: aws_sdk_kms::Client,
    key_id: Option<String>,
    write_key: Mutex<Option<std::sync::Arc<DataKey>>>,
    read_keys: Mutex<Vec<std::sync::Arc<DataKey>>>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl Sealer {
    pub(crate) fn new(kms: aws_sdk_kms::Client, key_id: Option<String>) -> Self {
        Sealer { kms, key_id, write_key: Mutex::new(None), read_keys: Mutex::new(Vec::new()) }
    }

    /// The envelope for `plaintext` (the encoded state).
    pub(crate) async fn seal(&self, plaintext: &[u8], location: &str) -> Result<Vec<u8>, Error> {
        let Some(key_id) = &self.key_id else { return Ok(plaintext.to_vec()) };
        let key = self.write_key(key_id, location).await?;
        let cipher = Aes256Gcm::new_from_slice(&key.plaintext).map_err(|e| crypto(location, e))?;
        let mut nonce = [0u8; 12];
        getrandom(&mut nonce)?;
        let ciphertext =
            cipher.encrypt(Nonce::from_slice(&nonce), plaintext).map_err(|e| crypto(location, e))?;
        let envelope = Envelope {
            infra_envelope: ENVELOPE_VERSION,
            kms_key_id: key_id.clone(),
            encrypted_key: base64::encode(&key.encrypted),
            nonce: base64::encode(nonce),
            ciphertext: base64::encode(ciphertext),
        };
        let mut bytes = serde_json::to_vec(&envelope).map_err(|e| Error::Encode { reason: e.to_string() })?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// The plaintext of a stored object: envelopes are decrypted, plain
    /// state files pass through.
    pub(crate) async fn open(&self, stored: Vec<u8>, location: &str) -> Result<Vec<u8>, Error> {
        if !is_envelope(&stored) {
            return Ok(stored);
        }
        let corrupt = |reason: String| Error::Corrupt { location: location.to_owned(), reason };
        let envelope: Envelope = serde_json::from_slice(&stored)
            .map_err(|e| corrupt(format!("not a valid encrypted state: {e}")))?;
        if envelope.infra_envelope != ENVELOPE_VERSION {
            return Err(corrupt(format!(
                "encrypted with envelope version {}, this infra reads version {ENVELOPE_VERSION}",
                envelope.infra_envelope
            )));
        }
        let decode = |field: &str, text: &str| {
            base64::decode(text).map_err(|e| corrupt(format!("envelope field {field} is not base64: {e}")))
        };
        let encrypted_key = decode("encrypted_key", &envelope.encrypted_key)?;
        let nonce = decode("nonce", &envelope.nonce)?;
        let ciphertext = decode("ciphertext", &envelope.ciphertext)?;
        if nonce.len() != 12 {
            return Err(corrupt("envelope nonce is not 12 bytes".to_owned()));
        }
        let key = self.read_key(&encrypted_key, location).await?;
        let cipher = Aes256Gcm::new_from_slice(&key.plaintext).map_err(|e| crypto(location, e))?;
        cipher.decrypt(Nonce::from_slice(&nonce), ciphertext.as_slice()).map_err(|_| {
            corrupt("the encrypted state does not authenticate (altered, or a wrong key)".to_owned())
        })
    }

    async fn write_key(&self, key_id: &str, location: &str) -> Result<std::sync::Arc<DataKey>, Error> {
        if let Some(k) = self.write_key.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone() {
            return Ok(k);
        }
        let out = self
            .kms
            .generate_data_key()
            .key_id(key_id)
            .key_spec(DataKeySpec::Aes256)
            .send()
            .await
            .map_err(|e| Failure::of(&e).into_error("generate a data key for", location))?;
        let (Some(plaintext), Some(encrypted)) = (out.plaintext(), out.ciphertext_blob()) else {
            return Err(Error::Remote {
                action: "generate a data key for".to_owned(),
                location: location.to_owned(),
                code: None,
                message: "KMS returned no key".to_owned(),
                request_id: None,
            });
        };
        let key = std::sync::Arc::new(DataKey {
            plaintext: plaintext.as_ref().to_vec(),
            encrypted: encrypted.as_ref().to_vec(),
        });
        *self.write_key.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(key.clone());
        Ok(key)
    }

    async fn read_key(&self, encrypted: &[u8], location: &str) -> Result<std::sync::Arc<DataKey>, Error> {
        let cached =
            |keys: &[std::sync::Arc<DataKey>]| keys.iter().find(|k| k.encrypted == encrypted).cloned();
        if let Some(k) = cached(&self.read_keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner)) {
            return Ok(k);
        }
        if let Some(k) = self.write_key.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
            && k.encrypted == encrypted
        {
            return Ok(k);
        }
        let out = self
            .kms
            .decrypt()
            .ciphertext_blob(Blob::new(encrypted.to_vec()))
            .send()
            .await
            .map_err(|e| Failure::of(&e).into_error("decrypt the data key of", location))?;
        let plaintext = out.plaintext().map(|p| p.as_ref().to_vec()).unwrap_or_default();
        let key = std::sync::Arc::new(DataKey { plaintext, encrypted: encrypted.to_vec() });
        self.read_keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(key.clone());
        Ok(key)
    }
}

fn crypto(location: &str, e: impl std::fmt::Display) -> Error {
    Error::Corrupt { location: location.to_owned(), reason: format!("encryption failed: {e}") }
}

fn getrandom(buf: &mut [u8]) -> Result<(), Error> {
    ::getrandom::fill(buf).map_err(|e| Error::Random { reason: e.to_string() })
}
