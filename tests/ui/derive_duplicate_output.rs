use infra_derive::Resource;

#[derive(serde::Serialize, Resource)]
#[resource(type = "aws:ec2:Thing", outputs(id: String, id: String))]
pub struct Thing {
    pub size: i64,
}

fn main() {}
