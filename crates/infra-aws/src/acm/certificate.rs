use std::collections::BTreeMap;

use infra_core::{Input, Output, ValidationContext};
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use crate::ids::CertificateArn;

/// An ACM certificate (`aws_acm_certificate`) that Amazon issues once the
/// domains are validated. [`super::CertificateValidation`] waits for that;
/// the DNS records to create are the typed output
/// `domain_validation_options` (one per domain: its `domain_name`,
/// `resource_record_name`, `resource_record_type`, `resource_record_value`),
/// reached one at a time with [`CertificateOutputs::validation_record`].
///
/// The domains, the validation method and the key algorithm cannot change:
/// a change replaces the certificate, create-before-destroy (a listener
/// keeps using the old one until it has the new one). The certificate
/// transparency preference and the tags change in place.
///
/// A certificate has no unique natural key: its create passes the engine's
/// token as `IdempotencyToken`, so a repeated create (its answer lost)
/// returns the same certificate.
///
/// Outputs: `certificate.arn()` (`CertificateArn`) and
/// `certificate.domain_validation_options()`. Ready on its ARN; the create
/// returns once AWS shows the DNS validation records.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::acm::{Certificate, CertificateValidation};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let cert = stack.add_with("main", Certificate {
///     domain_name: "app.example.com".into(),
///     subject_alternative_names: vec!["*.app.example.com".into()],
///     validation_method: "DNS".into(),
///     ..Default::default()
/// }, Options::new().create_before_destroy());
/// // The CNAME to create for the first domain (`app.example.com`).
/// let record = cert.validation_record(0);
/// let _name: Output<String> = record.resource_record_name;
/// let validated = stack.add("main-validation", CertificateValidation {
///     certificate_arn: cert.arn().into(),
///     ..Default::default()
/// });
/// let _for_the_listener: Output<infra::aws::ids::CertificateArn> = validated.certificate_arn();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:acm:Certificate",
    outputs(arn: CertificateArn, domain_validation_options: Vec<DomainValidationOption>),
    readiness = "on_id",
    replace = "create_before_destroy",
    validate = validate_certificate,
    normalise = canonical
)]
pub struct Certificate {
    /// The certificate's main domain (`app.example.com`, `*.example.com`).
    #[resource(force_new)]
    pub domain_name: String,
    /// More domains in the certificate (a set; the main one is implied).
    #[resource(force_new, set)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subject_alternative_names: Vec<String>,
    /// `DNS` (the records of `domain_validation_options`) or `EMAIL`.
    #[resource(force_new)]
    pub validation_method: String,
    /// `RSA_2048` (the default, recorded as unset), `RSA_3072`,
    /// `RSA_4096`, `EC_prime256v1`, `EC_secp384r1` or `EC_secp521r1`.
    #[resource(force_new)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_algorithm: Option<Input<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<CertificateOptions>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A certificate's options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateOptions {
    /// `ENABLED` (the default, recorded as unset) or `DISABLED`: whether
    /// the certificate is logged in public certificate transparency logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_transparency_logging_preference: Option<String>,
}

/// One domain's validation: the DNS record that proves control of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainValidationOption {
    pub domain_name: String,
    /// The record's name (`_x1.app.example.com.`).
    pub resource_record_name: String,
    /// `CNAME`.
    pub resource_record_type: String,
    pub resource_record_value: String,
}

/// The outputs of one element of `domain_validation_options`, for a DNS
/// record (see [`CertificateOutputs::validation_record`]).
#[derive(Debug, Clone)]
pub struct ValidationRecordOutputs {
    pub domain_name: Output<String>,
    pub resource_record_name: Output<String>,
    pub resource_record_type: Output<String>,
    pub resource_record_value: Output<String>,
}

impl CertificateOutputs {
    /// The validation record of domain `i`: 0 is `domain_name`, then the
    /// subject alternative names in sorted order (the order of
    /// `domain_validation_options`). A wildcard and its base domain
    /// (`*.example.com`, `example.com`) share one record: create it once.
    pub fn validation_record(&self, i: usize) -> ValidationRecordOutputs {
        let address = self.arn().address().clone();
        let field = |f: &str| Output::new(address.clone(), &format!("domain_validation_options.{i}.{f}"));
        ValidationRecordOutputs {
            domain_name: field("domain_name"),
            resource_record_name: field("resource_record_name"),
            resource_record_type: field("resource_record_type"),
            resource_record_value: field("resource_record_value"),
        }
    }
}

const KEY_ALGORITHMS: &[&str] =
    &["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"];

fn validate_certificate(c: &Certificate, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &c.tags);
    let domain = |ctx: &mut ValidationContext<'_>, field: &str, d: &str| {
        let labels_ok = d.trim_start_matches("*.").split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        if d.is_empty() || d.len() > 253 || !labels_ok || d.ends_with('.') {
            ctx.error(field, format!("{d:?} is not a domain name (e.g. app.example.com or *.example.com)"));
        }
    };
    domain(ctx, "domain_name", &c.domain_name);
    for (i, san) in c.subject_alternative_names.iter().enumerate() {
        domain(ctx, &format!("subject_alternative_names[{i}]"), san);
    }
    if c.subject_alternative_names.len() > 99 {
        ctx.error("subject_alternative_names", "a certificate has at most 100 domains");
    }
    if !matches!(c.validation_method.as_str(), "DNS" | "EMAIL") {
        ctx.error("validation_method", format!("{:?} must be DNS or EMAIL", c.validation_method));
    }
    if let Some(k) = c.key_algorithm.as_ref().and_then(Input::value)
        && !KEY_ALGORITHMS.contains(&k.as_str())
    {
        ctx.error("key_algorithm", format!("{k:?} must be one of {}", KEY_ALGORITHMS.join(", ")));
    }
    if let Some(p) = c.options.as_ref().and_then(|o| o.certificate_transparency_logging_preference.as_deref())
        && p != "ENABLED"
        && p != "DISABLED"
    {
        ctx.error(
            "options.certificate_transparency_logging_preference",
            format!("{p:?} must be ENABLED or DISABLED"),
        );
    }
}

/// The canonical form: the alternative names sorted, without the main
/// domain (AWS lists it among them); defaults unset.
fn canonical(c: &mut Certificate) {
    let main = c.domain_name.clone();
    c.subject_alternative_names.retain(|s| *s != main);
    c.subject_alternative_names.sort();
    c.subject_alternative_names.dedup();
    if c.key_algorithm.as_ref().and_then(Input::value).is_some_and(|k| k == "RSA_2048") {
        c.key_algorithm = None;
    }
    if let Some(o) = &mut c.options
        && o.certificate_transparency_logging_preference.as_deref() == Some("ENABLED")
    {
        o.certificate_transparency_logging_preference = None;
    }
    if c.options.as_ref().is_some_and(|o| o.certificate_transparency_logging_preference.is_none()) {
        c.options = None;
    }
}

#[cfg(feature = "acm")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_acm::types::{
        CertificateDetail, CertificateOptions as AcmOptions, CertificateTransparencyLoggingPreference,
        KeyAlgorithm, ValidationMethod,
    };
    use infra_core::{Input, Value};
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{Certificate, CertificateOptions, CertificateOut, DomainValidationOption};
    use crate::acm::sdk::{acm_tags, certificate, each, idempotency_token, tags_of};
    use crate::ids::CertificateArn;
    use crate::kit::{Created, Ctx, Kind, Lookup, Seen, Service, Tags, missing, settle, user_tags};

    /// `aws:acm:Certificate`.
    #[derive(Debug)]
    pub(crate) struct CertificateKind;

    /// The validation records, the main domain's first, then the others
    /// sorted (the order `validation_record(i)` documents).
    fn validation_options(c: &CertificateDetail) -> Vec<DomainValidationOption> {
        let main = c.domain_name().unwrap_or_default();
        let mut out: Vec<DomainValidationOption> = c
            .domain_validation_options()
            .iter()
            .map(|o| {
                let r = o.resource_record();
                DomainValidationOption {
                    domain_name: o.domain_name().to_owned(),
                    resource_record_name: r.map(|r| r.name().to_owned()).unwrap_or_default(),
                    resource_record_type: r.map(|r| r.r#type().as_str().to_owned()).unwrap_or_default(),
                    resource_record_value: r.map(|r| r.value().to_owned()).unwrap_or_default(),
                }
            })
            .collect();
        out.sort_by(|a, b| {
            (a.domain_name != main, &a.domain_name).cmp(&(b.domain_name != main, &b.domain_name))
        });
        out.dedup_by(|a, b| a.domain_name == b.domain_name);
        out
    }

    pub(super) fn seen(c: &CertificateDetail, tags: Tags) -> Result<Seen<CertificateKind>, ProviderError> {
        let arn = c.certificate_arn().ok_or_else(|| missing("certificate ARN"))?.to_owned();
        // The key algorithm never changes after the request. AWS's default
        // (RSA_2048) is reported unknown, so refresh keeps what was
        // recorded: the emulator answers RSA_2048 for every algorithm, and
        // on AWS the recorded value is the one requested.
        let key_algorithm = match c.key_algorithm().map(KeyAlgorithm::as_str) {
            None | Some("RSA_2048") => Some(Input::Expr(Value::Unknown)),
            Some(k) => Some(Input::Value(k.to_owned())),
        };
        let method = c
            .domain_validation_options()
            .iter()
            .find_map(|o| o.validation_method())
            .map_or("DNS", ValidationMethod::as_str);
        let decl = Certificate {
            domain_name: c.domain_name().unwrap_or_default().to_owned(),
            subject_alternative_names: c.subject_alternative_names().to_vec(),
            validation_method: method.to_owned(),
            key_algorithm,
            options: c.options().map(|o| CertificateOptions {
                certificate_transparency_logging_preference: o
                    .certificate_transparency_logging_preference()
                    .map(|p| p.as_str().to_owned()),
            }),
            tags: user_tags(&tags),
        };
        let out = CertificateOut {
            arn: CertificateArn::unchecked(&arn),
            domain_validation_options: validation_options(c),
        };
        Ok(Seen::ready(arn, decl, out, tags))
    }

    async fn get(cx: &Ctx, arn: String) -> Result<Option<Seen<CertificateKind>>, ProviderError> {
        let Some(c) = certificate(cx, &arn).await? else { return Ok(None) };
        let tags = tags_of(cx, &arn).await?;
        seen(&c, tags).map(Some)
    }

    fn options(o: &Option<CertificateOptions>) -> AcmOptions {
        let pref = o
            .as_ref()
            .and_then(|o| o.certificate_transparency_logging_preference.as_deref())
            .unwrap_or("ENABLED");
        AcmOptions::builder()
            .certificate_transparency_logging_preference(CertificateTransparencyLoggingPreference::from(pref))
            .build()
    }

    #[async_trait]
    impl Kind for CertificateKind {
        type Decl = Certificate;
        type Out = CertificateOut;
        const SERVICE: Service = Service::Acm;
        const TIMINGS: Timings = Timings::secs(2, 1, 1, 2, 300);

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, Certificate>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            match by {
                Lookup::Ids(ids) => each(ids, |arn| get(cx, arn)).await,
                // ACM lists no tags and a certificate has no unique key: a
                // repeated create finds its certificate by its token.
                Lookup::Tag(..) | Lookup::Key(_) => Ok(Vec::new()),
            }
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &Certificate,
            tags: &Tags,
            token: &str,
        ) -> Result<String, ProviderError> {
            self.create_seen(cx, d, tags, token).await.map(Created::into_id)
        }

        async fn create_seen(
            &self,
            cx: &Ctx,
            d: &Certificate,
            tags: &Tags,
            token: &str,
        ) -> Result<Created<Self>, ProviderError> {
            let sans = (!d.subject_alternative_names.is_empty()).then(|| {
                let mut all = vec![d.domain_name.clone()];
                all.extend(d.subject_alternative_names.iter().cloned());
                all
            });
            let call = cx
                .acm()
                .request_certificate()
                .domain_name(&d.domain_name)
                .set_subject_alternative_names(sans)
                .validation_method(ValidationMethod::from(d.validation_method.as_str()))
                .set_key_algorithm(d.key_algorithm.as_ref().map(|k| KeyAlgorithm::from(k.as_str())))
                .options(options(&d.options))
                .idempotency_token(idempotency_token(token))
                .set_tags(Some(acm_tags(tags)?));
            let out = cx
                .send_in(Service::Acm, "RequestCertificate", Operation::Create, || call.clone().send())
                .await?;
            let arn = out.certificate_arn.ok_or_else(|| missing("certificate ARN"))?;
            // The DNS records appear a few seconds after the request: the
            // create returns with them, so the records can be made next.
            let dns = d.validation_method == "DNS";
            let c = settle(|| async {
                let c = certificate(cx, &arn).await?.ok_or_else(|| not_yet(&arn, "visible"))?;
                let waiting = c.domain_validation_options().is_empty()
                    || c.domain_validation_options().iter().any(|o| o.resource_record().is_none());
                if dns && waiting { Err(not_yet(&arn, "showing its DNS validation records")) } else { Ok(c) }
            })
            .await?;
            Ok(Created::Seen(seen(&c, tags.clone())?))
        }

        async fn update(
            &self,
            cx: &Ctx,
            id: &str,
            c: crate::kit::Change<'_, Certificate>,
        ) -> Result<(), ProviderError> {
            if c.fields.iter().any(|f| f == "options") {
                let call = cx
                    .acm()
                    .update_certificate_options()
                    .certificate_arn(id)
                    .options(options(&c.after.options));
                cx.send_in(Service::Acm, "UpdateCertificateOptions", Operation::Update, || {
                    call.clone().send()
                })
                .await?;
            }
            Ok(())
        }

        async fn retag(
            &self,
            cx: &Ctx,
            id: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            if !remove.is_empty() {
                let keys = remove.iter().map(|k| aws_sdk_acm::types::Tag::builder().key(*k).build());
                let keys = keys.collect::<Result<Vec<_>, _>>().map_err(|e| {
                    ProviderError::new(ErrorKind::Final, format!("tags: {e}")).with_code("InvalidInput")
                })?;
                let call = cx.acm().remove_tags_from_certificate().certificate_arn(id).set_tags(Some(keys));
                cx.send_in(Service::Acm, "RemoveTagsFromCertificate", Operation::Update, || {
                    call.clone().send()
                })
                .await?;
            }
            if !add.is_empty() {
                let call = cx
                    .acm()
                    .add_tags_to_certificate()
                    .certificate_arn(id)
                    .set_tags(Some(acm_tags(add.iter().copied())?));
                cx.send_in(Service::Acm, "AddTagsToCertificate", Operation::Update, || call.clone().send())
                    .await?;
            }
            Ok(())
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &Certificate) -> Result<(), ProviderError> {
            let call = cx.acm().delete_certificate().certificate_arn(id);
            match cx
                .send_in(Service::Acm, "DeleteCertificate", Operation::Delete, || call.clone().send())
                .await
            {
                Ok(_) => Ok(()),
                // Still in use (a listener that moved to the replacement
                // moments ago, as ACM sees it): the executor retries. The
                // emulator deletes a certificate in use.
                Err(e) if e.code.as_deref() == Some("ResourceInUseException") => Err(ProviderError {
                    kind: ErrorKind::EventualConsistency,
                    message: format!("{} (the certificate is still in use)", e.message),
                    ..e
                }),
                Err(e) => Err(e),
            }
        }
    }

    fn not_yet(arn: &str, what: &str) -> ProviderError {
        ProviderError::new(ErrorKind::EventualConsistency, format!("{arn} is not {what} yet"))
            .with_code("NotVisibleYet")
    }
}
