//! What the guardrails are made with: who is exempt, who may change the exempt roles, the
//! organization, and how large the output may be.

/// The most AWS Organizations takes in one SCP or RCP: 5,120, counted here as the UTF-8 bytes
/// of the minified document (AWS's pages say characters on some, bytes on others; bytes are
/// never refused).
pub const MAX_POLICY_BYTES: usize = 5120;

/// The documents of one kind a root, OU or account can take beside the AWS-managed
/// `FullAWSAccess` / `RCPFullAWSAccess` (5 a target, one of them that).
pub const MAX_DOCUMENTS: usize = 4;

/// How large the output may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Documents of this kind at most.
    pub max_documents: usize,
    /// Bytes a document at most.
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_documents: MAX_DOCUMENTS,
            max_bytes: MAX_POLICY_BYTES,
        }
    }
}

/// Who is exempt, who may change the exempt roles, and how large the output may be.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Principal ARN globs the tag statements never deny.
    pub exempt: Vec<String>,
    /// Principal ARN globs that may create and change roles named like the exempt ones (SCP);
    /// everyone else may not, so no one can make a role that escapes the guardrails.
    pub deployers: Vec<String>,
    /// The organization (RCP): an exempt-looking principal from elsewhere is denied.
    pub org_id: Option<String>,
    /// The limits.
    pub limits: Limits,
    /// Statements kept one by one, not merged (to compare the packed documents with).
    pub unmerged: bool,
    /// `--protect` (SCP): tag-warden's own stack, named by prefix, kept the deployers'.
    pub protect: Option<super::Protect>,
}

/// The IAM actions that create or change a role: denied on the exempt roles' ARNs to all but
/// the deployers.
pub const ROLE_CHANGES: [&str; 9] = [
    "iam:CreateRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:UpdateRole",
];

/// The deployers by default: the roles a StackSet deploys with (service-managed and
/// self-managed).
pub const DEFAULT_DEPLOYERS: [&str; 2] = [
    "arn:*:iam::*:role/stacksets-exec-*",
    "arn:*:iam::*:role/AWSCloudFormationStackSetExecutionRole",
];

/// The prefix of tag-warden's own keys (`tag-warden:exempt`, `tag-warden:exempt-until`).
pub const OWN_KEYS: &str = "tag-warden:*";
