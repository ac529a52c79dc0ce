// A provider reads the declaration's own Rust type: a field the
// declaration does not have is a compile error, not an emulator failure.
use async_trait::async_trait;
use infra_aws::ec2::{Vpc, VpcOut};
use infra_aws::kit::{Ctx, Kind, Lookup, Seen, Service, Tags};
use infra_engine::{ProviderError, Timings};

#[derive(Debug)]
struct MyVpc;

#[async_trait]
impl Kind for MyVpc {
    type Decl = Vpc;
    type Out = VpcOut;
    const SERVICE: Service = Service::Ec2;
    const TIMINGS: Timings = Timings::secs(1, 1, 1, 1, 60);

    async fn list(&self, _: &Ctx, _: Lookup<'_, Vpc>) -> Result<Vec<Seen<Self>>, ProviderError> {
        Ok(Vec::new())
    }

    async fn create(&self, _: &Ctx, d: &Vpc, _: &Tags, _: &str) -> Result<String, ProviderError> {
        Ok(d.cidr_blok.clone())
    }

    async fn delete(&self, _: &Ctx, _: &str, _: &Vpc) -> Result<(), ProviderError> {
        Ok(())
    }
}

fn main() {}
