//! Lookups (Terraform's data sources) on the kit: a type implements
//! [`Query`] — one read-only query by its declaration — and [`Reader`]
//! makes it the engine's `ResourceProvider`: `lookup` runs the query and
//! insists on exactly one result; there is nothing to create, update or
//! delete, and `read` reports what the state records unchanged (the engine
//! reads lookups again by their declaration before every plan, not by ID).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use infra_core::{Fields, Resource};
use infra_engine::{
    ApiClass, CreateRequest, DeleteRequest, Deletion, ErrorKind, FindRequest, LookupRequest, Observed,
    Operation, PollRequest, ProviderError, ReadRequest, ReadResponse, Readiness, ResourceProvider, Timings,
    UpdateRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Ctx, Service, decode, encode};

/// What a lookup type implements: its query. Everything else comes from
/// [`Reader`].
#[async_trait]
pub trait Query: fmt::Debug + Send + Sync + 'static {
    /// The declaration (`AmiLookup`), read back from resolved inputs.
    type Decl: Resource + DeserializeOwned + Serialize + Clone + fmt::Debug + Send + Sync;
    /// The generated outputs struct (`AmiLookupOut`).
    type Out: Serialize + Clone + fmt::Debug + Send + Sync;
    /// The service, for rate budgets and error mapping.
    const SERVICE: Service;

    /// Every object matching `d`, as (ID, outputs), best first: the query
    /// orders them when the declaration asks for one of many
    /// (`most_recent`) and returns that one only. Read-only calls only.
    async fn query(&self, cx: &Ctx, d: &Self::Decl) -> Result<Vec<(String, Self::Out)>, ProviderError>;
}

/// A [`Query`] as the engine's `ResourceProvider`.
#[derive(Debug)]
pub struct Reader<Q> {
    cx: Arc<Ctx>,
    query: Q,
}

impl<Q: Query> Reader<Q> {
    /// The provider of `query` over the instance's shared context.
    pub fn new(cx: Arc<Ctx>, query: Q) -> Self {
        Reader { cx, query }
    }
}

/// Registers the lookup `query` in `instance` under its declaration's type
/// name.
#[allow(dead_code)]
pub(crate) fn register_query<Q: Query>(
    instance: &mut infra_engine::ProviderInstance,
    ctx: &Arc<Ctx>,
    query: Q,
) {
    instance.register(Q::Decl::SCHEMA.type_name, Arc::new(Reader::new(ctx.clone(), query)));
}

/// The query as the user wrote it, for messages: the declaration's type and
/// its inputs as JSON.
fn describe<D: Resource + Serialize>(d: &D) -> String {
    let json = serde_json::to_string(d).unwrap_or_else(|_| "(unprintable)".into());
    format!("{} {json}", D::SCHEMA.type_name)
}

fn none() -> ProviderError {
    ProviderError::new(ErrorKind::Final, "a lookup changes nothing in the cloud").with_code("Lookup")
}

#[async_trait]
impl<Q: Query> ResourceProvider for Reader<Q> {
    fn api_class(&self, _op: Operation) -> ApiClass {
        // Every call a lookup makes is a read.
        let class = ApiClass::generic(Q::SERVICE.name(), Operation::Read);
        if Q::SERVICE.per_account() { class.per_account() } else { class }
    }

    fn timings(&self) -> Timings {
        Timings::secs(1, 1, 0, 1, 60)
    }

    async fn lookup(&self, req: LookupRequest) -> Result<Observed, ProviderError> {
        let decl: Q::Decl = decode(&req.inputs)?;
        let mut found = self.query.query(&self.cx, &decl).await?;
        match found.len() {
            1 => {}
            0 => {
                return Err(ProviderError::new(
                    ErrorKind::Final,
                    format!("the query found nothing: {}", describe(&decl)),
                )
                .with_code("LookupFoundNothing"));
            }
            n => {
                let ids: Vec<&str> = found.iter().take(5).map(|(id, _)| id.as_str()).collect();
                return Err(ProviderError::new(
                    ErrorKind::Final,
                    format!(
                        "the query found {n} objects ({}{}), but this lookup takes exactly one; narrow it: {}",
                        ids.join(", "),
                        if n > 5 { ", …" } else { "" },
                        describe(&decl)
                    ),
                )
                .with_code("LookupFoundMany"));
            }
        }
        let (id, out) = found.remove(0);
        Ok(Observed { id, inputs: Fields::new(), outputs: encode(&out)? })
    }

    async fn create(&self, req: CreateRequest) -> Result<Observed, ProviderError> {
        self.lookup(LookupRequest { address: req.address, inputs: req.inputs }).await
    }

    /// What the state records stands: no call (lookups are read again by
    /// their declaration before every plan).
    async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
        let mut out = ReadResponse::default();
        for id in req.ids {
            out.found.insert(id.clone(), Observed { id, inputs: Fields::new(), outputs: Fields::new() });
        }
        Ok(out)
    }

    async fn update(&self, _req: UpdateRequest) -> Result<Fields, ProviderError> {
        Err(none())
    }

    /// Nothing to delete: done, with no call.
    async fn delete(&self, _req: DeleteRequest) -> Result<Deletion, ProviderError> {
        Ok(Deletion::Gone)
    }

    async fn poll(&self, _req: PollRequest) -> Result<Readiness, ProviderError> {
        Ok(Readiness::Ready { outputs: Fields::new() })
    }

    async fn find(&self, _req: FindRequest) -> Result<Option<Observed>, ProviderError> {
        Ok(None)
    }
}
