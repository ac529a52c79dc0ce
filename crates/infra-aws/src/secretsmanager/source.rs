use infra_core::{Input, Sensitive};
use serde::{Deserialize, Serialize};

use crate::ids::SecretArn;

/// A sensitive value a resource sends to AWS and AWS never returns: a
/// database's master password, a Redis auth token.
///
/// Either way it appears in no plan, state, event or log: plans show
/// `(sensitive)`, the state keeps a keyed digest of a given value and only
/// the ARN of a secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretSource {
    /// Given by the stack program (an environment variable, a vault).
    Value(Sensitive<String>),
    /// The current value of a Secrets Manager secret, read by the provider
    /// just before the call that needs it and never returned to the
    /// engine: a [`super::GeneratedPassword`]'s secret
    /// (`password.secret_arn()`), so the password is made once and only
    /// AWS ever holds it.
    Secret(Input<SecretArn>),
}

impl SecretSource {
    /// The value's length when the stack knows it (for validation).
    pub fn given_len(&self) -> Option<usize> {
        match self {
            SecretSource::Value(v) => Some(v.0.len()),
            SecretSource::Secret(_) => None,
        }
    }
}

/// Reads a secret field (`#[resource(secret)]`) back: a [`SecretSource`]
/// as resolved for a call, or `None` for what the state records in its
/// place (a keyed digest, which an update's "before" or a delete's inputs
/// hold and which no call needs). Use it as the field's
/// `#[serde(deserialize_with = …)]`.
pub(crate) fn recorded_secret<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<SecretSource>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Read {
        Given(SecretSource),
        Recorded(#[allow(dead_code)] serde::de::IgnoredAny),
    }
    Ok(match Option::<Read>::deserialize(d)? {
        Some(Read::Given(s)) => Some(s),
        Some(Read::Recorded(_)) | None => None,
    })
}

#[cfg(feature = "secretsmanager")]
pub(crate) mod imp {
    use infra_engine::{ErrorKind, Operation, ProviderError};

    use super::SecretSource;
    use crate::kit::{Ctx, Service};

    /// The value to send: the given one, or the secret's current value
    /// (`GetSecretValue`, `AWSCURRENT`).
    pub(crate) async fn reveal(cx: &Ctx, source: &SecretSource) -> Result<String, ProviderError> {
        match source {
            SecretSource::Value(v) => Ok(v.0.clone()),
            SecretSource::Secret(arn) => {
                let call = cx.secretsmanager().get_secret_value().secret_id(arn.id());
                let out = cx
                    .send_in(Service::SecretsManager, "GetSecretValue", Operation::Read, || {
                        call.clone().send()
                    })
                    .await?;
                out.secret_string().map(str::to_owned).ok_or_else(|| {
                    ProviderError::new(
                        ErrorKind::Final,
                        format!("{}: the secret has no string value", arn.id()),
                    )
                    .with_code("InvalidInput")
                })
            }
        }
    }
}
