//! Identifier types. Each is a distinct newtype, so an `Output<SubnetId>`
//! does not fit where an `Input<VpcId>` is expected.

use infra_core::{Shape, identifier};

identifier!(
    /// A VPC ID (`vpc-…`).
    VpcId,
    "a VPC ID",
    Shape::Prefix(&["vpc-"])
);
identifier!(
    /// A subnet ID (`subnet-…`).
    SubnetId,
    "a subnet ID",
    Shape::Prefix(&["subnet-"])
);
identifier!(
    /// A security group ID (`sg-…`).
    SecurityGroupId,
    "a security group ID",
    Shape::Prefix(&["sg-"])
);
identifier!(
    /// A security group rule ID (`sgr-…`).
    SecurityGroupRuleId,
    "a security group rule ID",
    Shape::Prefix(&["sgr-"])
);
identifier!(
    /// An internet gateway ID (`igw-…`).
    InternetGatewayId,
    "an internet gateway ID",
    Shape::Prefix(&["igw-"])
);
identifier!(
    /// An Elastic IP allocation ID (`eipalloc-…`).
    AllocationId,
    "an Elastic IP allocation ID",
    Shape::Prefix(&["eipalloc-"])
);
identifier!(
    /// A NAT gateway ID (`nat-…`).
    NatGatewayId,
    "a NAT gateway ID",
    Shape::Prefix(&["nat-"])
);
identifier!(
    /// A route table ID (`rtb-…`).
    RouteTableId,
    "a route table ID",
    Shape::Prefix(&["rtb-"])
);
identifier!(
    /// A route table association ID (`rtbassoc-…`).
    RouteTableAssociationId,
    "a route table association ID",
    Shape::Prefix(&["rtbassoc-"])
);
identifier!(
    /// A network ACL ID (`acl-…`).
    NetworkAclId,
    "a network ACL ID",
    Shape::Prefix(&["acl-"])
);
identifier!(
    /// A managed prefix list ID (`pl-…`).
    PrefixListId,
    "a managed prefix list ID",
    Shape::Prefix(&["pl-"])
);
identifier!(
    /// A transit gateway ID (`tgw-…`).
    TransitGatewayId,
    "a transit gateway ID",
    Shape::Prefix(&["tgw-"])
);
identifier!(
    /// A transit gateway attachment ID (`tgw-attach-…`).
    TransitGatewayAttachmentId,
    "a transit gateway attachment ID",
    Shape::Prefix(&["tgw-attach-"])
);
identifier!(
    /// A transit gateway route table ID (`tgw-rtb-…`).
    TransitGatewayRouteTableId,
    "a transit gateway route table ID",
    Shape::Prefix(&["tgw-rtb-"])
);
identifier!(
    /// A VPC peering connection ID (`pcx-…`).
    VpcPeeringConnectionId,
    "a VPC peering connection ID",
    Shape::Prefix(&["pcx-"])
);
identifier!(
    /// A launch template ID (`lt-…`).
    LaunchTemplateId,
    "a launch template ID",
    Shape::Prefix(&["lt-"])
);
identifier!(
    /// An AMI ID (`ami-…`).
    AmiId,
    "an AMI ID",
    Shape::Prefix(&["ami-"])
);
identifier!(
    /// A flow log ID (`fl-…`).
    FlowLogId,
    "a flow log ID",
    Shape::Prefix(&["fl-"])
);
identifier!(
    /// An AWS account ID (12 digits).
    AccountId,
    "an AWS account ID",
    Shape::Digits(12)
);
identifier!(
    /// Any ARN, when no more specific kind applies.
    Arn,
    "an ARN",
    Shape::Arn { service: "", resource: "" }
);
identifier!(
    /// An IAM role ARN.
    RoleArn,
    "an IAM role ARN",
    Shape::Arn { service: "iam", resource: "role/" }
);
identifier!(
    /// An IAM role name.
    RoleName
);
identifier!(
    /// An IAM managed policy ARN.
    PolicyArn,
    "an IAM policy ARN",
    Shape::Arn { service: "iam", resource: "policy/" }
);
identifier!(
    /// An IAM instance profile name.
    InstanceProfileName
);
identifier!(
    /// An IAM instance profile ARN.
    InstanceProfileArn,
    "an IAM instance profile ARN",
    Shape::Arn { service: "iam", resource: "instance-profile/" }
);
identifier!(
    /// A KMS key ARN.
    KmsKeyArn,
    "a KMS key ARN",
    Shape::Arn { service: "kms", resource: "" }
);
identifier!(
    /// A Secrets Manager secret ARN.
    SecretArn,
    "a Secrets Manager secret ARN",
    Shape::Arn { service: "secretsmanager", resource: "secret:" }
);
identifier!(
    /// An ACM certificate ARN.
    CertificateArn,
    "an ACM certificate ARN",
    Shape::Arn { service: "acm", resource: "certificate/" }
);
identifier!(
    /// An Elastic Load Balancing v2 load balancer ARN.
    LoadBalancerArn,
    "a load balancer ARN",
    Shape::Arn { service: "elasticloadbalancing", resource: "loadbalancer/" }
);
identifier!(
    /// A target group ARN.
    TargetGroupArn,
    "a target group ARN",
    Shape::Arn { service: "elasticloadbalancing", resource: "targetgroup/" }
);
identifier!(
    /// A load balancer listener ARN.
    ListenerArn,
    "a listener ARN",
    Shape::Arn { service: "elasticloadbalancing", resource: "listener/" }
);
identifier!(
    /// An SNS topic ARN.
    TopicArn,
    "an SNS topic ARN",
    Shape::Arn { service: "sns", resource: "" }
);
identifier!(
    /// A CloudWatch Logs log group name.
    LogGroupName
);
identifier!(
    /// An ECS cluster ARN.
    EcsClusterArn,
    "an ECS cluster ARN",
    Shape::Arn { service: "ecs", resource: "cluster/" }
);
identifier!(
    /// An ECS task definition ARN.
    TaskDefinitionArn,
    "an ECS task definition ARN",
    Shape::Arn { service: "ecs", resource: "task-definition/" }
);
identifier!(
    /// An ECR repository URL.
    RepositoryUrl
);
identifier!(
    /// A DB subnet group name.
    DbSubnetGroupName
);
identifier!(
    /// An RDS cluster identifier.
    DbClusterIdentifier
);
identifier!(
    /// An ElastiCache subnet group name.
    CacheSubnetGroupName
);
identifier!(
    /// An ElastiCache parameter group name.
    CacheParameterGroupName
);
identifier!(
    /// An S3 bucket name.
    BucketName
);
identifier!(
    /// A CloudFront origin access identity ID.
    OriginAccessIdentityId
);
identifier!(
    /// A CloudFront distribution ID.
    DistributionId
);
identifier!(
    /// A WAFv2 web ACL ARN.
    WebAclArn,
    "a WAFv2 web ACL ARN",
    Shape::Arn { service: "wafv2", resource: "" }
);
identifier!(
    /// A Route 53 hosted zone ID.
    HostedZoneId,
    "a Route 53 hosted zone ID",
    Shape::Prefix(&["Z"])
);
identifier!(
    /// An Auto Scaling group name.
    AutoScalingGroupName
);
identifier!(
    /// A scaling policy ARN (EC2 Auto Scaling or Application Auto Scaling).
    ScalingPolicyArn,
    "a scaling policy ARN",
    Shape::Arn { service: "", resource: "" }
);
identifier!(
    /// A Cloud Map service ARN.
    ServiceDiscoveryArn,
    "a Cloud Map service ARN",
    Shape::Arn { service: "servicediscovery", resource: "" }
);
identifier!(
    /// A DNS name (a load balancer's, a distribution's, an endpoint's).
    DnsName
);
identifier!(
    /// A Lambda function ARN (a secret's rotation function).
    LambdaFunctionArn,
    "a Lambda function ARN",
    Shape::Arn { service: "lambda", resource: "function:" }
);
identifier!(
    /// A load balancer listener rule ARN.
    ListenerRuleArn,
    "a listener rule ARN",
    Shape::Arn { service: "elasticloadbalancing", resource: "listener-rule/" }
);

/// What kind of EC2 ID a string looks like, by its prefix: the type's
/// public path and what it is (`("infra::aws::ids::SubnetId", "a subnet ID")`).
/// For messages such as an import of an ID of the wrong type.
pub fn kind_of(s: &str) -> Option<(String, &'static str)> {
    use infra_core::typed::public_path;
    macro_rules! kinds {
        ($($t:ident => $what:literal),* $(,)?) => {
            [$((stringify!($t), $what, $t::SHAPE)),*]
        };
    }
    // Longer prefixes first: `tgw-attach-…` before `tgw-…`.
    let kinds = kinds!(
        TransitGatewayAttachmentId => "a transit gateway attachment ID",
        TransitGatewayRouteTableId => "a transit gateway route table ID",
        TransitGatewayId => "a transit gateway ID",
        RouteTableAssociationId => "a route table association ID",
        RouteTableId => "a route table ID",
        SecurityGroupRuleId => "a security group rule ID",
        SecurityGroupId => "a security group ID",
        VpcPeeringConnectionId => "a VPC peering connection ID",
        VpcId => "a VPC ID",
        SubnetId => "a subnet ID",
        InternetGatewayId => "an internet gateway ID",
        AllocationId => "an Elastic IP allocation ID",
        NatGatewayId => "a NAT gateway ID",
        NetworkAclId => "a network ACL ID",
        PrefixListId => "a managed prefix list ID",
        LaunchTemplateId => "a launch template ID",
        AmiId => "an AMI ID",
        FlowLogId => "a flow log ID",
    );
    kinds
        .into_iter()
        .find(|(_, _, shape)| shape.accepts(s))
        .map(|(name, what, _)| (format!("{}::{name}", public_path(module_path!())), what))
}

// ----- S3 and DynamoDB (`BucketName` is above, with the other names) ------

identifier!(
    /// A DynamoDB table name.
    TableName
);
identifier!(
    /// A DynamoDB table ARN.
    TableArn,
    "a DynamoDB table ARN",
    Shape::Arn { service: "dynamodb", resource: "table/" }
);
identifier!(
    /// A DynamoDB stream ARN (`…:table/<name>/stream/<label>`).
    TableStreamArn,
    "a DynamoDB stream ARN",
    Shape::Arn { service: "dynamodb", resource: "table/" }
);

// RDS: parameter groups, Aurora clusters' ARNs, instances and global
// clusters (with `DbSubnetGroupName` and `DbClusterIdentifier` above; the
// names are identifiers AWS stores lowercased).
identifier!(
    /// An RDS DB cluster parameter group's name.
    DbClusterParameterGroupName
);
identifier!(
    /// An RDS DB (instance) parameter group's name.
    DbParameterGroupName
);
identifier!(
    /// An Aurora DB cluster's ARN (a global cluster's source).
    DbClusterArn,
    "an RDS DB cluster ARN",
    Shape::Arn { service: "rds", resource: "cluster:" }
);
identifier!(
    /// An RDS DB instance's identifier.
    DbInstanceId
);
identifier!(
    /// An Aurora global cluster's identifier.
    GlobalClusterId
);

// The edge: CloudFront, WAFv2, Route 53 and Shield (with
// `OriginAccessIdentityId`, `DistributionId`, `WebAclArn` and
// `HostedZoneId` above).
identifier!(
    /// A CloudFront distribution ARN (`arn:aws:cloudfront::…:distribution/…`).
    DistributionArn,
    "a CloudFront distribution ARN",
    Shape::Arn { service: "cloudfront", resource: "distribution/" }
);
identifier!(
    /// A CloudFront origin access control ID.
    OriginAccessControlId
);
identifier!(
    /// A CloudFront cache policy ID (a managed policy's or a declared one's).
    CachePolicyId
);
identifier!(
    /// A CloudFront origin request policy ID.
    OriginRequestPolicyId
);
identifier!(
    /// A CloudFront response headers policy ID.
    ResponseHeadersPolicyId
);
identifier!(
    /// A WAFv2 IP set ARN.
    IpSetArn,
    "a WAFv2 IP set ARN",
    Shape::Arn { service: "wafv2", resource: "" }
);
identifier!(
    /// A Route 53 health check ID.
    HealthCheckId
);
identifier!(
    /// A Shield Advanced protection ID.
    ShieldProtectionId
);
