use infra_core::{Input, ValidationContext};
use serde::{Deserialize, Serialize};

use crate::ids::TargetGroupArn;

/// What a listener or rule does with a request (`default_action` /
/// `action` in Terraform). Each is a terminal action: a list holds exactly
/// one (authenticate actions, which come before one, are not supported).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// To one or several target groups, by weight (canaries, blue/green).
    Forward(Forward),
    /// A redirect (HTTP to HTTPS, another host or path).
    Redirect(Redirect),
    /// An answer of the load balancer itself.
    FixedResponse(FixedResponse),
    /// An action type this crate does not declare (read from the cloud
    /// only, so that one added outside shows as drift).
    #[doc(hidden)]
    Other(String),
}

/// Forward to target groups (`forward { target_group { … } stickiness { … } }`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Forward {
    /// 1 to 5 target groups; with more than one, each has a weight.
    pub target_groups: Vec<WeightedTargetGroup>,
    /// Keep a client on one target group (a weighted forward's stickiness).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stickiness: Option<ForwardStickiness>,
}

/// One target group of a forward and its weight (0 to 999): traffic is
/// shared in proportion to the weights. A lone group's weight is recorded
/// as unset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WeightedTargetGroup {
    pub arn: Input<TargetGroupArn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
}

/// Group-level stickiness of a forward: `duration` 1 to 604800 seconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ForwardStickiness {
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<i32>,
}

/// A redirect. Unset parts keep the request's own (`#{protocol}`,
/// `#{port}`, `#{host}`, `/#{path}`, `#{query}`, AWS's defaults, recorded
/// as unset); at least one part must change.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Redirect {
    /// `HTTP`, `HTTPS` or `#{protocol}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// 1 to 65535 or `#{port}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Starts with `/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Without the leading `?`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// `HTTP_301` (permanent) or `HTTP_302` (temporary).
    pub status_code: String,
}

/// A fixed response.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FixedResponse {
    /// `text/plain`, `text/css`, `text/html`, `application/javascript` or
    /// `application/json`.
    pub content_type: String,
    /// At most 1024 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_body: Option<String>,
    /// `2XX`, `4XX` or `5XX`: three digits.
    pub status_code: String,
}

impl Action {
    /// Forward everything to one target group.
    pub fn forward(target_group: impl Into<Input<TargetGroupArn>>) -> Action {
        Action::Forward(Forward {
            target_groups: vec![WeightedTargetGroup { arn: target_group.into(), weight: None }],
            stickiness: None,
        })
    }

    /// Forward to several target groups by weight:
    /// `Action::forward_weighted([(stable.arn(), 90), (canary.arn(), 10)])`.
    pub fn forward_weighted<T: Into<Input<TargetGroupArn>>>(
        groups: impl IntoIterator<Item = (T, i32)>,
    ) -> Action {
        Action::Forward(Forward {
            target_groups: groups
                .into_iter()
                .map(|(arn, w)| WeightedTargetGroup { arn: arn.into(), weight: Some(w) })
                .collect(),
            stickiness: None,
        })
    }

    /// A permanent redirect to HTTPS on port 443, keeping host, path and
    /// query.
    pub fn redirect_to_https() -> Action {
        Action::Redirect(Redirect {
            protocol: Some("HTTPS".into()),
            port: Some("443".into()),
            status_code: "HTTP_301".into(),
            ..Default::default()
        })
    }

    /// A fixed response: `Action::fixed_response("404", "text/plain", "not here")`.
    pub fn fixed_response(status_code: &str, content_type: &str, body: &str) -> Action {
        Action::FixedResponse(FixedResponse {
            content_type: content_type.into(),
            message_body: (!body.is_empty()).then(|| body.to_owned()),
            status_code: status_code.into(),
        })
    }
}

/// When a listener rule applies (`condition { … }` in Terraform). A rule
/// takes at most one each of `host_header`, `path_pattern`,
/// `http_request_method` and `source_ip`, any number of `http_header` and
/// `query_string`, and at most five values in all.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Path patterns (`/api/*`), up to 128 characters; `*` and `?` match.
    PathPattern(Vec<String>),
    /// Host names (`*.example.com`), up to 128 characters.
    HostHeader(Vec<String>),
    /// A header's values (`name`: the header, e.g. `X-Canary`).
    HttpHeader { name: String, values: Vec<String> },
    /// Methods (`GET`, `POST`, …).
    HttpRequestMethod(Vec<String>),
    /// Source address blocks (`10.0.0.0/8`).
    SourceIp(Vec<String>),
    /// Query string pairs (a pair without a key matches any key).
    QueryString(Vec<QueryStringPair>),
}

/// One `key=value` of a query string condition.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct QueryStringPair {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub value: String,
}

impl Condition {
    /// The condition's name in messages and AWS's `Field`.
    pub fn field(&self) -> &'static str {
        match self {
            Condition::PathPattern(_) => "path-pattern",
            Condition::HostHeader(_) => "host-header",
            Condition::HttpHeader { .. } => "http-header",
            Condition::HttpRequestMethod(_) => "http-request-method",
            Condition::SourceIp(_) => "source-ip",
            Condition::QueryString(_) => "query-string",
        }
    }

    fn values(&self) -> usize {
        match self {
            Condition::PathPattern(v)
            | Condition::HostHeader(v)
            | Condition::HttpRequestMethod(v)
            | Condition::SourceIp(v)
            | Condition::HttpHeader { values: v, .. } => v.len(),
            Condition::QueryString(v) => v.len(),
        }
    }
}

/// An action list: exactly one terminal action, each checked under
/// `field[i]`.
pub(crate) fn check_actions(ctx: &mut ValidationContext<'_>, field: &str, actions: &[Action]) {
    if actions.len() != 1 {
        ctx.error(
            field,
            format!(
                "{} actions: a list takes exactly one terminal action (forward, redirect or fixed_response)",
                actions.len()
            ),
        );
    }
    for (i, a) in actions.iter().enumerate() {
        let at = format!("{field}[{i}]");
        match a {
            Action::Forward(f) => check_forward(ctx, &at, f),
            Action::Redirect(r) => check_redirect(ctx, &at, r),
            Action::FixedResponse(f) => {
                if !matches!(
                    f.content_type.as_str(),
                    "text/plain" | "text/css" | "text/html" | "application/javascript" | "application/json"
                ) {
                    ctx.error(
                        &format!("{at}.content_type"),
                        format!(
                            "{:?} must be text/plain, text/css, text/html, application/javascript or application/json",
                            f.content_type
                        ),
                    );
                }
                let code = f.status_code.as_bytes();
                if code.len() != 3
                    || !matches!(code[0], b'2' | b'4' | b'5')
                    || !code.iter().all(u8::is_ascii_digit)
                {
                    ctx.error(
                        &format!("{at}.status_code"),
                        format!("{:?} must be 2XX, 4XX or 5XX", f.status_code),
                    );
                }
                if let Some(b) = &f.message_body
                    && b.chars().count() > 1024
                {
                    ctx.error(
                        &format!("{at}.message_body"),
                        "a fixed response's body is at most 1024 characters",
                    );
                }
            }
            Action::Other(t) => ctx.error(&at, format!("{t:?} actions are not supported")),
        }
    }
}

fn check_forward(ctx: &mut ValidationContext<'_>, at: &str, f: &Forward) {
    let n = f.target_groups.len();
    if !(1..=5).contains(&n) {
        ctx.error(
            &format!("{at}.target_groups"),
            format!("a forward takes 1 to 5 target groups; this one has {n}"),
        );
    }
    for (j, g) in f.target_groups.iter().enumerate() {
        let w_at = format!("{at}.target_groups[{j}].weight");
        match g.weight {
            Some(w) if !(0..=999).contains(&w) => ctx.error(&w_at, format!("weight {w} is outside 0-999")),
            None if n > 1 => ctx.error(&w_at, "with several target groups, each needs a weight (0-999)"),
            _ => {}
        }
    }
    if n > 1 && f.target_groups.iter().all(|g| g.weight == Some(0)) {
        ctx.error(&format!("{at}.target_groups"), "at least one target group needs a weight above 0");
    }
    if let Some(s) = &f.stickiness
        && s.enabled
        && !s.duration.is_some_and(|d| (1..=604_800).contains(&d))
    {
        ctx.error(
            &format!("{at}.stickiness.duration"),
            "enabled stickiness needs a duration of 1 to 604800 seconds",
        );
    }
}

fn check_redirect(ctx: &mut ValidationContext<'_>, at: &str, r: &Redirect) {
    if !matches!(r.status_code.as_str(), "HTTP_301" | "HTTP_302") {
        ctx.error(&format!("{at}.status_code"), format!("{:?} must be HTTP_301 or HTTP_302", r.status_code));
    }
    if let Some(p) = &r.protocol
        && !matches!(p.as_str(), "HTTP" | "HTTPS" | "#{protocol}")
    {
        ctx.error(&format!("{at}.protocol"), format!("{p:?} must be HTTP, HTTPS or #{{protocol}}"));
    }
    if let Some(p) = &r.port
        && p != "#{port}"
        && !p.parse::<u16>().is_ok_and(|n| n >= 1)
    {
        ctx.error(&format!("{at}.port"), format!("{p:?} must be a port (1-65535) or #{{port}}"));
    }
    if let Some(p) = &r.path
        && !p.starts_with('/')
    {
        ctx.error(&format!("{at}.path"), format!("{p:?} must start with /"));
    }
    let mut plain = r.clone();
    canonical_redirect(&mut plain);
    if plain.protocol.is_none()
        && plain.port.is_none()
        && plain.host.is_none()
        && plain.path.is_none()
        && plain.query.is_none()
    {
        ctx.error(
            at,
            "a redirect must change at least one of protocol, port, host, path or query (it would loop)",
        );
    }
}

/// The conditions of a rule: at least one, at most one each of the
/// single kinds, at most five values in all, each value well formed.
pub(crate) fn check_conditions(ctx: &mut ValidationContext<'_>, field: &str, conditions: &[Condition]) {
    if conditions.is_empty() {
        ctx.error(field, "a rule needs at least one condition");
    }
    let total: usize = conditions.iter().map(Condition::values).sum();
    if total > 5 {
        ctx.error(field, format!("{total} condition values: a rule takes at most 5 in all"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, c) in conditions.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let once = !matches!(c, Condition::HttpHeader { .. } | Condition::QueryString(_));
        if once && !seen.insert(c.field()) {
            ctx.error(&at, format!("a rule takes one {} condition; put its values in one", c.field()));
        }
        if c.values() == 0 {
            ctx.error(&at, format!("a {} condition needs at least one value", c.field()));
        }
        let strings: &[String] = match c {
            Condition::PathPattern(v) | Condition::HostHeader(v) => v,
            _ => &[],
        };
        for (j, v) in strings.iter().enumerate() {
            if v.is_empty() || v.chars().count() > 128 {
                ctx.error(&format!("{at}[{j}]"), format!("{v:?} must be 1 to 128 characters"));
            }
        }
        match c {
            Condition::HttpHeader { name, .. } if name.is_empty() || name.len() > 40 => {
                ctx.error(&format!("{at}.name"), "a header name is 1 to 40 characters")
            }
            Condition::HttpRequestMethod(v) => {
                for (j, m) in v.iter().enumerate() {
                    if m.is_empty()
                        || m.len() > 40
                        || !m.chars().all(|c| c.is_ascii_uppercase() || c == '_' || c == '-')
                    {
                        ctx.error(
                            &format!("{at}[{j}]"),
                            format!("{m:?} must be an upper-case method such as GET"),
                        );
                    }
                }
            }
            Condition::SourceIp(v) => {
                for (j, cidr) in v.iter().enumerate() {
                    let ok = cidr.split_once('/').is_some_and(|(ip, len)| {
                        ip.parse::<std::net::IpAddr>().is_ok() && len.parse::<u8>().is_ok()
                    });
                    if !ok {
                        ctx.error(
                            &format!("{at}[{j}]"),
                            format!("{cidr:?} must be an address block (10.0.0.0/8)"),
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

/// The canonical form of an action: a lone target group's weight and
/// disabled stickiness unset, a redirect's defaults unset.
pub(crate) fn canonical_action(a: &mut Action) {
    match a {
        Action::Forward(f) => {
            if f.target_groups.len() == 1 {
                f.target_groups[0].weight = None;
            }
            if f.stickiness.as_ref().is_some_and(|s| !s.enabled) {
                f.stickiness = None;
            }
        }
        Action::Redirect(r) => canonical_redirect(r),
        Action::FixedResponse(f) => {
            if f.message_body.as_deref() == Some("") {
                f.message_body = None;
            }
        }
        Action::Other(_) => {}
    }
}

fn canonical_redirect(r: &mut Redirect) {
    for (part, default) in [
        (&mut r.protocol, "#{protocol}"),
        (&mut r.port, "#{port}"),
        (&mut r.host, "#{host}"),
        (&mut r.path, "/#{path}"),
        (&mut r.query, "#{query}"),
    ] {
        if part.as_deref() == Some(default) || (default == "#{query}" && part.as_deref() == Some("")) {
            *part = None;
        }
    }
}

#[cfg(feature = "elbv2")]
pub(crate) mod imp {
    use aws_sdk_elasticloadbalancingv2::types as sdk;
    use infra_core::Input;

    use super::{
        Action, Condition, FixedResponse, Forward, ForwardStickiness, QueryStringPair, Redirect,
        WeightedTargetGroup,
    };
    use crate::ids::TargetGroupArn;

    /// Actions as AWS takes them, in order.
    pub(crate) fn to_sdk(actions: &[Action]) -> Vec<sdk::Action> {
        actions
            .iter()
            .zip(1..)
            .filter_map(|(a, order)| {
                let b = sdk::Action::builder().order(order);
                Some(match a {
                    Action::Forward(f) if f.target_groups.len() == 1 && f.stickiness.is_none() => b
                        .r#type(sdk::ActionTypeEnum::Forward)
                        .target_group_arn(f.target_groups[0].arn.id())
                        .build(),
                    Action::Forward(f) => {
                        let groups = f
                            .target_groups
                            .iter()
                            .map(|g| {
                                sdk::TargetGroupTuple::builder()
                                    .target_group_arn(g.arn.id())
                                    .set_weight(g.weight)
                                    .build()
                            })
                            .collect();
                        let stickiness = f.stickiness.as_ref().map(|s| {
                            sdk::TargetGroupStickinessConfig::builder()
                                .enabled(s.enabled)
                                .set_duration_seconds(s.duration)
                                .build()
                        });
                        let config = sdk::ForwardActionConfig::builder()
                            .set_target_groups(Some(groups))
                            .set_target_group_stickiness_config(stickiness)
                            .build();
                        b.r#type(sdk::ActionTypeEnum::Forward).forward_config(config).build()
                    }
                    Action::Redirect(r) => {
                        let config = sdk::RedirectActionConfig::builder()
                            .set_protocol(r.protocol.clone())
                            .set_port(r.port.clone())
                            .set_host(r.host.clone())
                            .set_path(r.path.clone())
                            .set_query(r.query.clone())
                            .status_code(sdk::RedirectActionStatusCodeEnum::from(r.status_code.as_str()))
                            .build();
                        b.r#type(sdk::ActionTypeEnum::Redirect).redirect_config(config).build()
                    }
                    Action::FixedResponse(f) => {
                        let config = sdk::FixedResponseActionConfig::builder()
                            .content_type(&f.content_type)
                            .set_message_body(f.message_body.clone())
                            .status_code(&f.status_code)
                            .build();
                        b.r#type(sdk::ActionTypeEnum::FixedResponse).fixed_response_config(config).build()
                    }
                    Action::Other(_) => return None,
                })
            })
            .collect()
    }

    /// Actions as AWS reports them, in their order.
    pub(crate) fn from_sdk(actions: &[sdk::Action]) -> Vec<Action> {
        let mut sorted: Vec<&sdk::Action> = actions.iter().collect();
        sorted.sort_by_key(|a| a.order().unwrap_or(0));
        sorted.into_iter().map(one).collect()
    }

    fn one(a: &sdk::Action) -> Action {
        let arn = |s: &str| Input::Value(TargetGroupArn::unchecked(s));
        match a.r#type() {
            Some(sdk::ActionTypeEnum::Forward) => {
                let config = a.forward_config().filter(|c| !c.target_groups().is_empty());
                let target_groups = match config {
                    Some(c) => c
                        .target_groups()
                        .iter()
                        .map(|t| WeightedTargetGroup {
                            arn: arn(t.target_group_arn().unwrap_or_default()),
                            weight: t.weight(),
                        })
                        .collect(),
                    None => a
                        .target_group_arn()
                        .map(|s| WeightedTargetGroup { arn: arn(s), weight: None })
                        .into_iter()
                        .collect(),
                };
                let stickiness =
                    config.and_then(|c| c.target_group_stickiness_config()).map(|s| ForwardStickiness {
                        enabled: s.enabled().unwrap_or(false),
                        duration: s.duration_seconds(),
                    });
                Action::Forward(Forward { target_groups, stickiness })
            }
            Some(sdk::ActionTypeEnum::Redirect) => {
                let c = a.redirect_config();
                let s = |f: fn(&sdk::RedirectActionConfig) -> Option<&str>| c.and_then(f).map(str::to_owned);
                Action::Redirect(Redirect {
                    protocol: s(sdk::RedirectActionConfig::protocol),
                    port: s(sdk::RedirectActionConfig::port),
                    host: s(sdk::RedirectActionConfig::host),
                    path: s(sdk::RedirectActionConfig::path),
                    query: s(sdk::RedirectActionConfig::query),
                    status_code: c
                        .and_then(|c| c.status_code())
                        .map_or_else(String::new, |s| s.as_str().to_owned()),
                })
            }
            Some(sdk::ActionTypeEnum::FixedResponse) => {
                let c = a.fixed_response_config();
                Action::FixedResponse(FixedResponse {
                    content_type: c.and_then(|c| c.content_type()).unwrap_or_default().to_owned(),
                    message_body: c.and_then(|c| c.message_body()).map(str::to_owned),
                    status_code: c.and_then(|c| c.status_code()).unwrap_or_default().to_owned(),
                })
            }
            other => Action::Other(other.map_or("unknown", |t| t.as_str()).to_owned()),
        }
    }

    /// Conditions as AWS takes them.
    pub(crate) fn conditions_to_sdk(conditions: &[Condition]) -> Vec<sdk::RuleCondition> {
        conditions
            .iter()
            .map(|c| {
                let b = sdk::RuleCondition::builder().field(c.field());
                match c {
                    Condition::PathPattern(v) => b.path_pattern_config(
                        sdk::PathPatternConditionConfig::builder().set_values(Some(v.clone())).build(),
                    ),
                    Condition::HostHeader(v) => b.host_header_config(
                        sdk::HostHeaderConditionConfig::builder().set_values(Some(v.clone())).build(),
                    ),
                    Condition::HttpHeader { name, values } => b.http_header_config(
                        sdk::HttpHeaderConditionConfig::builder()
                            .http_header_name(name)
                            .set_values(Some(values.clone()))
                            .build(),
                    ),
                    Condition::HttpRequestMethod(v) => b.http_request_method_config(
                        sdk::HttpRequestMethodConditionConfig::builder().set_values(Some(v.clone())).build(),
                    ),
                    Condition::SourceIp(v) => b.source_ip_config(
                        sdk::SourceIpConditionConfig::builder().set_values(Some(v.clone())).build(),
                    ),
                    Condition::QueryString(pairs) => b.query_string_config(
                        sdk::QueryStringConditionConfig::builder()
                            .set_values(Some(
                                pairs
                                    .iter()
                                    .map(|p| {
                                        sdk::QueryStringKeyValuePair::builder()
                                            .set_key(p.key.clone())
                                            .value(&p.value)
                                            .build()
                                    })
                                    .collect(),
                            ))
                            .build(),
                    ),
                }
                .build()
            })
            .collect()
    }

    /// Conditions as AWS reports them (its typed configs, or the older
    /// `Values` list where a config is missing).
    pub(crate) fn conditions_from_sdk(conditions: &[sdk::RuleCondition]) -> Vec<Condition> {
        conditions
            .iter()
            .filter_map(|c| {
                let plain = || c.values().to_vec();
                let or_plain =
                    |v: Option<&[String]>| v.filter(|v| !v.is_empty()).map_or_else(plain, <[String]>::to_vec);
                Some(match c.field()? {
                    "path-pattern" => {
                        Condition::PathPattern(or_plain(c.path_pattern_config().map(|x| x.values())))
                    }
                    "host-header" => {
                        Condition::HostHeader(or_plain(c.host_header_config().map(|x| x.values())))
                    }
                    "http-header" => {
                        let h = c.http_header_config();
                        Condition::HttpHeader {
                            name: h.and_then(|h| h.http_header_name()).unwrap_or_default().to_owned(),
                            values: h.map(|h| h.values().to_vec()).unwrap_or_default(),
                        }
                    }
                    "http-request-method" => Condition::HttpRequestMethod(or_plain(
                        c.http_request_method_config().map(|x| x.values()),
                    )),
                    "source-ip" => Condition::SourceIp(or_plain(c.source_ip_config().map(|x| x.values()))),
                    "query-string" => Condition::QueryString(
                        c.query_string_config()
                            .map(|q| {
                                q.values()
                                    .iter()
                                    .map(|p| QueryStringPair {
                                        key: p.key().map(str::to_owned),
                                        value: p.value().unwrap_or_default().to_owned(),
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    ),
                    _ => return None,
                })
            })
            .collect()
    }
}
