//! A serde `Serializer` that turns any `Serialize` type into a [`Value`].
//!
//! Resource input structs derive `serde::Serialize`; this serializer turns
//! them into the engine's field map. The typed wrappers of
//! [`crate::typed`] (`Output`, `Sensitive`, `Template`, `JsonEncoded`)
//! serialize as newtype structs with reserved names, which this serializer
//! recognises and turns into `Value::Ref`, `Value::Secret`, `Value::Template`
//! and `Value::Json`. Through any other serializer they are harmless (a
//! `Sensitive` refuses to serialize anywhere else).

use std::collections::BTreeMap;

use serde::ser::{self, Serialize};

use super::{Reference, Value};

pub(crate) const REF_NAME: &str = "$infra::Ref";
pub(crate) const SECRET_NAME: &str = "$infra::Secret";
pub(crate) const TEMPLATE_NAME: &str = "$infra::Template";
pub(crate) const JSON_NAME: &str = "$infra::Json";
pub(crate) const VALUE_NAME: &str = "$infra::Value";

thread_local! {
    static DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    static STASH: std::cell::RefCell<Vec<Value>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Serializes a [`Value`] embedded in a struct while [`to_value`] runs: the
/// value is stashed and picked up intact by the `VALUE_NAME` newtype arm.
pub(crate) fn pass_through<S: ser::Serializer>(v: &Value, s: S) -> Result<S::Ok, S::Error> {
    STASH.with(|st| st.borrow_mut().push(v.clone()));
    s.serialize_newtype_struct(VALUE_NAME, &())
}

/// True while [`to_value`] runs on this thread. `Sensitive` serializes only
/// then, so a secret cannot be written out by any other serializer.
pub(crate) fn in_value_serializer() -> bool {
    DEPTH.with(|d| d.get() > 0)
}

/// Why a value could not be turned into a [`Value`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueSerializeError(pub String);

impl ValueSerializeError {
    /// The same error one level up: inside field or element `step`
    /// (`vpc_id`, `[2]`). The message then reads "field `ingress[2].to_port`: …".
    fn within(self, step: &str) -> Self {
        match self.0.strip_prefix("field `") {
            Some(rest) => {
                let sep = if rest.starts_with('[') { "" } else { "." };
                ValueSerializeError(format!("field `{step}{sep}{rest}"))
            }
            None => ValueSerializeError(format!("field `{step}`: {}", self.0)),
        }
    }

    /// The field path and the message, when the error names a field.
    pub fn field(&self) -> Option<(&str, &str)> {
        let rest = self.0.strip_prefix("field `")?;
        rest.split_once("`: ")
    }
}

impl ser::Error for ValueSerializeError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ValueSerializeError(msg.to_string())
    }
}

/// Serializes `v` into a [`Value`].
pub fn to_value<T: Serialize + ?Sized>(v: &T) -> Result<Value, ValueSerializeError> {
    DEPTH.with(|d| d.set(d.get() + 1));
    let out = v.serialize(ValueSerializer);
    DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    out
}

struct ValueSerializer;

type R = Result<Value, ValueSerializeError>;

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = ValueSerializeError;
    type SerializeSeq = SeqSer;
    type SerializeTuple = SeqSer;
    type SerializeTupleStruct = SeqSer;
    type SerializeTupleVariant = VariantSeqSer;
    type SerializeMap = MapSer;
    type SerializeStruct = MapSer;
    type SerializeStructVariant = VariantMapSer;

    fn serialize_bool(self, v: bool) -> R {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> R {
        Ok(Value::Number(v.into()))
    }
    fn serialize_i16(self, v: i16) -> R {
        Ok(Value::Number(v.into()))
    }
    fn serialize_i32(self, v: i32) -> R {
        Ok(Value::Number(v.into()))
    }
    fn serialize_i64(self, v: i64) -> R {
        Ok(Value::Number(v.into()))
    }
    fn serialize_u8(self, v: u8) -> R {
        Ok(Value::Number(v.into()))
    }
    fn serialize_u16(self, v: u16) -> R {
        Ok(Value::Number(v.into()))
    }
    fn serialize_u32(self, v: u32) -> R {
        Ok(Value::Number(v.into()))
    }
    fn serialize_u64(self, v: u64) -> R {
        Ok(Value::Number(v.into()))
    }
    fn serialize_f32(self, v: f32) -> R {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> R {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| ValueSerializeError(format!("{v} is not a finite number")))
    }
    fn serialize_char(self, v: char) -> R {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> R {
        Ok(Value::String(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> R {
        Ok(Value::List(v.iter().map(|b| Value::Number((*b).into())).collect()))
    }
    fn serialize_none(self) -> R {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> R {
        v.serialize(self)
    }
    fn serialize_unit(self) -> R {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> R {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> R {
        Ok(Value::String(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, v: &T) -> R {
        let inner = v.serialize(ValueSerializer)?;
        match name {
            REF_NAME => {
                let field = |name: &str| match &inner {
                    Value::Map(m) => m.get(name).and_then(Value::as_str).map(str::to_owned),
                    _ => None,
                };
                let (Some(address), Some(output)) = (field("address"), field("output")) else {
                    return Err(ValueSerializeError(format!("bad reference: {inner:?}")));
                };
                let address = crate::address::Address::parse(&address)
                    .map_err(|e| ValueSerializeError(format!("bad reference: {e}")))?;
                Ok(Value::Ref(Reference { address, output }))
            }
            SECRET_NAME => Ok(Value::Secret(Box::new(inner))),
            TEMPLATE_NAME => match inner {
                Value::List(parts) => Ok(Value::Template(parts)),
                _ => Err(ValueSerializeError("template parts must be a list".into())),
            },
            JSON_NAME => Ok(Value::Json(Box::new(inner))),
            VALUE_NAME => STASH
                .with(|st| st.borrow_mut().pop())
                .ok_or_else(|| ValueSerializeError("embedded value went missing".into())),
            _ => Ok(inner),
        }
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> R {
        let inner = v.serialize(ValueSerializer)?;
        Ok(Value::Map(BTreeMap::from([(variant.to_owned(), inner)])))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSer, ValueSerializeError> {
        Ok(SeqSer(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSer, ValueSerializeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqSer, ValueSerializeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<VariantSeqSer, ValueSerializeError> {
        Ok(VariantSeqSer(variant, Vec::new()))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapSer, ValueSerializeError> {
        Ok(MapSer::default())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<MapSer, ValueSerializeError> {
        Ok(MapSer::default())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<VariantMapSer, ValueSerializeError> {
        Ok(VariantMapSer(variant, MapSer::default()))
    }
}

pub(crate) struct SeqSer(Vec<Value>);

impl ser::SerializeSeq for SeqSer {
    type Ok = Value;
    type Error = ValueSerializeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Self::Error> {
        let i = self.0.len();
        self.0.push(v.serialize(ValueSerializer).map_err(|e| e.within(&format!("[{i}]")))?);
        Ok(())
    }
    fn end(self) -> R {
        Ok(Value::List(self.0))
    }
}
impl ser::SerializeTuple for SeqSer {
    type Ok = Value;
    type Error = ValueSerializeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Self::Error> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> R {
        ser::SerializeSeq::end(self)
    }
}
impl ser::SerializeTupleStruct for SeqSer {
    type Ok = Value;
    type Error = ValueSerializeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Self::Error> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> R {
        ser::SerializeSeq::end(self)
    }
}

pub(crate) struct VariantSeqSer(&'static str, Vec<Value>);

impl ser::SerializeTupleVariant for VariantSeqSer {
    type Ok = Value;
    type Error = ValueSerializeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Self::Error> {
        self.1.push(v.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> R {
        Ok(Value::Map(BTreeMap::from([(self.0.to_owned(), Value::List(self.1))])))
    }
}

#[derive(Default)]
pub(crate) struct MapSer {
    map: BTreeMap<String, Value>,
    key: Option<String>,
}

impl ser::SerializeMap for MapSer {
    type Ok = Value;
    type Error = ValueSerializeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), Self::Error> {
        match k.serialize(ValueSerializer)? {
            Value::String(s) => self.key = Some(s),
            Value::Number(n) => self.key = Some(n.to_string()),
            Value::Bool(b) => self.key = Some(b.to_string()),
            other => {
                return Err(ValueSerializeError(format!("map keys must be strings, got {other:?}")));
            }
        }
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Self::Error> {
        let key = self.key.take().ok_or_else(|| ValueSerializeError("map value without a key".into()))?;
        let value = v.serialize(ValueSerializer).map_err(|e| e.within(&format!("[{key:?}]")))?;
        self.map.insert(key, value);
        Ok(())
    }
    fn end(self) -> R {
        Ok(Value::Map(self.map))
    }
}

impl ser::SerializeStruct for MapSer {
    type Ok = Value;
    type Error = ValueSerializeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Self::Error> {
        let value = v.serialize(ValueSerializer).map_err(|e| e.within(key))?;
        // Absent optional fields are left out, so state and plans stay small
        // and "unset" compares equal to "unset".
        if !value.is_null() {
            self.map.insert(key.to_owned(), value);
        }
        Ok(())
    }
    fn end(self) -> R {
        Ok(Value::Map(self.map))
    }
}

pub(crate) struct VariantMapSer(&'static str, MapSer);

impl ser::SerializeStructVariant for VariantMapSer {
    type Ok = Value;
    type Error = ValueSerializeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Self::Error> {
        ser::SerializeStruct::serialize_field(&mut self.1, key, v)
    }
    fn end(self) -> R {
        Ok(Value::Map(BTreeMap::from([(self.0.to_owned(), Value::Map(self.1.map))])))
    }
}
