// Outputs are spelled once, in the declaration's `outputs(...)`: the
// generated `VpcOut` is what a provider returns, so an output it misspells
// or forgets does not compile.
use infra_aws::ec2::VpcOut;
use infra_aws::ids::{AccountId, Arn, RouteTableId, SecurityGroupId, VpcId};

fn main() {
    let _ = VpcOut {
        id: VpcId::unchecked("vpc-1"),
        arn: Arn::unchecked("arn:aws:ec2:us-east-1:1:vpc/vpc-1"),
        default_security_group: SecurityGroupId::unchecked("sg-1"),
        main_route_table_id: RouteTableId::unchecked("rtb-1"),
        owner_id: AccountId::unchecked("1"),
    };
}
