//! STS: the caller's identity (see docs/aws-provider.md, "Lookups").

use infra_derive::Resource;
use serde::Serialize;

use crate::ids::{AccountId, Arn};

/// The account, ARN and user ID the provider instance's credentials act as
/// (`data "aws_caller_identity"`), read at plan time with
/// `GetCallerIdentity`.
///
/// Outputs: `me.account_id()` (`AccountId`), `me.arn()` (`Arn`),
/// `me.user_id()`.
///
/// # Example
///
/// ```
/// use infra::prelude::*;
/// use infra::aws::sts::CallerIdentity;
///
/// let mut stack = Stack::new("docs");
/// stack.provider(ProviderConfig::aws("us-east-1"));
/// let me = stack.add("me", CallerIdentity {});
/// stack.export("account", me.account_id());
/// assert!(stack.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, Serialize, Resource)]
#[resource(type = "aws:sts:CallerIdentity", lookup, outputs(account_id: AccountId, arn: Arn, user_id: String))]
pub struct CallerIdentity {}

/// Registers the STS lookups in `instance`.
#[cfg(feature = "sts")]
pub(crate) fn register(instance: &mut infra_engine::ProviderInstance, ctx: &std::sync::Arc<crate::sdk::Ctx>) {
    crate::kit::register_query(instance, ctx, imp::CallerIdentityQuery);
}

#[cfg(feature = "sts")]
pub(crate) mod imp {
    use async_trait::async_trait;
    use infra_engine::{Operation, ProviderError};

    use super::*;
    use crate::kit::{Ctx, Query, Service, missing};

    #[derive(Debug)]
    pub(crate) struct CallerIdentityQuery;

    #[async_trait]
    impl Query for CallerIdentityQuery {
        type Decl = CallerIdentity;
        type Out = CallerIdentityOut;
        const SERVICE: Service = Service::Sts;

        async fn query(
            &self,
            cx: &Ctx,
            _: &CallerIdentity,
        ) -> Result<Vec<(String, CallerIdentityOut)>, ProviderError> {
            let sts = cx.sts();
            let out = cx
                .send_in(Service::Sts, "GetCallerIdentity", Operation::Read, || {
                    sts.get_caller_identity().send()
                })
                .await?;
            let account = out.account().ok_or_else(|| missing("account"))?.to_owned();
            let o = CallerIdentityOut {
                account_id: AccountId::unchecked(&account),
                arn: Arn::unchecked(out.arn().unwrap_or_default()),
                user_id: out.user_id().unwrap_or_default().to_owned(),
            };
            Ok(vec![(account, o)])
        }
    }
}
