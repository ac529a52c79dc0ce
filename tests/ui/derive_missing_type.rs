use infra_derive::Resource;

#[derive(serde::Serialize, Resource)]
#[resource(outputs(id: String))]
pub struct Thing {
    pub size: i64,
}

fn main() {}
