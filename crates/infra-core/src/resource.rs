//! The `Resource` trait: what every typed resource declares about itself.
//!
//! Resource types are plain structs of their inputs that derive
//! `serde::Serialize` and `infra_derive::Resource`. The derive generates the
//! [`Schema`] (type name, force-new, secret and reference fields, outputs)
//! and a typed outputs accessor (`VpcOutputs` with `fn id(&self) ->
//! Output<VpcId>`), reached through the [`Handle`] that `stack.add` returns.

use std::ops::Deref;

use serde::Serialize;

use crate::address::Address;
use crate::diagnostics::Diagnostic;
use crate::options::ReplaceOrder;
use crate::provider::ProviderConfig;

/// What the schema says about one input field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The field's name as it appears in inputs (the struct field's name).
    pub name: &'static str,
    /// A change to this field replaces the resource instead of updating it.
    pub force_new: bool,
    /// The field is write-only and sensitive: stored as a keyed hash only.
    pub secret: bool,
    /// The field's type can hold another resource's output.
    pub reference: bool,
    /// The field is a list whose order does not matter (the cloud keeps a
    /// set): it is compared without regard to order.
    pub set: bool,
}

/// What the schema says about one output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputSpec {
    /// The output's name, e.g. `id`.
    pub name: &'static str,
    /// The Rust type of the output, e.g. `VpcId`.
    pub type_name: &'static str,
}

/// When dependents of a resource may start during apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    /// As soon as the create call returned an ID (subnets, security groups).
    OnId,
    /// Only once the resource reports itself available (load balancers,
    /// databases, distributions).
    OnAvailable,
}

/// The static description of a resource type.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    /// The type name, `provider:service:Kind`, e.g. `aws:ec2:Vpc`.
    pub type_name: &'static str,
    /// Input fields.
    pub fields: &'static [FieldSpec],
    /// Outputs.
    pub outputs: &'static [OutputSpec],
    /// Replacement order used unless the resource's options override it.
    /// Types whose names must be unique default to delete-before-create.
    pub replace_order: ReplaceOrder,
    /// When dependents may start.
    pub readiness: Readiness,
    /// Checks that need other resources of the stack (a subnet inside its
    /// VPC's block), run by [`crate::Stack::validate`] for each resource of
    /// the type.
    pub stack_validate: Option<StackValidator>,
    /// A check of every resource of the type at once (uniqueness, overlap),
    /// run once per stack by [`crate::Stack::validate`]: linear where a
    /// check per resource against the others would be quadratic.
    pub type_validate: Option<TypeValidator>,
    /// Checks a string given as this type's ID (by `import`): why it is
    /// not one, naming the ID type; `None` when it may be.
    pub check_id: Option<fn(&str) -> Option<String>>,
    /// An ordering need the type knows beyond its references: true when
    /// the declaration (first) must wait for the other one (second), e.g.
    /// a public NAT gateway for its VPC's internet gateway. Declaring
    /// either resource adds the dependency, whichever comes first.
    pub needs: Option<Needs>,
    /// A lookup (Terraform's data source): read before each plan (or
    /// during apply, when its query waits on values known only then),
    /// never created, changed or deleted in the cloud; the plan shows it
    /// as a read and removing it forgets it. `#[resource(lookup)]`.
    pub lookup: bool,
    /// The type holds data (a database, a cache, a bucket): deleting or
    /// replacing one is refused until its declaration says what happens to
    /// the data (see [`crate::data`]). `#[resource(keeps_data = "on_delete")]`,
    /// with `keeps_data_when = "holds_objects"` when an output tells.
    pub keeps_data: Option<crate::data::KeepsData>,
}

/// See [`Schema::needs`].
pub type Needs = fn(&crate::stack::ResourceDecl, &crate::stack::ResourceDecl, &crate::stack::Stack) -> bool;

/// A check of every resource of one type against each other and the
/// stack; returns every problem found.
pub type TypeValidator = fn(&[&crate::stack::ResourceDecl], &crate::stack::Stack) -> Vec<Diagnostic>;

/// A check of one resource against the rest of the stack; returns every
/// problem found.
pub type StackValidator = fn(&crate::stack::ResourceDecl, &crate::stack::Stack) -> Vec<Diagnostic>;

impl Schema {
    /// The spec of the named input field.
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// True when a change to `name` forces replacement.
    pub fn is_force_new(&self, name: &str) -> bool {
        self.field(name).is_some_and(|f| f.force_new)
    }

    /// True when `name` is a list compared without regard to order.
    pub fn is_set(&self, name: &str) -> bool {
        self.field(name).is_some_and(|f| f.set)
    }

    /// Inputs as a provider reports them, made ready to record: the type's
    /// secret fields wrapped as [`crate::Value::Secret`] (so they are sealed,
    /// never stored in plaintext) and fields the provider could not read
    /// ([`crate::Value::Unknown`]) left out.
    pub fn mark_secrets(&self, inputs: &crate::value::Fields) -> crate::value::Fields {
        self.mark_secrets_like(inputs, &crate::value::Fields::new())
    }

    /// [`Schema::mark_secrets`], and in every other field the positions
    /// where `reference` (the recorded or declared inputs) holds a secret
    /// ([`crate::Value::mark_secrets_like`]): a secret nested in a field
    /// that is not secret as a whole (a `Sensitive` environment variable of
    /// a container) is reported by the provider in plaintext.
    pub fn mark_secrets_like(
        &self,
        inputs: &crate::value::Fields,
        reference: &crate::value::Fields,
    ) -> crate::value::Fields {
        inputs
            .iter()
            .filter(|(_, v)| **v != crate::Value::Unknown)
            .map(|(k, v)| {
                let v = if self.is_secret(k) {
                    crate::Value::Secret(Box::new(v.clone()))
                } else {
                    reference.get(k).map_or_else(|| v.clone(), |r| v.mark_secrets_like(r))
                };
                (k.clone(), v)
            })
            .collect()
    }

    /// The top-level fields whose values differ between `before` and
    /// `after` (both sealed), comparing set fields without regard to
    /// order. Fields absent from `before` that are secret (a provider cannot
    /// read them back) are not counted.
    pub fn changed_fields(&self, before: &crate::value::Fields, after: &crate::value::Fields) -> Vec<String> {
        let names: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
        names
            .into_iter()
            .filter(|name| {
                let (b, a) = (before.get(*name), after.get(*name));
                if b.is_none() && self.is_secret(name) {
                    return false;
                }
                if self.is_set(name) {
                    b.map(crate::Value::sorted) != a.map(crate::Value::sorted)
                } else {
                    b != a
                }
            })
            .cloned()
            .collect()
    }

    /// True when `name` is a secret field.
    pub fn is_secret(&self, name: &str) -> bool {
        self.field(name).is_some_and(|f| f.secret)
    }

    /// True when the type declares an output called `name`.
    pub fn has_output(&self, name: &str) -> bool {
        self.outputs.iter().any(|o| o.name == name)
    }
}

/// What a resource's validation hook sees.
#[derive(Debug)]
pub struct ValidationContext<'a> {
    /// The resource being validated.
    pub address: &'a Address,
    /// The provider instance it is bound to, when one is.
    pub provider: Option<&'a ProviderConfig>,
    problems: Vec<Diagnostic>,
}

impl<'a> ValidationContext<'a> {
    /// A context for one resource.
    pub fn new(address: &'a Address, provider: Option<&'a ProviderConfig>) -> Self {
        ValidationContext { address, provider, problems: Vec::new() }
    }

    /// Reports a problem with one field. Every problem is reported, not just
    /// the first.
    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.problems.push(Diagnostic::field(self.address.clone(), field, message));
    }

    /// Reports a problem with the stack as a whole (e.g. its provider's
    /// region); the same problem reported by many resources is shown once.
    pub fn stack_error(&mut self, message: impl Into<String>) {
        self.problems.push(Diagnostic::stack(message));
    }

    /// The region of the bound provider, if any.
    pub fn region(&self) -> Option<&str> {
        self.provider.map(|p| p.region.as_str())
    }

    /// The problems reported so far.
    pub fn into_problems(self) -> Vec<Diagnostic> {
        self.problems
    }
}

/// A typed resource. Implement it with `#[derive(Resource)]`.
pub trait Resource: Serialize + 'static {
    /// The generated accessor for this type's outputs.
    type Outputs: ResourceOutputs;

    /// The type's static description.
    const SCHEMA: Schema;

    /// Checks inputs that can be checked before any API call. Report every
    /// problem through `ctx.error`.
    fn validate(&self, ctx: &mut ValidationContext<'_>) {
        let _ = ctx;
    }

    /// Puts the declaration in the canonical form its provider reports
    /// (rules regrouped and sorted, defaults AWS fills in made explicit,
    /// policy JSON with sorted keys), so a no-op plan is empty in a fresh
    /// process. Pure; applied when the resource is declared and to every
    /// observation.
    fn normalise(&mut self) {}
}

/// The generated outputs accessor of a resource type.
pub trait ResourceOutputs: Clone + std::fmt::Debug {
    /// The accessor for the resource at `address`.
    fn for_address(address: Address) -> Self;
}

/// A handle to a declared resource: its address, and (through `Deref`) the
/// typed accessors of its outputs, e.g. `vpc.id()`.
#[derive(Debug, Clone)]
pub struct Handle<R: Resource> {
    address: Address,
    outputs: R::Outputs,
}

impl<R: Resource> Handle<R> {
    /// A handle for the resource at `address` (used by `Stack::add`).
    pub fn new(address: Address) -> Self {
        Handle { outputs: R::Outputs::for_address(address.clone()), address }
    }

    /// The resource's address.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// An output by path, for structured outputs the generated accessors do
    /// not reach: the output's name, then `.`-separated list indices or map
    /// keys (`domain_validation_options.0.resource_record_name`). Stack
    /// validation checks that the type has the output named first.
    pub fn output<T>(&self, path: &str) -> crate::typed::Output<T> {
        crate::typed::Output::new(self.address.clone(), path)
    }
}

impl<R: Resource> Deref for Handle<R> {
    type Target = R::Outputs;
    fn deref(&self) -> &R::Outputs {
        &self.outputs
    }
}

impl<R: Resource> AsRef<Address> for Handle<R> {
    fn as_ref(&self) -> &Address {
        &self.address
    }
}
