//! Credentials in a member account: the member role, assumed with the function's own
//! credentials (STS AssumeRole) once per account and kept until near expiry.
//!
//! Why not aws-config's `sts::AssumeRoleProvider` (weighed in 1.13): `Backend::reach` assumes
//! the role up front, so that a denied role fails the cell as `sts:AssumeRole` AccessDenied
//! before any store call. The provider is lazy (the first Secrets Manager call would fail,
//! named after that call) and hands back a `CredentialsError` whose SDK error must be
//! downcast to keep its kind; and the renewal margin ([`RENEW_BEFORE`], one invocation's
//! length) would still be ours, through an identity cache's buffer time. Ours is the one
//! AssumeRole call, classified by `from_sdk` like every other.

use super::error::from_sdk;
use crate::domain::ApiError;
use aws_credential_types::provider::{self, error::CredentialsError, ProvideCredentials};
use aws_credential_types::Credentials;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The session name of tag-warden's calls in member accounts (CloudTrail shows
/// `assumed-role/ROLE/tag-warden`).
pub const SESSION_NAME: &str = "tag-warden";

/// How long member credentials are asked for.
const DURATION: Duration = Duration::from_secs(3600);

/// Credentials with less than this left are renewed: a Lambda invocation lasts at most
/// 15 minutes, so calls started with them finish before they expire.
pub const RENEW_BEFORE: Duration = Duration::from_secs(16 * 60);

/// The member role in one account.
#[derive(Debug)]
pub struct MemberCredentials {
    sts: aws_sdk_sts::Client,
    role_arn: String,
    cached: tokio::sync::Mutex<Option<Credentials>>,
}

impl MemberCredentials {
    /// The role `role_arn`, assumed through `sts` (the function's own credentials).
    pub fn new(sts: aws_sdk_sts::Client, role_arn: String) -> Self {
        MemberCredentials {
            sts,
            role_arn,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// The role's ARN.
    pub fn role_arn(&self) -> &str {
        &self.role_arn
    }

    /// Credentials that last at least [`RENEW_BEFORE`]: the kept ones, or new ones.
    pub async fn get(&self) -> Result<Credentials, ApiError> {
        let mut cached = self.cached.lock().await;
        let fresh = |c: &Credentials| c.expiry().is_none_or(|e| e > SystemTime::now() + RENEW_BEFORE);
        if let Some(c) = cached.as_ref().filter(|c| fresh(c)) {
            return Ok(c.clone());
        }
        let out = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(SESSION_NAME)
            .duration_seconds(DURATION.as_secs() as i32)
            .send()
            .await
            .map_err(|e| from_sdk("sts:AssumeRole", &self.role_arn, e, |_| None))?;
        let Some(c) = out.credentials() else {
            return Err(super::error::local(
                "sts:AssumeRole",
                &self.role_arn,
                "NoCredentials",
                "AssumeRole answered without credentials".to_owned(),
            ));
        };
        let expiry = SystemTime::try_from(*c.expiration()).ok();
        let credentials = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            expiry,
            "tag-warden-member-role",
        );
        *cached = Some(credentials.clone());
        Ok(credentials)
    }
}

/// [`MemberCredentials`] as the SDK's credentials provider (the SDK caches them too, and asks
/// again near expiry).
#[derive(Debug, Clone)]
pub struct MemberProvider(pub Arc<MemberCredentials>);

impl ProvideCredentials for MemberProvider {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            self.0.get().await.map_err(CredentialsError::provider_error)
        })
    }
}

/// The partition of a region's ARNs.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The member role's ARN in `account` (`role` may carry a path: `tag-warden/member`).
pub fn role_arn(partition: &str, account: &str, role: &str) -> String {
    format!("arn:{partition}:iam::{account}:role/{}", role.trim_matches('/'))
}
