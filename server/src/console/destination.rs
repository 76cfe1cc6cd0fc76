//! Where a console sign-in lands: the partition of the profile's role (which fixes the sign-in
//! and console host names), and the console page, from a service name or a URL the person gave.

use url::Url;

/// An AWS partition that has a federation endpoint for console sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    Aws,
    AwsCn,
    AwsUsGov,
}

impl Partition {
    /// The partition of `arn:PARTITION:iam::ACCOUNT:role/NAME`.
    pub fn of_arn(arn: &str) -> Result<Self, DestinationError> {
        match arn.split(':').nth(1).unwrap_or_default() {
            "aws" => Ok(Partition::Aws),
            "aws-cn" => Ok(Partition::AwsCn),
            "aws-us-gov" => Ok(Partition::AwsUsGov),
            other => Err(DestinationError::Partition(
                other.chars().take(32).collect(),
            )),
        }
    }

    /// AWS's federation endpoint (`getSigninToken`, `login`) of this partition.
    pub fn federation_url(self) -> &'static str {
        match self {
            Partition::Aws => "https://signin.aws.amazon.com/federation",
            Partition::AwsCn => "https://signin.amazonaws.cn/federation",
            Partition::AwsUsGov => "https://signin.amazonaws-us-gov.com/federation",
        }
    }

    /// The console's domain; regional hosts are its subdomains (`eu-west-1.console.aws.amazon.com`).
    pub fn console_domain(self) -> &'static str {
        match self {
            Partition::Aws => "console.aws.amazon.com",
            Partition::AwsCn => "console.amazonaws.cn",
            Partition::AwsUsGov => "console.amazonaws-us-gov.com",
        }
    }
}

/// Console pages by service name: (name, path, fragment).
const SERVICES: &[(&str, &str, Option<&str>)] = &[
    ("apigateway", "apigateway/home", None),
    ("athena", "athena/home", None),
    ("billing", "billing/home", None),
    ("cloudformation", "cloudformation/home", None),
    ("cloudfront", "cloudfront/home", None),
    ("cloudtrail", "cloudtrail/home", None),
    ("cloudwatch", "cloudwatch/home", None),
    ("dynamodb", "dynamodbv2/home", None),
    ("ec2", "ec2/home", None),
    ("ecr", "ecr/home", None),
    ("ecs", "ecs/home", None),
    ("eks", "eks/home", None),
    ("iam", "iam/home", None),
    ("kms", "kms/home", None),
    ("lambda", "lambda/home", None),
    ("logs", "cloudwatch/home", Some("logsV2:log-groups")),
    ("rds", "rds/home", None),
    ("route53", "route53/home", None),
    ("s3", "s3/home", None),
    ("secretsmanager", "secretsmanager/home", None),
    ("sns", "sns/home", None),
    ("sqs", "sqs/home", None),
    ("ssm", "systems-manager/home", None),
    ("stepfunctions", "states/home", None),
    ("vpc", "vpc/home", None),
];

/// The longest `destination` URL taken.
pub const MAX_DESTINATION: usize = 2048;

/// What the person asked to land on.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// The console home.
    Home,
    Service(&'a str),
    Url(&'a str),
}

/// Why a destination cannot be used (each a 400 naming what would work).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    #[error("console sign-in knows the partitions aws, aws-cn and aws-us-gov; this profile's role is in `{0}`")]
    Partition(String),
    #[error("`{0}` is not a region name such as eu-west-1")]
    Region(String),
    #[error("there is no console named `{name}`; known: {}", known_services())]
    Service { name: String },
    #[error("the destination must be an https URL on {domain} (or one of its subdomains), at most {MAX_DESTINATION} bytes")]
    Url { domain: &'static str },
    #[error("give either a service or a destination, not both")]
    Both,
}

impl DestinationError {
    /// The machine code of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            DestinationError::Partition(_) => "unsupported_partition",
            DestinationError::Region(_) => "bad_region",
            DestinationError::Service { .. } => "unknown_service",
            DestinationError::Url { .. } => "bad_destination",
            DestinationError::Both => "bad_request",
        }
    }
}

fn known_services() -> String {
    SERVICES
        .iter()
        .map(|(name, _, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The console page `target` names in `partition`, its region `region`.
pub fn destination(
    partition: Partition,
    region: &str,
    target: Target<'_>,
) -> Result<Url, DestinationError> {
    if !is_region(region) {
        return Err(DestinationError::Region(region.chars().take(32).collect()));
    }
    let domain = partition.console_domain();
    let (path, fragment) = match target {
        Target::Url(text) => return on_console(domain, text),
        Target::Home => ("console/home", None),
        Target::Service(name) => SERVICES
            .iter()
            .find(|(known, _, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, path, fragment)| (*path, *fragment))
            .ok_or_else(|| DestinationError::Service {
                name: name.chars().take(64).collect(),
            })?,
    };
    let mut url = Url::parse(&format!("https://{domain}/{path}")).expect("a valid console URL");
    url.query_pairs_mut().append_pair("region", region);
    url.set_fragment(fragment);
    Ok(url)
}

/// `text` when it is an https URL on `domain` or a subdomain, without credentials or a port.
fn on_console(domain: &'static str, text: &str) -> Result<Url, DestinationError> {
    let refused = DestinationError::Url { domain };
    if text.len() > MAX_DESTINATION {
        return Err(refused);
    }
    let url = Url::parse(text).map_err(|_| refused.clone())?;
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let on_domain = host == domain || host.ends_with(&format!(".{domain}"));
    let plain = url.username().is_empty() && url.password().is_none() && url.port().is_none();
    if url.scheme() != "https" || !on_domain || !plain {
        return Err(refused);
    }
    Ok(url)
}

/// `eu-west-1`, `us-gov-west-1`, `cn-north-1`: lowercase words and a number, joined by `-`.
fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    region.len() <= 32
        && parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

#[cfg(test)]
mod tests;
