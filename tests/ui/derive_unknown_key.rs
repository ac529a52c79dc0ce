use infra_derive::Resource;

#[derive(serde::Serialize, Resource)]
#[resource(type = "aws:ec2:Thing", outptus(id: String))]
pub struct Thing {
    pub size: i64,
}

fn main() {}
