//! The typed layer a stack author touches: outputs, inputs, identifiers,
//! secrets and string interpolation.
//!
//! `Output<VpcId>` only converts into `Input<VpcId>`, so wiring a subnet ID
//! into a VPC ID field does not compile. Every form serializes (through
//! [`crate::value::to_value`]) into the engine's dynamic [`Value`].

use std::fmt;
use std::marker::PhantomData;

use serde::{Serialize, Serializer};

use crate::address::Address;
use crate::value::{Reference, Value, to_value};

/// Marker for identifier types (`VpcId`, `SubnetId`, `RoleArn`, …), which are
/// distinct newtypes over `String`. Define one with [`crate::identifier!`].
pub trait Identifier: Clone + fmt::Debug + Serialize + 'static {
    /// The type's name, for docs and error messages.
    const KIND: &'static str;
    /// The identifier as a string.
    fn as_str(&self) -> &str;
}

/// A type a resource's `id` output may have: says why a string is not one.
pub trait IdCheck {
    /// Why `s` is not an ID of this type; `None` when it may be.
    fn problem(s: &str) -> Option<String>;
}

impl IdCheck for String {
    fn problem(s: &str) -> Option<String> {
        s.trim().is_empty().then(|| "an ID may not be empty".to_owned())
    }
}

/// What a string must look like to be an identifier of some kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Any non-empty string.
    Any,
    /// One of these prefixes, then letters and digits only (`vpc-0abc…`;
    /// so `tgw-attach-…` is not a `tgw-…`).
    Prefix(&'static [&'static str]),
    /// An ARN of this service whose resource part starts with this
    /// (`arn:aws:iam::123456789012:role/…`); an empty resource prefix
    /// accepts any resource of the service, an empty service any ARN.
    Arn { service: &'static str, resource: &'static str },
    /// Exactly this many ASCII digits (an account ID).
    Digits(usize),
}

impl Shape {
    /// What the shape accepts, for messages.
    pub fn describe(&self) -> String {
        match self {
            Shape::Any => "a non-empty string".into(),
            Shape::Prefix(p) => p.iter().map(|p| format!("{p}…")).collect::<Vec<_>>().join(" or "),
            Shape::Arn { service: "", .. } => "an ARN (arn:<partition>:<service>:…)".into(),
            Shape::Arn { service, resource } => {
                format!("arn:<partition>:{service}:<region>:<account>:{resource}…")
            }
            Shape::Digits(n) => format!("{n} digits"),
        }
    }

    /// True when `s` has this shape.
    pub fn accepts(&self, s: &str) -> bool {
        match self {
            Shape::Any => !s.trim().is_empty(),
            Shape::Prefix(prefixes) => prefixes.iter().any(|p| {
                s.strip_prefix(p)
                    .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()))
            }),
            Shape::Arn { service, resource } => {
                let parts: Vec<&str> = s.splitn(6, ':').collect();
                parts.len() == 6
                    && parts[0] == "arn"
                    && parts[1].starts_with("aws")
                    && (service.is_empty() || parts[2] == *service)
                    && parts[5].starts_with(resource)
                    && parts[5].len() > resource.len()
            }
            Shape::Digits(n) => s.len() == *n && s.bytes().all(|b| b.is_ascii_digit()),
        }
    }
}

/// A string that is not an identifier of the kind it was given as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {value:?} is not {what} (expected {expected})")]
pub struct InvalidId {
    /// The identifier type's public path (`infra::aws::ids::VpcId`).
    pub kind: String,
    /// The string given.
    pub value: String,
    /// What the kind is, in words ("a VPC ID").
    pub what: String,
    /// The shape it must have.
    pub expected: String,
}

/// Checks `value` against `shape` for the identifier type `name` defined
/// in `module` (used by [`crate::identifier!`]).
pub fn check_identifier(
    module: &str,
    name: &str,
    what: &str,
    shape: Shape,
    value: &str,
) -> Result<(), InvalidId> {
    if shape.accepts(value) {
        return Ok(());
    }
    Err(InvalidId {
        kind: format!("{}::{name}", public_path(module)),
        value: value.to_owned(),
        what: what.to_owned(),
        expected: shape.describe(),
    })
}

/// A module path as a user of the `infra` crate writes it
/// (`infra_aws::ids` → `infra::aws::ids`).
pub fn public_path(module: &str) -> String {
    for (internal, public) in [("infra_aws", "infra::aws"), ("infra_core", "infra::core")] {
        if let Some(rest) = module.strip_prefix(internal) {
            return format!("{public}{rest}");
        }
    }
    module.to_owned()
}

/// Defines an identifier newtype over `String` (see [`Identifier`]).
///
/// `identifier!(/// docs
///     VpcId, "a VPC ID", Shape::Prefix(&["vpc-"]))` checks the shape in
/// `VpcId::new`; without the last two arguments any non-empty string is
/// accepted.
#[macro_export]
macro_rules! identifier {
    ($(#[$meta:meta])* $name:ident) => {
        $crate::identifier!($(#[$meta])* $name, "an identifier", $crate::typed::Shape::Any);
    };
    ($(#[$meta:meta])* $name:ident, $what:literal, $shape:expr) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
        pub struct $name(::std::string::String);

        impl $name {
            /// The shape a string must have to be one.
            pub const SHAPE: $crate::typed::Shape = $shape;

            /// An identifier from a string (e.g. one created outside the
            /// stack), checked: a string of another kind is refused.
            pub fn new(
                s: impl ::std::convert::Into<::std::string::String>,
            ) -> ::std::result::Result<Self, $crate::typed::InvalidId> {
                let s = s.into();
                $crate::typed::check_identifier(module_path!(), stringify!($name), $what, $shape, &s)?;
                Ok($name(s))
            }

            /// Wraps an identifier the cloud returned, unchecked (for
            /// providers reading responses and state).
            pub fn unchecked(s: impl ::std::convert::Into<::std::string::String>) -> Self {
                $name(s.into())
            }
        }
        impl $crate::typed::IdCheck for $name {
            fn problem(s: &str) -> ::std::option::Option<::std::string::String> {
                $name::new(s).err().map(|e| e.to_string())
            }
        }
        impl ::std::str::FromStr for $name {
            type Err = $crate::typed::InvalidId;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                $name::new(s)
            }
        }
        impl $crate::typed::Identifier for $name {
            const KIND: &'static str = stringify!($name);
            fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                s: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                d: D,
            ) -> ::std::result::Result<Self, D::Error> {
                <::std::string::String as $crate::__private::serde::Deserialize>::deserialize(d)
                    .map($name)
            }
        }
    };
}

/// One output of a resource, known after that resource is applied.
///
/// Obtained from a resource handle (`vpc.id()`); passing it into another
/// resource's input records the dependency edge.
pub struct Output<T> {
    reference: Reference,
    _type: PhantomData<fn() -> T>,
}

impl<T> Output<T> {
    /// An output of the resource at `address` (used by generated code).
    pub fn new(address: Address, output: &str) -> Self {
        Output { reference: Reference { address, output: output.to_owned() }, _type: PhantomData }
    }

    /// The reference this output stands for.
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// The resource this output belongs to.
    pub fn address(&self) -> &Address {
        &self.reference.address
    }
}

impl<T: Identifier> Output<T> {
    /// The same output, as a plain string (for names, tags, templates).
    pub fn to_string_output(&self) -> Output<String> {
        Output::new(self.reference.address.clone(), &self.reference.output)
    }
}

impl<T> Clone for Output<T> {
    fn clone(&self) -> Self {
        Output { reference: self.reference.clone(), _type: PhantomData }
    }
}

impl<T> fmt::Debug for Output<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Output<{}>({})", public_path(std::any::type_name::<T>()), self.reference)
    }
}

impl<T> Serialize for Output<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(crate::value::ser_names::REF, &self.reference)
    }
}

/// A resource input of type `T`: a plain value, another resource's output of
/// the same type, or (for strings) an expression such as an interpolation.
pub enum Input<T> {
    /// A value known now.
    Value(T),
    /// Another resource's output, known after it is applied.
    Output(Output<T>),
    /// An expression over outputs (interpolation, JSON encoding, secret).
    Expr(Value),
    /// A value that could not be converted; adding the resource reports it.
    Invalid(String),
}

impl<T: Clone> Clone for Input<T> {
    fn clone(&self) -> Self {
        match self {
            Input::Value(v) => Input::Value(v.clone()),
            Input::Output(o) => Input::Output(o.clone()),
            Input::Expr(e) => Input::Expr(e.clone()),
            Input::Invalid(e) => Input::Invalid(e.clone()),
        }
    }
}

/// An input left to `Default` is not set: declaring the resource reports
/// the field (`field `vpc_id`: a required input was not set`), so a
/// struct literal may end with `..Default::default()` and still have
/// every required field checked.
impl<T> Default for Input<T> {
    fn default() -> Self {
        Input::Invalid("a required input was not set".into())
    }
}

impl<T: fmt::Debug> fmt::Debug for Input<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Value(v) => v.fmt(f),
            Input::Output(o) => o.fmt(f),
            Input::Expr(e) => e.fmt(f),
            Input::Invalid(e) => write!(f, "(invalid: {e})"),
        }
    }
}

impl<T: Serialize> Serialize for Input<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Input::Value(v) => v.serialize(s),
            Input::Output(o) => o.serialize(s),
            Input::Expr(e) => e.serialize(s),
            Input::Invalid(e) => Err(serde::ser::Error::custom(e)),
        }
    }
}

/// A resolved input reads back as its value (a provider receives inputs
/// with every reference resolved; see [`crate::value::from_fields`]).
impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Input<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Input::Value)
    }
}

impl<T> Input<T> {
    /// The value, once resolved (what a provider sees); `None` for a
    /// reference or expression not resolved yet.
    pub fn value(&self) -> Option<&T> {
        match self {
            Input::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl<T: Identifier> Input<T> {
    /// The resolved identifier as a string (empty when unresolved, which a
    /// provider never sees).
    pub fn id(&self) -> &str {
        self.value().map_or("", Identifier::as_str)
    }

    /// The same input as a string (for a policy's resource, a dimension,
    /// an interpolation).
    pub fn to_string_input(&self) -> Input<String> {
        match self {
            Input::Value(v) => Input::Value(v.as_str().to_owned()),
            Input::Output(o) => Input::Output(o.to_string_output()),
            Input::Expr(e) => Input::Expr(e.clone()),
            Input::Invalid(e) => Input::Invalid(e.clone()),
        }
    }
}

impl Input<String> {
    /// The resolved string (empty when unresolved, which a provider never
    /// sees).
    pub fn as_str(&self) -> &str {
        self.value().map_or("", String::as_str)
    }
}

impl<T> From<T> for Input<T> {
    fn from(v: T) -> Self {
        Input::Value(v)
    }
}

impl<T> From<Output<T>> for Input<T> {
    fn from(o: Output<T>) -> Self {
        Input::Output(o)
    }
}

impl<T> From<&Output<T>> for Input<T> {
    fn from(o: &Output<T>) -> Self {
        Input::Output(o.clone())
    }
}

impl From<&str> for Input<String> {
    fn from(s: &str) -> Self {
        Input::Value(s.to_owned())
    }
}

impl From<Template> for Input<String> {
    fn from(t: Template) -> Self {
        Input::Expr(t.into_value())
    }
}

impl<T: Serialize> From<JsonEncoded<T>> for Input<String> {
    fn from(j: JsonEncoded<T>) -> Self {
        match to_value(&j.0) {
            Ok(v) => Input::Expr(Value::Json(Box::new(v))),
            Err(e) => Input::Invalid(e.0),
        }
    }
}

impl<T: Serialize> From<Sensitive<T>> for Input<T> {
    fn from(s: Sensitive<T>) -> Self {
        match to_value(&s.0) {
            Ok(v) => Input::Expr(Value::Secret(Box::new(v))),
            Err(e) => Input::Invalid(e.0),
        }
    }
}

/// A secret value. Its `Debug` prints `(sensitive)`; it serializes only into
/// the engine's [`Value`] (as [`Value::Secret`]), never into JSON or a log.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Sensitive<T>(pub T);

impl<T> Sensitive<T> {
    /// Wraps a secret.
    pub fn new(v: T) -> Self {
        Sensitive(v)
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Sensitive<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Sensitive)
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive)")
    }
}

impl<T: Serialize> Serialize for Sensitive<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if crate::value::ser_names::in_value_serializer() {
            s.serialize_newtype_struct(crate::value::ser_names::SECRET, &self.0)
        } else {
            Err(serde::ser::Error::custom("refusing to serialize a secret outside the engine"))
        }
    }
}

/// Encodes a value as a JSON string once its outputs are known, like
/// Terraform's `jsonencode` (IAM policies, container definitions).
#[derive(Clone, Debug)]
pub struct JsonEncoded<T>(pub T);

impl<T: Serialize> Serialize for JsonEncoded<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(crate::value::ser_names::JSON, &self.0)
    }
}

/// String interpolation over outputs: `interpolate!(repo.url(), ":latest")`.
#[derive(Clone, Debug, Default)]
pub struct Template {
    parts: Vec<Value>,
}

impl Template {
    /// A template from its parts.
    pub fn new(parts: Vec<TemplatePart>) -> Self {
        Template { parts: parts.into_iter().map(|p| p.0).collect() }
    }

    /// The template as an unresolved [`Value::Template`].
    pub fn into_value(self) -> Value {
        Value::Template(self.parts)
    }
}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Value::Template(self.parts.clone()).serialize(s)
    }
}

/// One part of a [`Template`]: literal text or an output.
#[derive(Clone, Debug)]
pub struct TemplatePart(Value);

impl From<&str> for TemplatePart {
    fn from(s: &str) -> Self {
        TemplatePart(Value::String(s.to_owned()))
    }
}
impl From<String> for TemplatePart {
    fn from(s: String) -> Self {
        TemplatePart(Value::String(s))
    }
}
impl From<&String> for TemplatePart {
    fn from(s: &String) -> Self {
        TemplatePart(Value::String(s.clone()))
    }
}
impl From<i64> for TemplatePart {
    fn from(n: i64) -> Self {
        TemplatePart(Value::Number(n.into()))
    }
}
impl<T> From<Output<T>> for TemplatePart {
    fn from(o: Output<T>) -> Self {
        TemplatePart(Value::Ref(o.reference))
    }
}
impl<T> From<&Output<T>> for TemplatePart {
    fn from(o: &Output<T>) -> Self {
        TemplatePart(Value::Ref(o.reference.clone()))
    }
}

/// Builds a [`Template`] from literal strings and outputs:
/// `interpolate!("service/", cluster.name(), "/", service.name())`.
#[macro_export]
macro_rules! interpolate {
    ($($part:expr),* $(,)?) => {
        $crate::typed::Template::new(::std::vec![$($crate::typed::TemplatePart::from($part)),*])
    };
}
