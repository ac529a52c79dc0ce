use infra_core::{Input, ValidationContext};
use infra_derive::Resource;
use serde::Serialize;

use crate::ids::CertificateArn;

/// The wait for a certificate's issue (`aws_acm_certificate_validation`).
/// It has no API object of its own: the create checks the certificate
/// (and, when `validation_record_fqdns` is set, that every DNS record the
/// certificate asks for is among them), then readiness polls, within the
/// create timeout (`Options::create_timeout`; 75 minutes by default, as
/// Terraform's), until the certificate is `ISSUED`; `FAILED` and
/// `VALIDATION_TIMED_OUT` fail the step. Deleting it makes no call.
///
/// Its ID is the certificate's ARN; its output `certificate_arn` is the
/// ARN once issued: give that to a listener, so it waits for the issue.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::acm::{Certificate, CertificateValidation};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let cert = stack.add("main", Certificate {
///     domain_name: "example.com".into(),
///     validation_method: "DNS".into(),
///     ..Default::default()
/// });
/// stack.add("main-validation", CertificateValidation {
///     certificate_arn: cert.arn().into(),
///     validation_record_fqdns: vec![cert.validation_record(0).resource_record_name.into()],
/// });
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:acm:CertificateValidation",
    outputs(certificate_arn: CertificateArn),
    readiness = "on_available",
    validate = validate_validation
)]
pub struct CertificateValidation {
    /// The certificate (`certificate.arn()`).
    #[resource(force_new)]
    pub certificate_arn: Input<CertificateArn>,
    /// The names of the DNS validation records (e.g. the Route 53 records'
    /// names): checked against the certificate's, and an ordering edge.
    #[resource(force_new, set)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub validation_record_fqdns: Vec<Input<String>>,
}

fn validate_validation(_: &CertificateValidation, ctx: &mut ValidationContext<'_>) {
    crate::rules::region(ctx);
}

#[cfg(feature = "acm")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use aws_sdk_acm::types::{CertificateDetail, CertificateStatus};
    use infra_core::Input;
    use infra_engine::{ErrorKind, ProviderError, Timings};

    use super::{CertificateValidation, CertificateValidationOut};
    use crate::acm::sdk::{certificate, each};
    use crate::ids::CertificateArn;
    use crate::kit::{Created, Ctx, Kind, Lookup, Seen, Service, Status, Tags, settle};

    /// `aws:acm:CertificateValidation`.
    #[derive(Debug)]
    pub(crate) struct CertificateValidationKind;

    fn seen(arn: &str, c: &CertificateDetail) -> Seen<CertificateValidationKind> {
        let status = match c.status() {
            Some(CertificateStatus::PendingValidation) => Status::Pending("PENDING_VALIDATION".into()),
            Some(s @ (CertificateStatus::Failed | CertificateStatus::ValidationTimedOut)) => {
                let reason = c.failure_reason().map(|r| format!(": {}", r.as_str())).unwrap_or_default();
                Status::Failed(format!("the certificate {arn} is {}{reason}", s.as_str()))
            }
            _ => Status::Ready,
        };
        let decl = CertificateValidation {
            certificate_arn: Input::Value(CertificateArn::unchecked(arn)),
            validation_record_fqdns: Vec::new(),
        };
        let out = CertificateValidationOut { certificate_arn: CertificateArn::unchecked(arn) };
        Seen { id: arn.to_owned(), decl, out, tags: Tags::new(), status }
    }

    async fn get(cx: &Ctx, arn: String) -> Result<Option<Seen<CertificateValidationKind>>, ProviderError> {
        Ok(certificate(cx, &arn).await?.map(|c| seen(&arn, &c)))
    }

    /// A record name as written in DNS: lower case, without the final dot.
    fn fqdn(s: &str) -> String {
        s.trim_end_matches('.').to_ascii_lowercase()
    }

    #[async_trait]
    impl Kind for CertificateValidationKind {
        type Decl = CertificateValidation;
        type Out = CertificateValidationOut;
        const SERVICE: Service = Service::Acm;
        const TIMINGS: Timings = Timings::secs(1, 1, 0, 2, 75 * 60);
        const TAGGED: bool = false;
        const ADOPT_UNTAGGED: bool = true;
        const WRITE_ONLY: &'static [&'static str] = &["validation_record_fqdns"];

        async fn list(
            &self,
            cx: &Ctx,
            by: Lookup<'_, CertificateValidation>,
        ) -> Result<Vec<Seen<Self>>, ProviderError> {
            match by {
                Lookup::Ids(ids) => each(ids, |arn| get(cx, arn)).await,
                // Nothing to find after a failed create: it made nothing,
                // and its check must pass before the wait counts.
                Lookup::Tag(..) | Lookup::Key(_) => Ok(Vec::new()),
            }
        }

        async fn create(
            &self,
            cx: &Ctx,
            d: &CertificateValidation,
            tags: &Tags,
            token: &str,
        ) -> Result<String, ProviderError> {
            self.create_seen(cx, d, tags, token).await.map(Created::into_id)
        }

        async fn create_seen(
            &self,
            cx: &Ctx,
            d: &CertificateValidation,
            _: &Tags,
            _: &str,
        ) -> Result<Created<Self>, ProviderError> {
            let arn = d.certificate_arn.id();
            let c = settle(|| async {
                certificate(cx, arn).await?.ok_or_else(|| {
                    ProviderError::new(ErrorKind::EventualConsistency, format!("{arn} is not visible yet"))
                        .with_code("NotVisibleYet")
                })
            })
            .await?;
            if !d.validation_record_fqdns.is_empty() {
                let given: Vec<String> = d.validation_record_fqdns.iter().map(|f| fqdn(f.as_str())).collect();
                let missing: Vec<String> = c
                    .domain_validation_options()
                    .iter()
                    .filter_map(|o| o.resource_record().map(|r| (o.domain_name(), fqdn(r.name()))))
                    .filter(|(_, name)| !given.contains(name))
                    .map(|(domain, name)| format!("{name} (for {domain})"))
                    .collect();
                if !missing.is_empty() {
                    return Err(ProviderError::new(
                        ErrorKind::Final,
                        format!(
                            "validation_record_fqdns lacks the DNS validation record(s) {arn} asks for: {}",
                            missing.join(", ")
                        ),
                    )
                    .with_code("InvalidInput"));
                }
            }
            let seen = seen(arn, &c);
            if let Status::Failed(message) = &seen.status {
                return Err(
                    ProviderError::new(ErrorKind::Final, message.clone()).with_code("CertificateFailed")
                );
            }
            Ok(Created::Seen(seen))
        }

        /// No call: the validation is a wait, with nothing to delete.
        async fn delete(&self, _: &Ctx, _: &str, _: &CertificateValidation) -> Result<(), ProviderError> {
            Ok(())
        }
    }
}
