//! A web ACL's rules: typed statements and actions, their checks, and (with
//! the feature) their API form.

use infra_core::{Input, ValidationContext};
use serde::{Deserialize, Serialize};

use super::Scope;
use crate::ids::IpSetArn;

/// What a web ACL does with a request no rule decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultAction {
    #[default]
    Allow,
    Block,
}

/// What a rule does with a request its statement matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    Allow,
    Block,
    /// Count and go on to the next rule.
    Count,
    Captcha,
    Challenge,
}

/// What a rule-group rule does with the group's own actions: `None`
/// (AWS's name: keep them; the default) or `Count` (count only, to try a
/// group out).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverrideAction {
    #[default]
    None,
    Count,
}

/// CloudWatch metrics and sampled requests of a web ACL or a rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VisibilityConfig {
    pub cloudwatch_metrics_enabled: bool,
    /// 1 to 255 letters, digits and `_ # : . - /`; not `All` or
    /// `Default_Action`.
    pub metric_name: String,
    pub sampled_requests_enabled: bool,
}

impl VisibilityConfig {
    /// Metrics and sampled requests on, under `metric_name`.
    pub fn metrics(metric_name: &str) -> Self {
        VisibilityConfig {
            cloudwatch_metrics_enabled: true,
            metric_name: metric_name.to_owned(),
            sampled_requests_enabled: true,
        }
    }
}

/// A managed rule group (`managed_rule_group_statement`): AWS's
/// (`AWSManagedRulesCommonRuleSet`, `AWSManagedRulesKnownBadInputsRuleSet`,
/// `AWSManagedRulesSQLiRuleSet`, …) or a Marketplace seller's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ManagedRuleGroup {
    /// `AWS` for AWS's own groups.
    pub vendor_name: String,
    pub name: String,
    /// A pinned version (`Version_1.10`); unset follows the default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Rules of the group set to count only (the older form of
    /// `rule_action_overrides` with `Count`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub excluded_rules: Vec<String>,
    /// Rules of the group given another action (`SizeRestrictions_BODY` →
    /// `Count`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rule_action_overrides: Vec<RuleActionOverride>,
}

impl ManagedRuleGroup {
    /// One of AWS's managed rule groups, at its default version.
    pub fn aws(name: &str) -> Self {
        ManagedRuleGroup { vendor_name: "AWS".into(), name: name.into(), ..Default::default() }
    }
}

/// A managed group's rule and the action it takes instead of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleActionOverride {
    pub name: String,
    pub action: RuleAction,
}

/// How a rate-based rule groups requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AggregateKeyType {
    /// The request's source IP.
    #[default]
    #[serde(rename = "IP")]
    Ip,
    /// The first IP of a header (`forwarded_ip_config`).
    #[serde(rename = "FORWARDED_IP")]
    ForwardedIp,
}

/// The header a `ForwardedIp` rule reads, and what a request without a
/// valid one does (`MATCH` or `NO_MATCH`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ForwardedIpConfig {
    /// `X-Forwarded-For`.
    pub header_name: String,
    pub fallback_behavior: String,
}

/// A rate-based statement: the rule's action applies to a key (an IP)
/// while it sends more than `limit` requests in the evaluation window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateBased {
    /// 10 to 2,000,000,000 requests per window.
    pub limit: i64,
    pub aggregate_key_type: AggregateKeyType,
    /// 60, 120, 300 (AWS's default, recorded as unset) or 600 seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation_window_sec: Option<i64>,
    /// For `ForwardedIp` only, and required there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwarded_ip_config: Option<ForwardedIpConfig>,
}

/// A reference to an [`IpSet`](super::IpSet) of the web ACL's scope.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IpSetReference {
    pub arn: Input<IpSetArn>,
}

/// Requests from these countries (ISO 3166 alpha-2 codes: `US`, `DE`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GeoMatch {
    pub country_codes: Vec<String>,
}

/// What a rule matches.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Statement {
    /// A managed rule group; its rule takes an `override_action`, not an
    /// `action`.
    ManagedRuleGroup(ManagedRuleGroup),
    RateBased(RateBased),
    /// Requests from the addresses of an IP set.
    IpSet(IpSetReference),
    GeoMatch(GeoMatch),
    /// A statement type this crate does not declare (read from the cloud
    /// only, so that one added outside shows as drift).
    #[doc(hidden)]
    Other(String),
}

/// One rule of a web ACL (`rule { … }`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rule {
    /// 1 to 128 letters, digits, `_` and `-`; unique in the ACL.
    pub name: String,
    /// Rules run in ascending priority; unique in the ACL, 0 or more.
    pub priority: i32,
    pub statement: Statement,
    /// For every statement but a rule group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<RuleAction>,
    /// For a rule group only.
    #[serde(default)]
    pub override_action: OverrideAction,
    pub visibility_config: VisibilityConfig,
}

impl Rule {
    /// A managed rule group at `priority`, with the group's own actions
    /// and metrics under the rule's name.
    pub fn managed(priority: i32, group: ManagedRuleGroup) -> Rule {
        let name = group.name.clone();
        Rule {
            visibility_config: VisibilityConfig::metrics(&name),
            name,
            priority,
            statement: Statement::ManagedRuleGroup(group),
            action: None,
            override_action: OverrideAction::None,
        }
    }

    /// Blocks an IP that sends more than `limit` requests in 5 minutes.
    pub fn rate_limit(name: &str, priority: i32, limit: i64) -> Rule {
        let rate = RateBased { limit, ..Default::default() };
        Rule::with_action(name, priority, Statement::RateBased(rate), RuleAction::Block)
    }

    /// Takes `action` on the addresses of an IP set.
    pub fn ip_set(name: &str, priority: i32, set: impl Into<Input<IpSetArn>>, action: RuleAction) -> Rule {
        Rule::with_action(name, priority, Statement::IpSet(IpSetReference { arn: set.into() }), action)
    }

    /// A rule taking `action`, with metrics under its name.
    pub fn with_action(name: &str, priority: i32, statement: Statement, action: RuleAction) -> Rule {
        Rule {
            name: name.to_owned(),
            priority,
            statement,
            action: Some(action),
            override_action: OverrideAction::None,
            visibility_config: VisibilityConfig::metrics(name),
        }
    }
}

/// A metric name: 1 to 255 of letters, digits, `_ # : . - /`, not a name
/// AWS keeps for itself.
pub(crate) fn check_visibility(ctx: &mut ValidationContext<'_>, field: &str, v: &VisibilityConfig) {
    let m = &v.metric_name;
    let n = m.chars().count();
    let at = format!("{field}.metric_name");
    if n == 0 || n > 255 {
        ctx.error(&at, format!("{m:?} must be 1 to 255 characters; it has {n}"));
    }
    if let Some(c) = m.chars().find(|c| !(c.is_ascii_alphanumeric() || "_#:.-/".contains(*c))) {
        ctx.error(&at, format!("{m:?} has {c:?}: metric names take letters, digits and _ # : . - / only"));
    }
    if m == "All" || m == "Default_Action" {
        ctx.error(&at, format!("{m:?} is reserved by AWS WAF"));
    }
}

/// Every rule of a web ACL of `scope`.
pub(crate) fn check_rules(ctx: &mut ValidationContext<'_>, scope: Scope, rules: &[Rule]) {
    let mut names = std::collections::BTreeMap::new();
    let mut priorities = std::collections::BTreeMap::new();
    for (i, r) in rules.iter().enumerate() {
        let at = |f: &str| format!("rules[{i}].{f}");
        super::check_name(ctx, &at("name"), &r.name);
        if let Some(j) = names.insert(r.name.as_str(), i) {
            ctx.error(&at("name"), format!("{:?} is also rules[{j}]'s name: rule names are unique", r.name));
        }
        if r.priority < 0 {
            ctx.error(&at("priority"), format!("{} is negative", r.priority));
        }
        if let Some(j) = priorities.insert(r.priority, i) {
            ctx.error(
                &at("priority"),
                format!("{} is also rules[{j}]'s priority: priorities are unique", r.priority),
            );
        }
        check_visibility(ctx, &at("visibility_config"), &r.visibility_config);
        let group = matches!(r.statement, Statement::ManagedRuleGroup(_));
        match (group, r.action, r.override_action) {
            (true, Some(_), _) => {
                ctx.error(&at("action"), "a rule group's rule takes an override_action, not an action")
            }
            (false, None, _) => ctx.error(&at("action"), "the rule needs an action (allow, block, count, …)"),
            (false, Some(_), OverrideAction::Count) => {
                ctx.error(&at("override_action"), "only a rule group's rule takes an override_action")
            }
            _ => {}
        }
        check_statement(ctx, &at("statement"), scope, &r.statement);
    }
}

fn check_statement(ctx: &mut ValidationContext<'_>, at: &str, scope: Scope, s: &Statement) {
    match s {
        Statement::ManagedRuleGroup(g) => {
            if g.vendor_name.is_empty() {
                ctx.error(&format!("{at}.managed_rule_group.vendor_name"), "the vendor is required (`AWS`)");
            }
            if g.name.is_empty() {
                ctx.error(&format!("{at}.managed_rule_group.name"), "the group's name is required");
            }
            let mut seen = std::collections::BTreeSet::new();
            for (k, o) in g.rule_action_overrides.iter().enumerate() {
                let f = format!("{at}.managed_rule_group.rule_action_overrides[{k}].name");
                if o.name.is_empty() {
                    ctx.error(&f, "the overridden rule's name is required");
                } else if !seen.insert(o.name.as_str()) {
                    ctx.error(&f, format!("{:?} is overridden twice", o.name));
                }
            }
            for (k, e) in g.excluded_rules.iter().enumerate() {
                if e.is_empty() {
                    ctx.error(&format!("{at}.managed_rule_group.excluded_rules[{k}]"), "an empty rule name");
                }
            }
        }
        Statement::RateBased(r) => {
            let f = |x: &str| format!("{at}.rate_based.{x}");
            if !(10..=2_000_000_000).contains(&r.limit) {
                ctx.error(&f("limit"), format!("{} is outside 10 to 2,000,000,000", r.limit));
            }
            if let Some(w) = r.evaluation_window_sec
                && ![60, 120, 300, 600].contains(&w)
            {
                ctx.error(&f("evaluation_window_sec"), format!("{w} must be 60, 120, 300 or 600"));
            }
            match (r.aggregate_key_type, &r.forwarded_ip_config) {
                (AggregateKeyType::ForwardedIp, None) => {
                    ctx.error(&f("forwarded_ip_config"), "FORWARDED_IP needs the header to read")
                }
                (AggregateKeyType::Ip, Some(_)) => {
                    ctx.error(&f("forwarded_ip_config"), "only a FORWARDED_IP rule reads a header")
                }
                (_, Some(c)) => {
                    if c.header_name.is_empty() {
                        ctx.error(&f("forwarded_ip_config.header_name"), "the header's name is required");
                    }
                    if c.fallback_behavior != "MATCH" && c.fallback_behavior != "NO_MATCH" {
                        ctx.error(
                            &f("forwarded_ip_config.fallback_behavior"),
                            format!("{:?} must be MATCH or NO_MATCH", c.fallback_behavior),
                        );
                    }
                }
                _ => {}
            }
        }
        Statement::IpSet(r) => super::check_arn_scope(
            ctx,
            &format!("{at}.ip_set.arn"),
            r.arn.value().map(|a| a.to_string()).as_deref(),
            scope,
        ),
        Statement::GeoMatch(g) => {
            if g.country_codes.is_empty() {
                ctx.error(&format!("{at}.geo_match.country_codes"), "at least one country");
            }
            for (k, c) in g.country_codes.iter().enumerate() {
                if c.len() != 2 || !c.chars().all(|c| c.is_ascii_uppercase()) {
                    ctx.error(
                        &format!("{at}.geo_match.country_codes[{k}]"),
                        format!("{c:?} is not an ISO 3166 alpha-2 code (`US`)"),
                    );
                }
            }
        }
        Statement::Other(kind) => {
            ctx.error(at, format!("{kind:?}: this statement type cannot be declared"));
        }
    }
}

/// AWS's defaults recorded as unset, rules in priority order.
pub(crate) fn normalise_rules(rules: &mut [Rule]) {
    rules.sort_by_key(|r| r.priority);
    for r in rules {
        if let Statement::RateBased(rate) = &mut r.statement
            && rate.evaluation_window_sec == Some(300)
        {
            rate.evaluation_window_sec = None;
        }
    }
}

#[cfg(feature = "wafv2")]
pub(crate) mod api {
    //! The rules' API form, both ways.

    use aws_sdk_wafv2::types as t;
    use infra_core::Input;
    use infra_engine::ProviderError;

    use super::*;
    use crate::wafv2::sdk::invalid;

    pub(crate) fn action(a: RuleAction) -> t::RuleAction {
        let b = t::RuleAction::builder();
        match a {
            RuleAction::Allow => b.allow(t::AllowAction::builder().build()),
            RuleAction::Block => b.block(t::BlockAction::builder().build()),
            RuleAction::Count => b.count(t::CountAction::builder().build()),
            RuleAction::Captcha => b.captcha(t::CaptchaAction::builder().build()),
            RuleAction::Challenge => b.challenge(t::ChallengeAction::builder().build()),
        }
        .build()
    }

    fn action_of(a: &t::RuleAction) -> Option<RuleAction> {
        if a.allow.is_some() {
            Some(RuleAction::Allow)
        } else if a.block.is_some() {
            Some(RuleAction::Block)
        } else if a.count.is_some() {
            Some(RuleAction::Count)
        } else if a.captcha.is_some() {
            Some(RuleAction::Captcha)
        } else if a.challenge.is_some() {
            Some(RuleAction::Challenge)
        } else {
            None
        }
    }

    pub(crate) fn default_action(a: DefaultAction) -> t::DefaultAction {
        match a {
            DefaultAction::Allow => t::DefaultAction::builder().allow(t::AllowAction::builder().build()),
            DefaultAction::Block => t::DefaultAction::builder().block(t::BlockAction::builder().build()),
        }
        .build()
    }

    pub(crate) fn default_action_of(a: Option<&t::DefaultAction>) -> DefaultAction {
        if a.is_some_and(|a| a.block.is_some()) { DefaultAction::Block } else { DefaultAction::Allow }
    }

    pub(crate) fn visibility(v: &VisibilityConfig) -> Result<t::VisibilityConfig, ProviderError> {
        t::VisibilityConfig::builder()
            .cloud_watch_metrics_enabled(v.cloudwatch_metrics_enabled)
            .metric_name(&v.metric_name)
            .sampled_requests_enabled(v.sampled_requests_enabled)
            .build()
            .map_err(|e| invalid("visibility_config", e))
    }

    pub(crate) fn visibility_of(v: Option<&t::VisibilityConfig>) -> VisibilityConfig {
        v.map(|v| VisibilityConfig {
            cloudwatch_metrics_enabled: v.cloud_watch_metrics_enabled,
            metric_name: v.metric_name.clone(),
            sampled_requests_enabled: v.sampled_requests_enabled,
        })
        .unwrap_or_default()
    }

    fn statement(s: &Statement) -> Result<t::Statement, ProviderError> {
        let b = t::Statement::builder();
        Ok(match s {
            Statement::ManagedRuleGroup(g) => {
                let excluded = g
                    .excluded_rules
                    .iter()
                    .map(|n| {
                        t::ExcludedRule::builder().name(n).build().map_err(|e| invalid("excluded_rules", e))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let overrides = g
                    .rule_action_overrides
                    .iter()
                    .map(|o| {
                        t::RuleActionOverride::builder()
                            .name(&o.name)
                            .action_to_use(action(o.action))
                            .build()
                            .map_err(|e| invalid("rule_action_overrides", e))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let group = t::ManagedRuleGroupStatement::builder()
                    .vendor_name(&g.vendor_name)
                    .name(&g.name)
                    .set_version(g.version.clone())
                    .set_excluded_rules((!excluded.is_empty()).then_some(excluded))
                    .set_rule_action_overrides((!overrides.is_empty()).then_some(overrides))
                    .build()
                    .map_err(|e| invalid("managed_rule_group", e))?;
                b.managed_rule_group_statement(group)
            }
            Statement::RateBased(r) => {
                let forwarded = r
                    .forwarded_ip_config
                    .as_ref()
                    .map(|c| {
                        t::ForwardedIpConfig::builder()
                            .header_name(&c.header_name)
                            .fallback_behavior(t::FallbackBehavior::from(c.fallback_behavior.as_str()))
                            .build()
                            .map_err(|e| invalid("forwarded_ip_config", e))
                    })
                    .transpose()?;
                let key = match r.aggregate_key_type {
                    AggregateKeyType::Ip => t::RateBasedStatementAggregateKeyType::Ip,
                    AggregateKeyType::ForwardedIp => t::RateBasedStatementAggregateKeyType::ForwardedIp,
                };
                let rate = t::RateBasedStatement::builder()
                    .limit(r.limit)
                    .set_evaluation_window_sec(r.evaluation_window_sec)
                    .aggregate_key_type(key)
                    .set_forwarded_ip_config(forwarded)
                    .build()
                    .map_err(|e| invalid("rate_based", e))?;
                b.rate_based_statement(rate)
            }
            Statement::IpSet(r) => {
                let reference = t::IpSetReferenceStatement::builder()
                    .arn(r.arn.id())
                    .build()
                    .map_err(|e| invalid("ip_set", e))?;
                b.ip_set_reference_statement(reference)
            }
            Statement::GeoMatch(g) => b.geo_match_statement(
                t::GeoMatchStatement::builder()
                    .set_country_codes(Some(
                        g.country_codes.iter().map(|c| t::CountryCode::from(c.as_str())).collect(),
                    ))
                    .build(),
            ),
            Statement::Other(kind) => return Err(invalid("statement", format!("{kind}: not declarable"))),
        }
        .build())
    }

    fn statement_of(s: Option<&t::Statement>) -> Statement {
        let Some(s) = s else { return Statement::Other("none".into()) };
        if let Some(g) = &s.managed_rule_group_statement {
            return Statement::ManagedRuleGroup(ManagedRuleGroup {
                vendor_name: g.vendor_name.clone(),
                name: g.name.clone(),
                version: g.version.clone(),
                excluded_rules: g.excluded_rules().iter().map(|e| e.name.clone()).collect(),
                rule_action_overrides: g
                    .rule_action_overrides()
                    .iter()
                    .filter_map(|o| {
                        let action = action_of(o.action_to_use.as_ref()?)?;
                        Some(RuleActionOverride { name: o.name.clone(), action })
                    })
                    .collect(),
            });
        }
        if let Some(r) = &s.rate_based_statement {
            return Statement::RateBased(RateBased {
                limit: r.limit,
                aggregate_key_type: match r.aggregate_key_type {
                    t::RateBasedStatementAggregateKeyType::ForwardedIp => AggregateKeyType::ForwardedIp,
                    _ => AggregateKeyType::Ip,
                },
                evaluation_window_sec: (r.evaluation_window_sec != 0).then_some(r.evaluation_window_sec),
                forwarded_ip_config: r.forwarded_ip_config.as_ref().map(|c| ForwardedIpConfig {
                    header_name: c.header_name.clone(),
                    fallback_behavior: c.fallback_behavior.as_str().to_owned(),
                }),
            });
        }
        if let Some(r) = &s.ip_set_reference_statement {
            return Statement::IpSet(IpSetReference {
                arn: Input::Value(crate::ids::IpSetArn::unchecked(&r.arn)),
            });
        }
        if let Some(g) = &s.geo_match_statement {
            return Statement::GeoMatch(GeoMatch {
                country_codes: g.country_codes().iter().map(|c| c.as_str().to_owned()).collect(),
            });
        }
        Statement::Other(format!("{s:?}").chars().take(60).collect())
    }

    pub(crate) fn rule(r: &Rule) -> Result<t::Rule, ProviderError> {
        let group = matches!(r.statement, Statement::ManagedRuleGroup(_));
        let over = match r.override_action {
            OverrideAction::None => t::OverrideAction::builder().none(t::NoneAction::builder().build()),
            OverrideAction::Count => t::OverrideAction::builder().count(t::CountAction::builder().build()),
        }
        .build();
        t::Rule::builder()
            .name(&r.name)
            .priority(r.priority)
            .statement(statement(&r.statement)?)
            .set_action(if group { None } else { r.action.map(action) })
            .set_override_action(group.then_some(over))
            .visibility_config(visibility(&r.visibility_config)?)
            .build()
            .map_err(|e| invalid("rules", e))
    }

    pub(crate) fn rule_of(r: &t::Rule) -> Rule {
        Rule {
            name: r.name.clone(),
            priority: r.priority,
            statement: statement_of(r.statement.as_ref()),
            action: r.action.as_ref().and_then(action_of),
            override_action: match &r.override_action {
                Some(o) if o.count.is_some() => OverrideAction::Count,
                _ => OverrideAction::None,
            },
            visibility_config: visibility_of(r.visibility_config.as_ref()),
        }
    }
}
