use std::collections::BTreeMap;

use infra_core::ValidationContext;
use infra_derive::Resource;
use serde::{Deserialize, Serialize};

use super::Scope;
use crate::ids::IpSetArn;

/// The address family of an [`IpSet`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum IpAddressVersion {
    #[default]
    #[serde(rename = "IPV4")]
    Ipv4,
    #[serde(rename = "IPV6")]
    Ipv6,
}

impl IpAddressVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            IpAddressVersion::Ipv4 => "IPV4",
            IpAddressVersion::Ipv6 => "IPV6",
        }
    }
}

/// A WAFv2 IP set (`aws_wafv2_ip_set`): CIDR ranges a web ACL's rule
/// matches with [`Statement::IpSet`](super::Statement::IpSet).
///
/// Its ID is its ARN. The name, scope and address family replace it,
/// create first (the web ACLs referencing it move to the new set before
/// the old one goes; a name is taken once per scope, so a replacement in
/// the same scope takes a new name); the addresses, description and tags
/// change in place (`UpdateIPSet` with the set's current lock token). A
/// `Cloudfront`-scope set is managed in us-east-1 whatever the provider's
/// region.
///
/// Outputs: `set.arn()` (`IpSetArn`, what a rule references) and
/// `set.id()` (the set's WAF ID).
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::wafv2::{IpSet, Scope};
///
/// let mut stack = Stack::new("docs");
/// let us = stack.provider(ProviderConfig::aws("us-east-1"));
/// let blocked = stack.add("blocked", IpSet {
///     name: "blocked".into(),
///     scope: Scope::Regional,
///     addresses: vec!["192.0.2.0/24".into(), "198.51.100.7/32".into()],
///     ..Default::default()
/// });
/// let _arn: Output<infra::aws::ids::IpSetArn> = blocked.arn();
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(
    type = "aws:wafv2:IpSet",
    outputs(arn: IpSetArn, id: String),
    readiness = "on_id",
    validate = validate_ip_set,
    validate_type = crate::rules::unique,
    normalise = canonical
)]
pub struct IpSet {
    /// 1 to 128 letters, digits, `_` and `-`; unique per scope and region.
    #[resource(force_new)]
    pub name: String,
    #[resource(force_new)]
    pub scope: Scope,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[resource(force_new)]
    pub ip_address_version: IpAddressVersion,
    /// CIDR ranges of the set's family (`192.0.2.0/24`, `2001:db8::/32`);
    /// any prefix but `/0`; at most 10,000.
    #[resource(set)]
    pub addresses: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A CIDR of `version` in canonical form (`2001:DB8::/32` →
/// `2001:db8::/32`), or why it is not one.
pub(crate) fn cidr(version: IpAddressVersion, s: &str) -> Result<String, String> {
    let (addr, prefix) =
        s.split_once('/').ok_or_else(|| format!("{s:?} is not a CIDR range (no /prefix)"))?;
    let prefix: u8 = prefix.parse().map_err(|_| format!("{s:?} has no numeric prefix length"))?;
    let (canonical, max) = match version {
        IpAddressVersion::Ipv4 => {
            let a: std::net::Ipv4Addr =
                addr.parse().map_err(|_| format!("{s:?} is not an IPv4 CIDR range"))?;
            (a.to_string(), 32)
        }
        IpAddressVersion::Ipv6 => {
            let a: std::net::Ipv6Addr =
                addr.parse().map_err(|_| format!("{s:?} is not an IPv6 CIDR range"))?;
            (a.to_string(), 128)
        }
    };
    if prefix == 0 || prefix > max {
        return Err(format!("{s:?}: the prefix length must be 1 to {max} (AWS WAF refuses /0)"));
    }
    Ok(format!("{canonical}/{prefix}"))
}

fn validate_ip_set(s: &IpSet, ctx: &mut ValidationContext<'_>) {
    crate::rules::common(ctx, &s.tags);
    super::check_name(ctx, "name", &s.name);
    super::check_description(ctx, s.description.as_deref());
    if s.addresses.len() > 10_000 {
        ctx.error("addresses", format!("{} addresses: an IP set holds at most 10,000", s.addresses.len()));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, a) in s.addresses.iter().enumerate() {
        match cidr(s.ip_address_version, a) {
            Ok(c) if !seen.insert(c.clone()) => {
                ctx.error(&format!("addresses[{i}]"), format!("{a:?} is listed twice"))
            }
            Ok(_) => {}
            Err(e) => ctx.error(&format!("addresses[{i}]"), e),
        }
    }
}

fn canonical(s: &mut IpSet) {
    for a in &mut s.addresses {
        if let Ok(c) = cidr(s.ip_address_version, a) {
            *a = c;
        }
    }
    s.addresses.sort();
    if s.description.as_deref() == Some("") {
        s.description = None;
    }
}

#[cfg(feature = "wafv2")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use infra_engine::{ErrorKind, Operation, ProviderError, Timings};

    use super::{IpAddressVersion, IpSet, IpSetOut};
    use crate::ids::IpSetArn;
    use crate::kit::{Change, Ctx, Kind, Lookup, Seen, Service, Tags, missing, user_tags};
    use crate::wafv2::Scope;
    use crate::wafv2::sdk::{WafArn, api_scope, client, each, gone, parse_arn, retag, tags_of, waf_tags};

    /// `aws:wafv2:IpSet` through the WAFv2 API.
    #[derive(Debug)]
    pub(crate) struct IpSetKind;

    /// The set and its lock token; `None` when it is gone.
    async fn get(
        cx: &Ctx,
        a: &WafArn,
    ) -> Result<Option<(aws_sdk_wafv2::types::IpSet, String)>, ProviderError> {
        let call = client(cx, a.scope).get_ip_set().name(&a.name).scope(api_scope(a.scope)).id(&a.id);
        match cx.send_in(Service::Wafv2, "GetIPSet", Operation::Read, || call.clone().send()).await {
            Ok(out) => {
                let token = out.lock_token.unwrap_or_default();
                Ok(out.ip_set.map(|s| (s, token)))
            }
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn seen(cx: &Ctx, arn: &str) -> Result<Option<Seen<IpSetKind>>, ProviderError> {
        let a = parse_arn(arn, "ipset")?;
        let Some((s, _)) = get(cx, &a).await? else { return Ok(None) };
        let tags = tags_of(cx, a.scope, arn).await?;
        let decl = IpSet {
            name: s.name.clone(),
            scope: a.scope,
            description: s.description.clone().filter(|d| !d.is_empty()),
            ip_address_version: match s.ip_address_version.as_str() {
                "IPV6" => IpAddressVersion::Ipv6,
                _ => IpAddressVersion::Ipv4,
            },
            addresses: s.addresses.clone(),
            tags: user_tags(&tags),
        };
        let out = IpSetOut { arn: IpSetArn::unchecked(&s.arn), id: s.id.clone() };
        Ok(Some(Seen::ready(arn.to_owned(), decl, out, tags)))
    }

    /// The ARNs of the sets named `name` in `scope`.
    async fn named(cx: &Ctx, scope: Scope, name: &str) -> Result<Vec<String>, ProviderError> {
        let waf = client(cx, scope);
        let all = cx
            .paged(|next| {
                let call = waf.list_ip_sets().scope(api_scope(scope)).set_next_marker(next);
                async move {
                    let out = cx
                        .send_in(Service::Wafv2, "ListIPSets", Operation::Read, || call.clone().send())
                        .await?;
                    Ok((out.ip_sets.unwrap_or_default(), out.next_marker))
                }
            })
            .await?;
        Ok(all.into_iter().filter(|s| s.name() == Some(name)).filter_map(|s| s.arn).collect())
    }

    #[async_trait]
    impl Kind for IpSetKind {
        type Decl = IpSet;
        type Out = IpSetOut;
        const SERVICE: Service = Service::Wafv2;
        const TIMINGS: Timings = Timings::secs(1, 1, 1, 2, 300);

        /// WAFv2 has no batch get: one `GetIPSet` (and its tags) per ID,
        /// all at once.
        async fn list(&self, cx: &Ctx, by: Lookup<'_, IpSet>) -> Result<Vec<Seen<Self>>, ProviderError> {
            let arns = match by {
                Lookup::Ids(ids) => ids.to_vec(),
                // WAFv2 lists no tags: a lost create is found by name.
                Lookup::Tag(..) => return Ok(Vec::new()),
                Lookup::Key(d) => named(cx, d.scope, &d.name).await?,
            };
            each(&arns, |a| async move { seen(cx, &a).await }).await
        }

        async fn create(&self, cx: &Ctx, d: &IpSet, tags: &Tags, _: &str) -> Result<String, ProviderError> {
            let call = client(cx, d.scope)
                .create_ip_set()
                .name(&d.name)
                .scope(api_scope(d.scope))
                .set_description(d.description.clone())
                .ip_address_version(aws_sdk_wafv2::types::IpAddressVersion::from(
                    d.ip_address_version.as_str(),
                ))
                .set_addresses(Some(d.addresses.clone()))
                .set_tags(Some(waf_tags(tags)?));
            let out =
                cx.send_in(Service::Wafv2, "CreateIPSet", Operation::Create, || call.clone().send()).await?;
            out.summary.and_then(|s| s.arn).ok_or_else(|| missing("IP set ARN"))
        }

        async fn update(&self, cx: &Ctx, id: &str, c: Change<'_, IpSet>) -> Result<(), ProviderError> {
            let a = parse_arn(id, "ipset")?;
            let Some((_, token)) = get(cx, &a).await? else {
                return Err(gone(id));
            };
            let call = client(cx, a.scope)
                .update_ip_set()
                .name(&a.name)
                .scope(api_scope(a.scope))
                .id(&a.id)
                .set_description(c.after.description.clone())
                .set_addresses(Some(c.after.addresses.clone()))
                .lock_token(token);
            cx.send_in(Service::Wafv2, "UpdateIPSet", Operation::Update, || call.clone().send())
                .await
                .map(drop)
        }

        async fn retag(
            &self,
            cx: &Ctx,
            id: &str,
            remove: &[&String],
            add: &[(&String, &String)],
        ) -> Result<(), ProviderError> {
            retag(cx, parse_arn(id, "ipset")?.scope, id, remove, add).await
        }

        async fn delete(&self, cx: &Ctx, id: &str, _: &IpSet) -> Result<(), ProviderError> {
            let a = parse_arn(id, "ipset")?;
            let Some((_, token)) = get(cx, &a).await? else { return Ok(()) };
            let call = client(cx, a.scope)
                .delete_ip_set()
                .name(&a.name)
                .scope(api_scope(a.scope))
                .id(&a.id)
                .lock_token(token);
            cx.send_in(Service::Wafv2, "DeleteIPSet", Operation::Delete, || call.clone().send())
                .await
                .map(drop)
        }
    }
}
