use infra_derive::Resource;

#[derive(serde::Serialize, Resource)]
#[resource(type = "aws:ec2:Thing")]
pub struct Thing {
    #[resource(forcenew)]
    pub size: i64,
}

fn main() {}
