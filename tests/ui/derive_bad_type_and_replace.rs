use infra_derive::Resource;

#[derive(serde::Serialize, Resource)]
#[resource(type = "Thing", replace = "sometimes")]
pub struct Thing {
    pub size: i64,
}

fn main() {}
