use super::*;

fn dest(partition: Partition, region: &str, target: Target<'_>) -> String {
    destination(partition, region, target)
        .unwrap_or_else(|e| panic!("{e}"))
        .to_string()
}

#[test]
fn each_partition_has_its_own_sign_in_and_console_hosts() {
    let cases = [
        ("arn:aws:iam::123456789012:role/dev", Partition::Aws),
        ("arn:aws-cn:iam::123456789012:role/dev", Partition::AwsCn),
        (
            "arn:aws-us-gov:iam::123456789012:role/dev",
            Partition::AwsUsGov,
        ),
    ];
    for (arn, partition) in cases {
        assert_eq!(Partition::of_arn(arn), Ok(partition), "{arn}");
    }
    assert_eq!(
        Partition::Aws.federation_url(),
        "https://signin.aws.amazon.com/federation"
    );
    assert_eq!(
        Partition::AwsCn.federation_url(),
        "https://signin.amazonaws.cn/federation"
    );
    assert_eq!(
        Partition::AwsUsGov.federation_url(),
        "https://signin.amazonaws-us-gov.com/federation"
    );
    assert_eq!(
        dest(Partition::AwsCn, "cn-north-1", Target::Home),
        "https://console.amazonaws.cn/console/home?region=cn-north-1"
    );
    assert_eq!(
        dest(Partition::AwsUsGov, "us-gov-west-1", Target::Service("ec2")),
        "https://console.amazonaws-us-gov.com/ec2/home?region=us-gov-west-1"
    );
}

#[test]
fn a_partition_without_a_federation_endpoint_is_named_in_the_refusal() {
    let err = Partition::of_arn("arn:aws-iso:iam::123456789012:role/dev").unwrap_err();
    assert_eq!(err.code(), "unsupported_partition");
    assert!(err.to_string().contains("`aws-iso`"), "{err}");
}

#[test]
fn the_home_and_services_land_in_the_region_asked_for() {
    assert_eq!(
        dest(Partition::Aws, "eu-west-1", Target::Home),
        "https://console.aws.amazon.com/console/home?region=eu-west-1"
    );
    assert_eq!(
        dest(Partition::Aws, "eu-west-1", Target::Service("s3")),
        "https://console.aws.amazon.com/s3/home?region=eu-west-1"
    );
    assert_eq!(
        dest(Partition::Aws, "us-east-1", Target::Service("DynamoDB")),
        "https://console.aws.amazon.com/dynamodbv2/home?region=us-east-1"
    );
    assert_eq!(
        dest(Partition::Aws, "us-east-1", Target::Service("logs")),
        "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups"
    );
}

#[test]
fn an_unknown_service_is_refused_with_the_list_of_known_ones() {
    let err = destination(Partition::Aws, "us-east-1", Target::Service("s4")).unwrap_err();
    assert_eq!(err.code(), "unknown_service");
    let text = err.to_string();
    assert!(
        text.starts_with("there is no console named `s4`; known: "),
        "{text}"
    );
    for name in [
        "s3",
        "ec2",
        "iam",
        "cloudwatch",
        "lambda",
        "cloudformation",
        "rds",
    ] {
        assert!(text.contains(name), "{name} missing from: {text}");
    }
}

#[test]
fn a_region_that_is_not_a_region_name_is_refused() {
    for bad in [
        "",
        "eu",
        "eu-west",
        "EU-WEST-1",
        "eu-west-1/../x",
        "eu west 1",
        "eu--1",
    ] {
        let err = destination(Partition::Aws, bad, Target::Home).unwrap_err();
        assert_eq!(err.code(), "bad_region", "{bad:?}");
    }
    assert!(destination(Partition::Aws, &"a-".repeat(20).to_string(), Target::Home).is_err());
}

#[test]
fn a_destination_on_the_console_domain_or_a_subdomain_is_taken_as_given() {
    for ok in [
        "https://console.aws.amazon.com/ec2/home?region=eu-west-1#Instances:",
        "https://eu-west-1.console.aws.amazon.com/lambda/home",
        "https://s3.Console.AWS.amazon.com/s3/buckets",
    ] {
        let url = destination(Partition::Aws, "us-east-1", Target::Url(ok)).unwrap();
        assert_eq!(url, Url::parse(ok).unwrap());
    }
}

#[test]
fn a_destination_off_the_console_domain_is_refused() {
    for bad in [
        "http://console.aws.amazon.com/",
        "https://evil.example.com/console.aws.amazon.com/",
        "https://console.aws.amazon.com.evil.example.com/",
        "https://evilconsole.aws.amazon.com/",
        "https://user:pw@console.aws.amazon.com/",
        "https://console.aws.amazon.com:8443/",
        "https://console.amazonaws.cn/",
        "javascript:alert(1)",
        "not a url",
    ] {
        let err = destination(Partition::Aws, "us-east-1", Target::Url(bad)).unwrap_err();
        assert_eq!(err.code(), "bad_destination", "{bad}");
        assert!(err.to_string().contains("console.aws.amazon.com"), "{err}");
    }
    let long = format!(
        "https://console.aws.amazon.com/{}",
        "a".repeat(MAX_DESTINATION)
    );
    assert!(destination(Partition::Aws, "us-east-1", Target::Url(&long)).is_err());
}
