//! ACM on the emulator (`MOTO_ACM_VALIDATION_WAIT=1`: a certificate is
//! issued about a second after its request): the certificate and its
//! validation's lifecycle in both regions; a lost RequestCertificate
//! answer makes one certificate; the validation records as typed outputs
//! wired into the validation; missing records refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;
use infra_aws::acm::{Certificate, CertificateOptions, CertificateValidation};
use infra_core::plan::PlanOptions;
use infra_core::{Options, ProviderKey, ReplaceOrder, Stack};
use infra_engine::Mode;
use infra_testkit::faults::{Effect, Fault};

fn acm(w: &World, region: &str) -> aws_sdk_acm::Client {
    let sdk = infra_testkit::loopback_sdk_config(&w.endpoint, region).unwrap();
    aws_sdk_acm::Client::from_conf(aws_sdk_acm::config::Builder::from(&sdk).build())
}

fn both<'a>(us: &'a ProviderKey, eu: &'a ProviderKey) -> [(&'a ProviderKey, &'static str); 2] {
    [(us, "us"), (eu, "eu")]
}

/// A certificate and its validation; v1 changes what changes in place, v2
/// adds a domain.
fn declare(s: &mut Stack, key: &ProviderKey, r: &str, v: u8, key_algorithm: Option<&str>) {
    declare_with(s, key, r, v, key_algorithm, "DISABLED");
}

fn declare_with(
    s: &mut Stack,
    key: &ProviderKey,
    r: &str,
    v: u8,
    key_algorithm: Option<&str>,
    transparency: &str,
) {
    let domain = format!("app-{r}.example.com");
    let mut sans = vec![format!("*.{domain}")];
    if v == 2 {
        sans.push(format!("api-{r}.example.com"));
    }
    let domains = 1 + sans.len();
    let cert = s.add_with(
        &format!("cert-{r}"),
        Certificate {
            domain_name: domain,
            subject_alternative_names: sans,
            validation_method: "DNS".into(),
            key_algorithm: key_algorithm.map(Into::into),
            // The emulator has no UpdateCertificateOptions: the options are
            // requested, and read back, but not changed here (see
            // `a_changed_transparency_preference_is_an_update_in_place`).
            options: Some(CertificateOptions {
                certificate_transparency_logging_preference: Some(transparency.into()),
            }),
            tags: BTreeMap::from([("team".to_owned(), format!("t{}", v.min(1)))]),
        },
        Options::new().provider(key).create_before_destroy(),
    );
    s.add_with(
        &format!("cert-{r}-validation"),
        CertificateValidation {
            certificate_arn: cert.arn().into(),
            // One record per domain: the main one, then the others sorted
            // (the wildcard shares the main domain's record).
            validation_record_fqdns: (0..domains)
                .map(|i| cert.validation_record(i).resource_record_name.into())
                .collect(),
        },
        Options::new().provider(key),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_and_validation() {
    lifecycle(
        "cert",
        |s, us, eu, v| {
            for (key, r) in both(us, eu) {
                // An EC key in one region: the emulator reports RSA_2048
                // for it, which must not plan a replacement.
                declare(s, key, r, v, (r == "eu").then_some("EC_prime256v1"));
            }
        },
        &["cert-us", "cert-eu", "cert-us-validation", "cert-eu-validation"],
        ReplaceOrder::CreateBeforeDestroy,
    )
    .await;
}

async fn certificates(w: &World, region: &str) -> Vec<String> {
    let out = acm(w, region).list_certificates().send().await.unwrap();
    out.certificate_summary_list().iter().filter_map(|c| c.certificate_arn().map(str::to_owned)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_answer_is_lost_makes_one_certificate() {
    for effect in [Effect::LoseResponse, Effect::Unavailable, Effect::Throttle] {
        let w = world_through_proxy();
        let (mut s, us, _) = stack("lost");
        declare(&mut s, &us, "us", 0, None);
        proxy().set(vec![Fault::new("RequestCertificate", 1, effect)]);
        let (o, _) = w.apply(&s).await;
        assert_eq!(
            proxy().injected(),
            vec![("RequestCertificate".to_owned(), effect)],
            "{effect:?}: no fault hit"
        );
        proxy().set(Vec::new());
        assert!(o.report.success(), "{effect:?}: {:?}", o.report);
        let arns = certificates(&w, "us-east-1").await;
        assert_eq!(arns.len(), 1, "{effect:?}: {arns:?}");
        assert_eq!(o.state.resources[&addr("cert-us")].id, arns[0], "{effect:?}");
        assert!(w.converged(&s).await, "{effect:?}: the plan after apply is not empty");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_validation_records_are_typed_outputs_and_the_validation_waits_for_the_issue() {
    let w = world();
    let (mut s, us, _) = stack("records");
    declare(&mut s, &us, "us", 0, None);
    let (o, _) = w.apply(&s).await;
    let cert = &o.state.resources[&addr("cert-us")];
    let records = &cert.outputs["domain_validation_options"];
    let infra_core::Value::List(records) = records else { panic!("{records:?}") };
    assert_eq!(records.len(), 2, "{records:?}");
    let first =
        infra_core::value::output_at(&cert.outputs, "domain_validation_options.0.domain_name").unwrap();
    assert_eq!(first, infra_core::Value::from("app-us.example.com"));
    let record_type =
        infra_core::value::output_at(&cert.outputs, "domain_validation_options.0.resource_record_type")
            .unwrap();
    assert_eq!(record_type, infra_core::Value::from("CNAME"));
    // The validation is ready only once the certificate is issued.
    let described =
        acm(&w, "us-east-1").describe_certificate().certificate_arn(&cert.id).send().await.unwrap();
    assert_eq!(described.certificate().unwrap().status().unwrap().as_str(), "ISSUED");
    let validated = &o.state.resources[&addr("cert-us-validation")];
    assert_eq!(validated.outputs["certificate_arn"], infra_core::Value::from(cert.id.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validation_without_the_certificates_records_is_refused() {
    let w = world();
    let (mut s, us, _) = stack("norecord");
    let cert = s.add_with(
        "cert",
        Certificate {
            domain_name: "norecord.example.com".into(),
            validation_method: "DNS".into(),
            ..Default::default()
        },
        Options::new().provider(&us),
    );
    s.add_with(
        "validation",
        CertificateValidation {
            certificate_arn: cert.arn().into(),
            validation_record_fqdns: vec!["_wrong.norecord.example.com".into()],
        },
        Options::new().provider(&us),
    );
    let (o, _) = w.run(&s, Mode::Apply(PlanOptions::default())).await;
    assert_eq!(o.report.failed.len(), 1, "{:?}", o.report);
    let error = &o.report.failed[0].2;
    assert!(error.contains("validation_record_fqdns") && error.contains("norecord.example.com"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_changed_outside_the_stack_are_put_back() {
    let w = world();
    let (mut s, us, _) = stack("drift");
    declare(&mut s, &us, "us", 1, None);
    let (o, _) = w.apply(&s).await;
    let arn = o.state.resources[&addr("cert-us")].id.clone();
    let client = acm(&w, "us-east-1");
    let tag = aws_sdk_acm::types::Tag::builder().key("team").build().unwrap();
    client.remove_tags_from_certificate().certificate_arn(&arn).tags(tag).send().await.unwrap();
    let (o, _) = w.apply(&s).await;
    let actions: Vec<_> = o.plan.actionable().map(|c| (c.address.to_string(), c.action.clone())).collect();
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert!(matches!(actions[0].1, infra_core::Action::Update), "{actions:?}");
    let tags = client.list_tags_for_certificate().certificate_arn(&arn).send().await.unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == "team" && t.value() == Some("t1")));
    assert!(w.converged(&s).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_transparency_preference_is_an_update_in_place() {
    // The emulator has no UpdateCertificateOptions (it answers that the
    // action is not implemented), so the change is checked as far as the
    // plan: an update of `options`, not a replacement.
    let w = world();
    let (mut s, us, _) = stack("options");
    declare(&mut s, &us, "us", 0, None);
    w.apply(&s).await;
    let (mut changed, us, _) = stack("options");
    declare_with(&mut changed, &us, "us", 0, None, "ENABLED");
    let preview = w.preview(&changed).await;
    let change = preview.plan.change(&addr("cert-us")).unwrap();
    assert!(matches!(change.action, infra_core::Action::Update), "{:?}", change.action);
    assert_eq!(change.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["options"]);
    assert_eq!(preview.plan.actionable().count(), 1);
}
