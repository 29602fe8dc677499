//! The settings types `Config` holds for the runners: how hard a sweep may push
//! ([`SweepSettings`], at a [`Rate`]) and where metrics and findings go ([`OutputSettings`]).
//! Validated here, once; the runners take them as they are.

use crate::kinds::Service;
use std::fmt;

/// The namespace metrics go to unless `TAG_WARDEN_METRICS_NAMESPACE` says otherwise.
pub const DEFAULT_NAMESPACE: &str = "TagWarden";

/// Calls a second: positive and finite, by construction.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Rate(f64);

impl Rate {
    /// The default pace of Secrets Manager TagResource + UntagResource together, per account
    /// and region: the quota, 50 TPS shared.
    pub const SECRETS_WRITE_DEFAULT: Rate = Rate(50.0);
    /// The default pace of KMS TagResource, and separately of UntagResource, per account and
    /// region: the quota, 5 a second each.
    pub const KMS_WRITE_DEFAULT: Rate = Rate(5.0);

    /// `per_second` when it is a positive, finite number.
    pub fn new(per_second: f64) -> Option<Rate> {
        (per_second.is_finite() && per_second > 0.0).then_some(Rate(per_second))
    }

    /// Parses a setting's text (`40`, `0.5`).
    pub fn parse(text: &str) -> Option<Rate> {
        text.trim().parse().ok().and_then(Rate::new)
    }

    /// Calls a second.
    pub fn per_second(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", self.0)
    }
}

/// How hard a sweep may push, and how much of it the report keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSettings {
    /// Resources handled at once, per kind and cell.
    pub concurrency: usize,
    /// Cells (account and region) swept at once.
    pub cells_at_once: usize,
    /// Secrets Manager TagResource + UntagResource calls a second, per cell (they share a
    /// 50 TPS quota): the most the pacer allows; it slows down when AWS throttles.
    pub secrets_write_rps: Rate,
    /// KMS TagResource calls a second, and UntagResource calls a second, per cell (about 5
    /// each is the quota): the most the pacer allows.
    pub kms_write_rps: Rate,
    /// The most entries (resources left not compliant) the report lists; the counts always
    /// cover every resource, and every entry is logged.
    pub max_entries: usize,
    /// The tag a sweep counts resources by (a rate per team): `Owner` unless told.
    pub group_by: String,
}

impl SweepSettings {
    /// The most tag writes a second a service's pacer allows, per cell (per operation when its
    /// tag and untag calls have a quota each: `Service::write_quota`).
    pub fn write_rps(&self, service: Service) -> Rate {
        match service {
            Service::SecretsManager => self.secrets_write_rps,
            Service::Kms => self.kms_write_rps,
        }
    }
}

impl Default for SweepSettings {
    fn default() -> Self {
        SweepSettings {
            concurrency: 16,
            cells_at_once: 4,
            secrets_write_rps: Rate::SECRETS_WRITE_DEFAULT,
            kms_write_rps: Rate::KMS_WRITE_DEFAULT,
            max_entries: 1000,
            group_by: "Owner".to_owned(),
        }
    }
}

/// Where metrics and findings go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSettings {
    /// The CloudWatch namespace of the EMF metrics (`TAG_WARDEN_METRICS_NAMESPACE`).
    pub namespace: String,
    /// The EventBridge bus findings are put on, by name or ARN (`TAG_WARDEN_FINDINGS_BUS`).
    pub findings_bus: Option<String>,
    /// Whether findings are imported into Security Hub (`TAG_WARDEN_SECURITY_HUB`).
    pub security_hub: bool,
}

impl Default for OutputSettings {
    fn default() -> Self {
        OutputSettings {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            findings_bus: None,
            security_hub: false,
        }
    }
}

impl OutputSettings {
    /// Whether any finding leaves the function.
    pub fn publishes(&self) -> bool {
        self.findings_bus.is_some() || self.security_hub
    }
}
