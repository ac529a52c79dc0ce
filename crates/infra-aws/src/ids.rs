//! Identifier types. Each is a distinct newtype, so an `Output<SubnetId>`
//! does not fit where an `Input<VpcId>` is expected.

use infra_core::identifier;

identifier!(
    /// A VPC ID (`vpc-…`).
    VpcId
);
identifier!(
    /// A subnet ID (`subnet-…`).
    SubnetId
);
identifier!(
    /// A security group ID (`sg-…`).
    SecurityGroupId
);
identifier!(
    /// A security group rule ID (`sgr-…`).
    SecurityGroupRuleId
);
identifier!(
    /// An internet gateway ID (`igw-…`).
    InternetGatewayId
);
identifier!(
    /// An Elastic IP allocation ID (`eipalloc-…`).
    AllocationId
);
identifier!(
    /// A NAT gateway ID (`nat-…`).
    NatGatewayId
);
identifier!(
    /// A route table ID (`rtb-…`).
    RouteTableId
);
identifier!(
    /// A route table association ID (`rtbassoc-…`).
    RouteTableAssociationId
);
identifier!(
    /// A network ACL ID (`acl-…`).
    NetworkAclId
);
identifier!(
    /// A managed prefix list ID (`pl-…`).
    PrefixListId
);
identifier!(
    /// A transit gateway ID (`tgw-…`).
    TransitGatewayId
);
identifier!(
    /// A transit gateway attachment ID (`tgw-attach-…`).
    TransitGatewayAttachmentId
);
identifier!(
    /// A transit gateway route table ID (`tgw-rtb-…`).
    TransitGatewayRouteTableId
);
identifier!(
    /// A VPC peering connection ID (`pcx-…`).
    VpcPeeringConnectionId
);
identifier!(
    /// A launch template ID (`lt-…`).
    LaunchTemplateId
);
identifier!(
    /// An AMI ID (`ami-…`).
    AmiId
);
identifier!(
    /// A flow log ID (`fl-…`).
    FlowLogId
);
identifier!(
    /// An AWS account ID (12 digits).
    AccountId
);
identifier!(
    /// Any ARN, when no more specific kind applies.
    Arn
);
identifier!(
    /// An IAM role ARN.
    RoleArn
);
identifier!(
    /// An IAM role name.
    RoleName
);
identifier!(
    /// An IAM managed policy ARN.
    PolicyArn
);
identifier!(
    /// An IAM instance profile name.
    InstanceProfileName
);
identifier!(
    /// A KMS key ARN.
    KmsKeyArn
);
identifier!(
    /// A Secrets Manager secret ARN.
    SecretArn
);
identifier!(
    /// An ACM certificate ARN.
    CertificateArn
);
identifier!(
    /// An Elastic Load Balancing v2 load balancer ARN.
    LoadBalancerArn
);
identifier!(
    /// A target group ARN.
    TargetGroupArn
);
identifier!(
    /// A load balancer listener ARN.
    ListenerArn
);
identifier!(
    /// An SNS topic ARN.
    TopicArn
);
identifier!(
    /// A CloudWatch Logs log group name.
    LogGroupName
);
identifier!(
    /// An ECS cluster ARN.
    EcsClusterArn
);
identifier!(
    /// An ECS task definition ARN.
    TaskDefinitionArn
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
    WebAclArn
);
identifier!(
    /// A Route 53 hosted zone ID.
    HostedZoneId
);
identifier!(
    /// An Auto Scaling group name.
    AutoScalingGroupName
);
identifier!(
    /// A scaling policy ARN (EC2 Auto Scaling or Application Auto Scaling).
    ScalingPolicyArn
);
identifier!(
    /// A Cloud Map service ARN.
    ServiceDiscoveryArn
);
identifier!(
    /// A DNS name (a load balancer's, a distribution's, an endpoint's).
    DnsName
);
