//! IAM policy documents as typed values (`aws_iam_policy_document`):
//! statements, principals, actions, resources and conditions, with outputs
//! (`bucket.arn()`, `secret.arn()`, interpolations) wherever a value goes.
//!
//! A document is recorded in its canonical form, the same whichever way
//! AWS answers it: a single value written as a string or a one-element
//! list, `Statement` as an object or a list, the default version left
//! unset, actions in sorted order without repeats, and principals one
//! entry per kind in kind order. Resources, principal identifiers and
//! condition values keep the declared order (they may hold
//! outputs, whose values are not known when the plan is made, and AWS keeps
//! the order it was given).

use infra_core::typed::{Identifier, Template};
use infra_core::{Input, Output, ValidationContext};
use serde::{Deserialize, Serialize};

/// The policy language version AWS documents (and the default, recorded as
/// unset).
pub const POLICY_VERSION: &str = "2012-10-17";

/// An IAM policy document.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicyDocument {
    /// `2012-10-17` (the default, recorded as unset) or `2008-10-17`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The document's `Id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    #[default]
    Allow,
    Deny,
}

/// One statement of a [`PolicyDocument`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Statement {
    /// The statement's ID: letters and digits only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub effect: Effect,
    /// Who the statement applies to (trust and resource policies only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub principals: Vec<Principal>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_principals: Vec<Principal>,
    /// `service:Action`, wildcards allowed (`s3:Get*`), or `*`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_actions: Vec<String>,
    /// ARNs (or `*`); outputs and interpolations fit here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Input<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_resources: Vec<Input<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// A principal: its kind (`AWS`, `Service`, `Federated`, `CanonicalUser`,
/// or `*` for everyone) and identifiers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Principal {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identifiers: Vec<Input<String>>,
}

/// A condition: `test` (the operator, `StringEquals`), `variable` (the
/// key, `aws:SourceArn`) and the values it is compared with.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Condition {
    pub test: String,
    pub variable: String,
    pub values: Vec<Input<String>>,
}

/// A value of a policy: a literal, an output of any typed ID or ARN, an
/// interpolation, or an `Input<String>`.
pub trait PolicyValue {
    /// The value as a string input.
    fn into_policy_value(self) -> Input<String>;
}

impl PolicyValue for &str {
    fn into_policy_value(self) -> Input<String> {
        Input::Value(self.to_owned())
    }
}
impl PolicyValue for String {
    fn into_policy_value(self) -> Input<String> {
        Input::Value(self)
    }
}
impl PolicyValue for Template {
    fn into_policy_value(self) -> Input<String> {
        self.into()
    }
}
impl PolicyValue for Input<String> {
    fn into_policy_value(self) -> Input<String> {
        self
    }
}
impl<T: Identifier> PolicyValue for Output<T> {
    fn into_policy_value(self) -> Input<String> {
        Input::from(self.to_string_output())
    }
}
impl<T: Identifier> PolicyValue for &Input<T> {
    fn into_policy_value(self) -> Input<String> {
        self.to_string_input()
    }
}
impl<T: Identifier> PolicyValue for &Output<T> {
    fn into_policy_value(self) -> Input<String> {
        Input::from(self.to_string_output())
    }
}

impl PolicyDocument {
    /// A document of these statements.
    pub fn new(statements: impl IntoIterator<Item = Statement>) -> Self {
        PolicyDocument { statements: statements.into_iter().collect(), ..Default::default() }
    }

    /// The trust policy that lets an AWS service assume a role:
    /// `PolicyDocument::assume_role("ecs-tasks.amazonaws.com")`.
    pub fn assume_role(service: &str) -> Self {
        Self::new([Statement::allow(["sts:AssumeRole"]).principal(Principal::service(service))])
    }
}

impl Statement {
    /// A statement allowing `actions`.
    pub fn allow<S: Into<String>>(actions: impl IntoIterator<Item = S>) -> Self {
        Statement { actions: actions.into_iter().map(Into::into).collect(), ..Default::default() }
    }

    /// A statement denying `actions`.
    pub fn deny<S: Into<String>>(actions: impl IntoIterator<Item = S>) -> Self {
        Statement { effect: Effect::Deny, ..Self::allow(actions) }
    }

    /// Adds a resource: `.on(bucket.arn())`, `.on("*")`,
    /// `.on(interpolate!(bucket.arn(), "/*"))`.
    pub fn on(mut self, resource: impl PolicyValue) -> Self {
        self.resources.push(resource.into_policy_value());
        self
    }

    /// Adds a principal.
    pub fn principal(mut self, p: Principal) -> Self {
        self.principals.push(p);
        self
    }

    /// Adds a condition: `.condition("StringEquals", "aws:SourceAccount", ["123456789012"])`.
    pub fn condition<V: PolicyValue>(
        mut self,
        test: &str,
        variable: &str,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.conditions.push(Condition {
            test: test.to_owned(),
            variable: variable.to_owned(),
            values: values.into_iter().map(PolicyValue::into_policy_value).collect(),
        });
        self
    }

    /// Sets the statement's ID.
    pub fn sid(mut self, sid: &str) -> Self {
        self.sid = Some(sid.to_owned());
        self
    }
}

impl Principal {
    /// An AWS service (`ecs-tasks.amazonaws.com`).
    pub fn service(name: &str) -> Self {
        Principal { kind: "Service".into(), identifiers: vec![Input::Value(name.to_owned())] }
    }

    /// An AWS account, user or role (an ARN, an account ID, or `*`).
    pub fn aws(id: impl PolicyValue) -> Self {
        Principal { kind: "AWS".into(), identifiers: vec![id.into_policy_value()] }
    }

    /// A federated identity provider.
    pub fn federated(id: impl PolicyValue) -> Self {
        Principal { kind: "Federated".into(), identifiers: vec![id.into_policy_value()] }
    }

    /// Everyone (`"Principal": "*"`).
    pub fn everyone() -> Self {
        Principal { kind: "*".into(), identifiers: Vec::new() }
    }
}

// ----- canonical form --------------------------------------------------------

/// The canonical form (see the module's documentation).
pub fn canonical(doc: &mut PolicyDocument) {
    if doc.version.as_deref() == Some(POLICY_VERSION) {
        doc.version = None;
    }
    for s in &mut doc.statements {
        for list in [&mut s.actions, &mut s.not_actions] {
            list.sort();
            list.dedup();
        }
        for list in [&mut s.principals, &mut s.not_principals] {
            // One entry per kind, as AWS answers (`{"Service": [a, b]}`),
            // in kind order (a JSON object's keys have none).
            let mut merged: Vec<Principal> = Vec::new();
            for mut p in list.drain(..) {
                if p.kind == "*" {
                    p.identifiers.clear();
                }
                match merged.iter_mut().find(|m| m.kind == p.kind) {
                    Some(m) => m.identifiers.extend(p.identifiers),
                    None => merged.push(p),
                }
            }
            merged.sort_by(|a, b| a.kind.cmp(&b.kind));
            *list = merged;
        }
    }
}

// ----- JSON ------------------------------------------------------------------

/// JSON in the order AWS and Terraform write a policy (`Version` first,
/// then `Statement`; `Sid`, `Effect`, `Principal`, `Action`, `Resource`,
/// `Condition`).
enum Json {
    Str(String),
    List(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn write(&self, out: &mut String) {
        let quoted = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
        match self {
            Json::Str(s) => out.push_str(&quoted(s)),
            Json::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Obj(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&quoted(k));
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// A resolved input's value; fails while it is not known.
fn literal(v: &Input<String>, field: &str) -> Result<Json, String> {
    v.value().map(|s| Json::Str(s.clone())).ok_or_else(|| format!("{field} is not resolved"))
}

/// One value as a string, several as a list (the way AWS and Terraform
/// write them).
fn one_or_many(mut items: Vec<Json>) -> Json {
    if items.len() == 1 { items.remove(0) } else { Json::List(items) }
}

fn strings(v: &[String]) -> Json {
    one_or_many(v.iter().map(|s| Json::Str(s.clone())).collect())
}

fn inputs(v: &[Input<String>], field: &str) -> Result<Json, String> {
    Ok(one_or_many(v.iter().map(|i| literal(i, field)).collect::<Result<_, _>>()?))
}

fn principals(ps: &[Principal]) -> Result<Json, String> {
    if ps.iter().any(|p| p.kind == "*") {
        return Ok(Json::Str("*".into()));
    }
    let mut kinds: Vec<(String, Vec<Json>)> = Vec::new();
    for p in ps {
        let values = p.identifiers.iter().map(|i| literal(i, "principal")).collect::<Result<Vec<_>, _>>()?;
        match kinds.iter_mut().find(|(k, _)| *k == p.kind) {
            Some((_, have)) => have.extend(values),
            None => kinds.push((p.kind.clone(), values)),
        }
    }
    Ok(Json::Obj(kinds.into_iter().map(|(k, v)| (k, one_or_many(v))).collect()))
}

impl PolicyDocument {
    /// The document as AWS takes it (compact JSON). Fails when an input is
    /// not resolved yet.
    pub fn to_json(&self) -> Result<String, String> {
        let mut statements = Vec::new();
        for s in &self.statements {
            let mut m = Vec::new();
            if let Some(sid) = &s.sid {
                m.push(("Sid".into(), Json::Str(sid.clone())));
            }
            let effect = match s.effect {
                Effect::Allow => "Allow",
                Effect::Deny => "Deny",
            };
            m.push(("Effect".into(), Json::Str(effect.into())));
            if !s.principals.is_empty() {
                m.push(("Principal".into(), principals(&s.principals)?));
            }
            if !s.not_principals.is_empty() {
                m.push(("NotPrincipal".into(), principals(&s.not_principals)?));
            }
            if !s.actions.is_empty() {
                m.push(("Action".into(), strings(&s.actions)));
            }
            if !s.not_actions.is_empty() {
                m.push(("NotAction".into(), strings(&s.not_actions)));
            }
            if !s.resources.is_empty() {
                m.push(("Resource".into(), inputs(&s.resources, "resource")?));
            }
            if !s.not_resources.is_empty() {
                m.push(("NotResource".into(), inputs(&s.not_resources, "resource")?));
            }
            if !s.conditions.is_empty() {
                let mut tests: Vec<(String, Json)> = Vec::new();
                for c in &s.conditions {
                    let value = inputs(&c.values, "condition value")?;
                    match tests.iter_mut().find(|(t, _)| *t == c.test) {
                        Some((_, Json::Obj(vars))) => vars.push((c.variable.clone(), value)),
                        _ => tests.push((c.test.clone(), Json::Obj(vec![(c.variable.clone(), value)]))),
                    }
                }
                m.push(("Condition".into(), Json::Obj(tests)));
            }
            statements.push(Json::Obj(m));
        }
        let mut doc = vec![(
            "Version".to_owned(),
            Json::Str(self.version.clone().unwrap_or_else(|| POLICY_VERSION.into())),
        )];
        if let Some(id) = &self.id {
            doc.push(("Id".into(), Json::Str(id.clone())));
        }
        doc.push(("Statement".into(), Json::List(statements)));
        let mut out = String::new();
        Json::Obj(doc).write(&mut out);
        Ok(out)
    }

    /// A document as AWS reports it: JSON, or JSON percent-encoded (IAM's
    /// `GetRole`, `GetRolePolicy`), single values or lists.
    pub fn from_json(text: &str) -> Result<PolicyDocument, String> {
        let decoded = if text.trim_start().starts_with('{') { text.to_owned() } else { percent_decode(text) };
        let v: serde_json::Value =
            serde_json::from_str(&decoded).map_err(|e| format!("policy document: {e}"))?;
        let text_of = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let list = |v: Option<&serde_json::Value>| -> Vec<String> {
            match v {
                None | Some(serde_json::Value::Null) => Vec::new(),
                Some(serde_json::Value::Array(items)) => items.iter().map(text_of).collect(),
                Some(one) => vec![text_of(one)],
            }
        };
        let values =
            |v: Option<&serde_json::Value>| list(v).into_iter().map(Input::Value).collect::<Vec<_>>();
        let principals = |v: Option<&serde_json::Value>| -> Vec<Principal> {
            match v {
                None => Vec::new(),
                Some(serde_json::Value::Object(m)) => m
                    .iter()
                    .map(|(kind, ids)| Principal { kind: kind.clone(), identifiers: values(Some(ids)) })
                    .collect(),
                Some(_) => vec![Principal::everyone()],
            }
        };
        let statements = match v.get("Statement") {
            Some(serde_json::Value::Array(items)) => items.clone(),
            Some(one) => vec![one.clone()],
            None => Vec::new(),
        };
        let mut doc = PolicyDocument {
            version: v.get("Version").map(text_of),
            id: v.get("Id").map(text_of),
            statements: Vec::new(),
        };
        for s in &statements {
            let mut conditions = Vec::new();
            if let Some(serde_json::Value::Object(tests)) = s.get("Condition") {
                for (test, vars) in tests {
                    if let serde_json::Value::Object(vars) = vars {
                        for (variable, vs) in vars {
                            conditions.push(Condition {
                                test: test.clone(),
                                variable: variable.clone(),
                                values: values(Some(vs)),
                            });
                        }
                    }
                }
            }
            doc.statements.push(Statement {
                sid: s.get("Sid").map(text_of),
                effect: if s.get("Effect").map(text_of).as_deref() == Some("Deny") {
                    Effect::Deny
                } else {
                    Effect::Allow
                },
                principals: principals(s.get("Principal")),
                not_principals: principals(s.get("NotPrincipal")),
                actions: list(s.get("Action")),
                not_actions: list(s.get("NotAction")),
                resources: values(s.get("Resource")),
                not_resources: values(s.get("NotResource")),
                conditions,
            });
        }
        canonical(&mut doc);
        Ok(doc)
    }
}

/// Decodes `%XX` sequences (and `+` as a space, as IAM's encoder writes).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ----- validation ------------------------------------------------------------

/// What a document is for: the checks differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A role's trust policy: principals, `sts:` actions, no resources.
    Trust,
    /// An identity policy (inline or managed): resources, no principals.
    Identity,
    /// A resource policy (a KMS key policy, an SNS topic policy): each
    /// statement names its principals and resources (`*` in a key policy:
    /// the key itself).
    Resource,
}

const PRINCIPAL_KINDS: &[&str] = &["AWS", "Service", "Federated", "CanonicalUser", "*"];

fn valid_action(a: &str) -> bool {
    if a == "*" {
        return true;
    }
    let Some((service, action)) = a.split_once(':') else { return false };
    !service.is_empty()
        && service.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !action.is_empty()
        && action.chars().all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?')
}

/// Checks a document before any call; problems name `field` and the
/// statement (`assume_role_policy.statements[0].actions[1]`).
pub fn validate(doc: &PolicyDocument, purpose: Purpose, field: &str, ctx: &mut ValidationContext<'_>) {
    if let Some(v) = &doc.version
        && v != POLICY_VERSION
        && v != "2008-10-17"
    {
        ctx.error(&format!("{field}.version"), format!("{v:?} must be {POLICY_VERSION} or 2008-10-17"));
    }
    if doc.statements.is_empty() {
        ctx.error(&format!("{field}.statements"), "a policy needs at least one statement");
    }
    let mut sids = std::collections::BTreeSet::new();
    for (i, s) in doc.statements.iter().enumerate() {
        let at = format!("{field}.statements[{i}]");
        if let Some(sid) = &s.sid {
            if !sid.chars().all(|c| c.is_ascii_alphanumeric()) {
                ctx.error(&format!("{at}.sid"), format!("{sid:?}: IAM takes letters and digits only"));
            }
            if !sids.insert(sid.as_str()) {
                ctx.error(&format!("{at}.sid"), format!("{sid:?} is used by an earlier statement"));
            }
        }
        match (s.actions.is_empty(), s.not_actions.is_empty()) {
            (true, true) => ctx.error(&format!("{at}.actions"), "a statement needs actions or not_actions"),
            (false, false) => {
                ctx.error(&format!("{at}.not_actions"), "a statement takes actions or not_actions, not both")
            }
            _ => {}
        }
        for (name, list) in [("actions", &s.actions), ("not_actions", &s.not_actions)] {
            for (j, a) in list.iter().enumerate() {
                if !valid_action(a) {
                    ctx.error(
                        &format!("{at}.{name}[{j}]"),
                        format!("{a:?} is not an action (service:Action, e.g. s3:GetObject, or *)"),
                    );
                } else if purpose == Purpose::Trust && !a.starts_with("sts:") && a != "*" {
                    ctx.error(
                        &format!("{at}.{name}[{j}]"),
                        format!("{a:?}: a trust policy allows sts: actions only (sts:AssumeRole)"),
                    );
                }
            }
        }
        if !s.principals.is_empty() && !s.not_principals.is_empty() {
            ctx.error(
                &format!("{at}.not_principals"),
                "a statement takes principals or not_principals, not both",
            );
        }
        if !s.resources.is_empty() && !s.not_resources.is_empty() {
            ctx.error(
                &format!("{at}.not_resources"),
                "a statement takes resources or not_resources, not both",
            );
        }
        let has_principal = !s.principals.is_empty() || !s.not_principals.is_empty();
        let has_resource = !s.resources.is_empty() || !s.not_resources.is_empty();
        match purpose {
            Purpose::Trust => {
                if !has_principal {
                    ctx.error(
                        &format!("{at}.principals"),
                        "a trust policy's statement needs principals (who may assume the role)",
                    );
                }
                if has_resource {
                    ctx.error(
                        &format!("{at}.resources"),
                        "a trust policy takes no resources (AWS: MalformedPolicyDocument)",
                    );
                }
            }
            Purpose::Resource => {
                if !has_principal {
                    ctx.error(
                        &format!("{at}.principals"),
                        "a resource policy's statement needs principals (who may act on the resource)",
                    );
                }
                if !has_resource {
                    ctx.error(
                        &format!("{at}.resources"),
                        "a resource policy's statement needs resources (\"*\" in a key policy)",
                    );
                }
            }
            Purpose::Identity => {
                if has_principal {
                    ctx.error(
                        &format!("{at}.principals"),
                        "an identity policy takes no principals (AWS: MalformedPolicyDocument)",
                    );
                }
                if !has_resource {
                    ctx.error(
                        &format!("{at}.resources"),
                        "an identity policy's statement needs resources (\"*\" for all)",
                    );
                }
            }
        }
        for (name, list) in [("principals", &s.principals), ("not_principals", &s.not_principals)] {
            for (j, p) in list.iter().enumerate() {
                if !PRINCIPAL_KINDS.contains(&p.kind.as_str()) {
                    ctx.error(
                        &format!("{at}.{name}[{j}].type"),
                        format!("{:?} must be one of {}", p.kind, PRINCIPAL_KINDS.join(", ")),
                    );
                } else if p.kind != "*" && p.identifiers.is_empty() {
                    ctx.error(
                        &format!("{at}.{name}[{j}].identifiers"),
                        "a principal needs at least one identifier",
                    );
                }
            }
        }
        for (j, c) in s.conditions.iter().enumerate() {
            let cat = format!("{at}.conditions[{j}]");
            if c.test.is_empty() {
                ctx.error(
                    &format!("{cat}.test"),
                    "a condition needs its operator (StringEquals, ArnLike, …)",
                );
            }
            if c.variable.is_empty() {
                ctx.error(&format!("{cat}.variable"), "a condition needs its key (aws:SourceArn, …)");
            }
            if c.values.is_empty() {
                ctx.error(&format!("{cat}.values"), "a condition needs at least one value");
            }
        }
    }
    // The size AWS counts (whitespace aside), when every value is known.
    let limit = match purpose {
        Purpose::Trust => 4_096,
        Purpose::Identity => 10_240,
        // A key policy's limit (an SNS topic policy's is 30 KiB).
        Purpose::Resource => 32_768,
    };
    if let Ok(json) = doc.to_json()
        && json.len() > limit
    {
        ctx.error(field, format!("{} characters: AWS allows at most {limit}", json.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: &str, expected: &str) {
        let doc = PolicyDocument::from_json(json).unwrap_or_default();
        assert_eq!(doc.to_json().unwrap_or_default(), expected, "from {json}");
    }

    #[test]
    fn any_spelling_aws_answers_reads_to_one_canonical_document() {
        let canonical = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        check(canonical, canonical);
        // A single statement as an object, lists of one, another key order.
        check(
            r#"{"Statement":{"Action":["sts:AssumeRole"],"Principal":{"Service":["ecs-tasks.amazonaws.com"]},"Effect":"Allow"},"Version":"2012-10-17"}"#,
            canonical,
        );
        // Percent-encoded, as IAM's GetRole answers.
        check(
            "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ecs-tasks.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D",
            canonical,
        );
        // Actions are a set; resources keep their order.
        check(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:GetObject","s3:GetObject"],"Resource":["arn:aws:s3:::b/*","arn:aws:s3:::a/*"],"Condition":{"StringEquals":{"aws:SourceAccount":"123456789012"}}}]}"#,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::b/*","arn:aws:s3:::a/*"],"Condition":{"StringEquals":{"aws:SourceAccount":"123456789012"}}}]}"#,
        );
        check(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"Public","Effect":"Deny","Principal":"*","NotAction":"s3:*","NotResource":"*"}]}"#,
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"Public","Effect":"Deny","Principal":"*","NotAction":"s3:*","NotResource":"*"}]}"#,
        );
    }

    #[test]
    fn a_document_with_an_unresolved_output_is_not_written() {
        let doc = PolicyDocument::new([
            Statement::allow(["s3:GetObject"]).on(Input::Expr(infra_core::Value::String("x".into())))
        ]);
        assert!(doc.to_json().is_err());
    }

    #[test]
    fn principals_of_one_kind_are_one_entry_as_aws_answers() {
        let mut doc = PolicyDocument::new([Statement::allow(["sts:AssumeRole"])
            .principal(Principal::service("ecs-tasks.amazonaws.com"))
            .principal(Principal::aws("arn:aws:iam::123456789012:root"))
            .principal(Principal::service("ec2.amazonaws.com"))]);
        canonical(&mut doc);
        let json = doc.to_json().unwrap_or_default();
        let back = PolicyDocument::from_json(&json).unwrap_or_default();
        assert_eq!(
            serde_json::to_value(&back.statements[0].principals).ok(),
            serde_json::to_value(&doc.statements[0].principals).ok(),
            "{json}"
        );
        assert_eq!(doc.statements[0].principals.len(), 2);
    }

    #[test]
    fn actions_are_recognised() {
        for ok in ["*", "s3:GetObject", "s3:Get*", "secretsmanager:GetSecretValue", "ec2:Describe?pc*"] {
            assert!(valid_action(ok), "{ok}");
        }
        for bad in ["", "s3", "S3:GetObject", "s3:", ":Get", "s3:Get Object"] {
            assert!(!valid_action(bad), "{bad}");
        }
    }

    /// The problems of `doc` for `purpose`, as `field: message` lines.
    fn problems(doc: &PolicyDocument, purpose: Purpose) -> Vec<String> {
        let address = infra_core::Address::parse("role").unwrap_or_else(|_| unreachable!());
        let mut ctx = ValidationContext::new(&address, None);
        validate(doc, purpose, "policy", &mut ctx);
        ctx.into_problems()
            .iter()
            .map(|d| format!("{}: {}", d.field.clone().unwrap_or_default(), d.message))
            .collect()
    }

    fn check_problems(doc: PolicyDocument, purpose: Purpose, expected: &[&str]) {
        let got = problems(&doc, purpose);
        assert_eq!(got.len(), expected.len(), "{got:#?}");
        for (g, e) in got.iter().zip(expected) {
            assert!(g.starts_with(e), "expected {e:?}, got {g:?}");
        }
    }

    #[test]
    fn every_bad_document_is_refused_naming_the_statement_and_field() {
        let ok_trust = PolicyDocument::assume_role("ecs-tasks.amazonaws.com");
        check_problems(ok_trust.clone(), Purpose::Trust, &[]);
        check_problems(
            ok_trust,
            Purpose::Identity,
            &["policy.statements[0].principals", "policy.statements[0].resources"],
        );
        check_problems(
            PolicyDocument::new([Statement::allow(["s3:GetObject"]).on("*")]),
            Purpose::Identity,
            &[],
        );
        check_problems(PolicyDocument::new([]), Purpose::Identity, &["policy.statements"]);
        check_problems(
            PolicyDocument::new([Statement::allow(["s3:GetObject", "GetObject"]).on("*").sid("a-b")]),
            Purpose::Identity,
            &["policy.statements[0].sid", "policy.statements[0].actions[1]"],
        );
        check_problems(
            PolicyDocument::new([Statement::allow(["s3:GetObject"])
                .on("*")
                .principal(Principal::service("x"))]),
            Purpose::Trust,
            &["policy.statements[0].actions[0]", "policy.statements[0].resources"],
        );
        check_problems(
            PolicyDocument::new([Statement::allow(["sts:AssumeRole"])
                .principal(Principal { kind: "User".into(), identifiers: vec![] })]),
            Purpose::Trust,
            &["policy.statements[0].principals[0].type"],
        );
        check_problems(
            PolicyDocument::new([
                Statement::allow(["s3:GetObject"]).on("*").sid("One"),
                Statement::deny(Vec::<String>::new()).on("*").sid("One").condition::<&str>(
                    "",
                    "aws:SourceArn",
                    [],
                ),
            ]),
            Purpose::Identity,
            &[
                "policy.statements[1].sid",
                "policy.statements[1].actions",
                "policy.statements[1].conditions[0].test",
                "policy.statements[1].conditions[0].values",
            ],
        );
        let big: Vec<String> = (0..800).map(|i| format!("s3:Action{i}")).collect();
        check_problems(
            PolicyDocument::new([Statement::allow(big).on("*")]),
            Purpose::Identity,
            &["policy: "],
        );
    }

    #[test]
    fn a_resource_policy_needs_principals_and_resources() {
        let key_policy = PolicyDocument::new([Statement::allow(["kms:*"])
            .on("*")
            .principal(Principal::aws("arn:aws:iam::123456789012:root"))]);
        check_problems(key_policy, Purpose::Resource, &[]);
        check_problems(
            PolicyDocument::new([Statement::allow(["sns:Publish"]).on("*")]),
            Purpose::Resource,
            &["policy.statements[0].principals"],
        );
        check_problems(
            PolicyDocument::new([
                Statement::allow(["kms:Decrypt"]).principal(Principal::service("logs.amazonaws.com"))
            ]),
            Purpose::Resource,
            &["policy.statements[0].resources"],
        );
    }

    #[test]
    fn outputs_in_a_document_are_references_until_applied_then_literal_json() {
        use infra_core::Value;
        use infra_core::interpolate;
        let role = Output::<crate::ids::RoleArn>::new(
            infra_core::Address::parse("role").unwrap_or_else(|_| unreachable!()),
            "arn",
        );
        let doc = PolicyDocument::new([Statement::allow(["s3:GetObject"])
            .on(interpolate!("arn:aws:s3:::", "bucket", "/*"))
            .principal(Principal::aws(&role))]);
        let value = infra_core::value::to_value(&doc).unwrap_or(Value::Null);
        let text = format!("{value:?}");
        assert!(text.contains("${role.arn}") && text.contains("Template"), "{text}");
        // As the kit reads it back once resolved.
        let mut resolved = doc.clone();
        resolved.statements[0].resources = vec![Input::Value("arn:aws:s3:::bucket/*".into())];
        resolved.statements[0].principals[0].identifiers =
            vec![Input::Value("arn:aws:iam::123456789012:role/r".into())];
        let Ok(Value::Map(fields)) = infra_core::value::to_value(&resolved) else { unreachable!() };
        let back: PolicyDocument = infra_core::value::from_fields(&fields).unwrap_or_default();
        assert_eq!(
            back.to_json().unwrap_or_default(),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/r"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}]}"#
        );
    }
}
