//! The desired state: a stack of declared resources, built by a program.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::address::{Address, validate_segment};
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::graph::Graph;
use crate::options::{Options, ReplaceOrder};
use crate::provider::{ProviderConfig, ProviderKey};
use crate::resource::{Handle, Resource, Schema, ValidationContext};
use crate::typed::Output;
use crate::value::{Fields, Value, to_value};

/// One declared resource, type-erased: what the planner and executor use.
#[derive(Debug, Clone)]
pub struct ResourceDecl {
    /// Where the resource lives in the stack.
    pub address: Address,
    /// Its type's schema.
    pub schema: &'static Schema,
    /// The provider instance it is bound to.
    pub provider: Option<ProviderKey>,
    /// Its inputs, with references, templates and secrets unresolved.
    pub inputs: Fields,
    /// Its options.
    pub options: Options,
}

impl ResourceDecl {
    /// Every resource this one depends on: those its inputs reference, plus
    /// its explicit `depends_on`.
    pub fn dependencies(&self) -> BTreeSet<Address> {
        let mut deps: BTreeSet<Address> = self
            .inputs
            .values()
            .flat_map(|v| v.references().into_iter().map(|r| r.address.clone()))
            .collect();
        deps.extend(self.options.depends_on.iter().cloned());
        deps
    }

    /// The replacement order in force (options, else the type's default).
    pub fn replace_order(&self) -> ReplaceOrder {
        self.options.replace_order.unwrap_or(self.schema.replace_order)
    }
}

/// A stack: named, bound to provider instances, holding declared resources
/// and exported outputs.
#[derive(Debug, Clone)]
pub struct Stack {
    name: String,
    providers: BTreeMap<ProviderKey, ProviderConfig>,
    default_provider: Option<ProviderKey>,
    resources: Vec<ResourceDecl>,
    outputs: BTreeMap<String, Value>,
    problems: Vec<Diagnostic>,
    /// Indexes of declarations whose type has ordering needs.
    with_needs: Vec<usize>,
    /// Where each address is in `resources` (the first declaration).
    index: BTreeMap<Address, usize>,
}

impl Stack {
    /// An empty stack called `name` (e.g. `prod`).
    pub fn new(name: &str) -> Self {
        let mut problems = Vec::new();
        if let Err(e) = validate_segment(name, name) {
            problems.push(Diagnostic::stack(format!("invalid stack name: {e}")));
        }
        Stack {
            name: name.to_owned(),
            providers: BTreeMap::new(),
            default_provider: None,
            resources: Vec::new(),
            outputs: BTreeMap::new(),
            problems,
            with_needs: Vec::new(),
            index: BTreeMap::new(),
        }
    }

    /// The stack's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Registers a provider instance and returns its key. The first one
    /// registered is the default for resources added at the root.
    pub fn provider(&mut self, config: ProviderConfig) -> ProviderKey {
        let key = config.key.clone();
        if self.providers.contains_key(&key) {
            self.problems.push(Diagnostic::stack(format!("provider instance {key} is registered twice")));
        }
        if self.default_provider.is_none() {
            self.default_provider = Some(key.clone());
        }
        self.providers.insert(key.clone(), config);
        key
    }

    /// Adds a declaration, with the ordering needs its type or the types
    /// already declared know of ([`crate::Schema::needs`]), whichever of
    /// the two is declared first.
    fn push(&mut self, mut decl: ResourceDecl) {
        let mut later = Vec::new();
        for &i in &self.with_needs {
            let e = &self.resources[i];
            if e.schema.needs.is_some_and(|needs| needs(e, &decl, self)) {
                later.push(i);
            }
        }
        if let Some(needs) = decl.schema.needs {
            let wanted: Vec<Address> =
                self.resources.iter().filter(|e| needs(&decl, e, self)).map(|e| e.address.clone()).collect();
            decl.options.depends_on.extend(wanted);
        }
        for i in later {
            self.resources[i].options.depends_on.push(decl.address.clone());
        }
        if decl.schema.needs.is_some() {
            self.with_needs.push(self.resources.len());
        }
        self.index.entry(decl.address.clone()).or_insert(self.resources.len());
        self.resources.push(decl);
    }

    /// The registered provider instances.
    pub fn providers(&self) -> &BTreeMap<ProviderKey, ProviderConfig> {
        &self.providers
    }

    /// The root scope.
    pub fn root(&mut self) -> Scope<'_> {
        let provider = self.default_provider.clone();
        Scope { stack: self, prefix: Vec::new(), provider }
    }

    /// A named scope under the root (addresses get `name.` as a prefix).
    pub fn scope(&mut self, name: &str) -> Scope<'_> {
        self.root().into_scope(name)
    }

    /// Declares a resource at the root; see [`Scope::add`].
    pub fn add<R: Resource>(&mut self, name: &str, resource: R) -> Handle<R> {
        self.root().add(name, resource)
    }

    /// Declares a resource at the root with options; see [`Scope::add_with`].
    pub fn add_with<R: Resource>(&mut self, name: &str, resource: R, options: Options) -> Handle<R> {
        self.root().add_with(name, resource, options)
    }

    /// Exports a stack output (shown by `infra output`).
    pub fn export<T: Serialize>(&mut self, name: &str, value: T) {
        match to_value(&value) {
            Ok(v) => {
                self.outputs.insert(name.to_owned(), v);
            }
            Err(e) => self.problems.push(Diagnostic::stack(format!("output {name:?}: {e}"))),
        }
    }

    /// The declared resources, in declaration order.
    pub fn resources(&self) -> &[ResourceDecl] {
        &self.resources
    }

    /// The declared resource at `address`.
    pub fn resource(&self, address: &Address) -> Option<&ResourceDecl> {
        self.index.get(address).and_then(|i| self.resources.get(*i))
    }

    /// Exported outputs, unresolved.
    pub fn outputs(&self) -> &BTreeMap<String, Value> {
        &self.outputs
    }

    /// The provider config a resource is bound to.
    pub fn provider_of(&self, decl: &ResourceDecl) -> Option<&ProviderConfig> {
        decl.provider.as_ref().and_then(|k| self.providers.get(k))
    }

    /// Checks the whole stack and reports every problem at once: invalid
    /// inputs, unbound or unknown providers, references to outputs a type
    /// does not have, and graph problems (cycles, dangling references,
    /// duplicate addresses). Returns the dependency graph when valid.
    pub fn validate(&self) -> Result<Graph, crate::Error> {
        let mut problems = self.problems.clone();
        let by_address: BTreeMap<&Address, &ResourceDecl> =
            self.resources.iter().map(|r| (&r.address, r)).collect();
        for decl in &self.resources {
            for value in decl.inputs.values() {
                for r in value.references() {
                    if let Some(target) = by_address.get(&r.address)
                        && !target.schema.has_output(r.output.split('.').next().unwrap_or(""))
                    {
                        problems.push(Diagnostic::resource(
                            decl.address.clone(),
                            format!(
                                "references output `{}` of {}, but {} has no such output",
                                r.output, r.address, target.schema.type_name
                            ),
                        ));
                    }
                }
            }
        }
        let mut by_type: BTreeMap<&str, (crate::resource::TypeValidator, Vec<&ResourceDecl>)> =
            BTreeMap::new();
        for decl in &self.resources {
            if let Some(check) = decl.schema.stack_validate {
                problems.extend(check(decl, self));
            }
            if let Some(check) = decl.schema.type_validate {
                by_type.entry(decl.schema.type_name).or_insert((check, Vec::new())).1.push(decl);
            }
        }
        for (check, decls) in by_type.values() {
            problems.extend(check(decls, self));
        }
        for (name, value) in &self.outputs {
            for r in value.references() {
                if !by_address.contains_key(&r.address) {
                    problems.push(Diagnostic::stack(format!(
                        "output {name:?} references {r}, which is not declared"
                    )));
                }
            }
        }
        let graph = Graph::build(self.resources.iter().map(|r| (r.address.clone(), r.dependencies())));
        let graph = match graph {
            Ok(g) => Some(g),
            Err(errors) => {
                problems.extend(errors.into_iter().map(|e| e.into_diagnostic()));
                None
            }
        };
        problems.sort();
        problems.dedup();
        match graph {
            Some(g) if problems.is_empty() => Ok(g),
            _ => Err(crate::Error::Invalid(Diagnostics(problems))),
        }
    }
}

/// A place to add resources: an address prefix and a provider instance.
/// Components are functions that take a `&mut Scope` and add resources
/// under a name of their own.
#[derive(Debug)]
pub struct Scope<'s> {
    stack: &'s mut Stack,
    prefix: Vec<String>,
    provider: Option<ProviderKey>,
}

impl<'s> Scope<'s> {
    /// A nested scope: addresses added through it get `name.` as a prefix.
    pub fn scope(&mut self, name: &str) -> Scope<'_> {
        let mut prefix = self.prefix.clone();
        prefix.push(name.to_owned());
        self.check_segment(name);
        Scope { stack: self.stack, prefix, provider: self.provider.clone() }
    }

    fn into_scope(mut self, name: &str) -> Scope<'s> {
        self.check_segment(name);
        self.prefix.push(name.to_owned());
        self
    }

    fn check_segment(&mut self, name: &str) {
        if let Err(e) = validate_segment(name, name) {
            self.stack.problems.push(Diagnostic::stack(format!("invalid scope name: {e}")));
        }
    }

    /// Reports a problem found by a component (e.g. mismatched list
    /// lengths); [`Stack::validate`] reports it with the rest.
    pub fn error(&mut self, message: impl Into<String>) {
        let scope = if self.prefix.is_empty() { String::from("(root)") } else { self.prefix.join(".") };
        self.stack.problems.push(Diagnostic::stack(format!("{scope}: {}", message.into())));
    }

    /// The same scope bound to another provider instance.
    pub fn with_provider(mut self, key: &ProviderKey) -> Self {
        self.provider = Some(key.clone());
        self
    }

    /// The provider instance resources added here are bound to.
    pub fn provider(&self) -> Option<&ProviderKey> {
        self.provider.as_ref()
    }

    /// The provider config of this scope, when bound.
    pub fn provider_config(&self) -> Option<&ProviderConfig> {
        self.provider.as_ref().and_then(|k| self.stack.providers.get(k))
    }

    /// Declares a resource named `name` in this scope and returns its handle.
    pub fn add<R: Resource>(&mut self, name: &str, resource: R) -> Handle<R> {
        self.add_with(name, resource, Options::default())
    }

    /// Declares a resource without a Rust type: its schema and inputs are
    /// given directly (for dynamic providers, generated stacks and tests).
    /// Inputs may hold references ([`Value::Ref`]) to other resources.
    pub fn add_raw(
        &mut self,
        name: &str,
        schema: &'static Schema,
        inputs: Fields,
        options: Options,
    ) -> Address {
        let address = self.checked_address(name);
        let provider = options.provider.clone().or_else(|| self.provider.clone());
        if provider.is_none() {
            self.stack.problems.push(Diagnostic::resource(
                address.clone(),
                "is not bound to a provider instance; register one with Stack::provider",
            ));
        }
        self.stack.push(ResourceDecl { address: address.clone(), schema, provider, inputs, options });
        address
    }

    fn checked_address(&mut self, name: &str) -> Address {
        match Address::join(&self.prefix, name) {
            Ok(a) => a,
            Err(e) => {
                let mut raw = self.prefix.join(".");
                if !raw.is_empty() {
                    raw.push('.');
                }
                raw.push_str(name);
                self.stack.problems.push(Diagnostic::stack(format!("invalid resource name: {e}")));
                Address::unchecked(raw)
            }
        }
    }

    /// Declares a resource with options. Problems (invalid name, inputs that
    /// fail validation, no provider) are recorded and reported together by
    /// [`Stack::validate`]; the handle is returned regardless so that the
    /// program can keep declaring and every problem is found in one run.
    pub fn add_with<R: Resource>(&mut self, name: &str, mut resource: R, options: Options) -> Handle<R> {
        let address = self.checked_address(name);
        let provider = options.provider.clone().or_else(|| self.provider.clone());
        let mut problems = Vec::new();
        let provider_config = match &provider {
            None => {
                problems.push(Diagnostic::resource(
                    address.clone(),
                    "is not bound to a provider instance; register one with Stack::provider",
                ));
                None
            }
            Some(key) => {
                let config = self.stack.providers.get(key);
                if config.is_none() {
                    problems.push(Diagnostic::resource(
                        address.clone(),
                        format!("is bound to provider {key}, which is not registered"),
                    ));
                }
                config
            }
        };
        let mut ctx = ValidationContext::new(&address, provider_config);
        resource.validate(&mut ctx);
        problems.extend(ctx.into_problems());
        // The canonical form, the same a provider reports after a read.
        resource.normalise();

        let inputs = match to_value(&resource) {
            Ok(Value::Map(m)) => m,
            Ok(_) => {
                problems.push(Diagnostic::resource(address.clone(), "inputs must serialize as a struct"));
                Fields::new()
            }
            Err(e) => {
                problems.push(match e.field() {
                    Some((field, message)) => Diagnostic::field(address.clone(), field, message),
                    None => {
                        Diagnostic::resource(address.clone(), format!("inputs cannot be serialized: {e}"))
                    }
                });
                Fields::new()
            }
        };
        let inputs = inputs
            .into_iter()
            .map(|(k, v)| {
                let secret = R::SCHEMA.is_secret(&k) && !matches!(v, Value::Secret(_));
                (k, if secret { Value::Secret(Box::new(v)) } else { v })
            })
            .collect();
        for field in &options.ignore_changes {
            if R::SCHEMA.field(field).is_none() {
                problems.push(Diagnostic::field(
                    address.clone(),
                    field,
                    format!("ignore_changes names a field that {} does not have", R::SCHEMA.type_name),
                ));
            }
        }
        self.stack.problems.extend(problems);
        self.stack.push(ResourceDecl {
            address: address.clone(),
            schema: &R::SCHEMA,
            provider,
            inputs,
            options,
        });
        Handle::new(address)
    }

    /// Exports a stack output.
    pub fn export<T>(&mut self, name: &str, value: Output<T>) {
        self.stack.export(name, value);
    }
}
