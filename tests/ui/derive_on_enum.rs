use infra_derive::Resource;

#[derive(serde::Serialize, Resource)]
#[resource(type = "aws:ec2:Thing")]
pub enum Thing {
    A,
}

fn main() {}
