//! `tag-warden exempt ARN --until DAY --reason TEXT`: an administrator grants an exemption.
//! Memory records who granted it, why and until when (so that, under the default
//! `exemptions.set_by: trusted`, the exemption is verified), then the resource is tagged
//! `tag-warden:exempt-until = DAY`. Anyone else setting that tag is not vouched for.

use super::{print_report, runtime, CliError};
use crate::config::{Config, ENV_MEMORY_TABLE};
use crate::domain::{arn_account, arn_region, Cell, Date, ResourceContext, ResourceKind};
use crate::engine::policy::ExemptionSetter;
use crate::ports::Backend;
use crate::run::handler::Handler;
use crate::run::resource::{now_ms, Judge};

/// Checks the request against the policy before anything is called: a full ARN of a secret or
/// key, a day from today to `exemptions.max_days` ahead, a reason, and a policy under which
/// the exemption would be honoured.
fn check(config: &Config, arn: &str, until: &str, reason: &str, today: Date) -> Result<(ResourceKind, Date), CliError> {
    let kind = ResourceKind::of_arn(arn).ok_or_else(|| {
        let forms: Vec<&str> = ResourceKind::ALL.iter().map(|k| k.spec().arn_form).collect();
        CliError::Invalid(format!(
            "`{arn}` is not the ARN of a {} ({})",
            crate::kinds::nouns(" or a "),
            forms.join(", ")
        ))
    })?;
    if arn_account(arn).is_none() || arn_region(arn).is_none() {
        return Err(CliError::Invalid(format!("`{arn}` names no account or region")));
    }
    let until =
        Date::parse(until).ok_or_else(|| CliError::Invalid(format!("--until `{until}` is not a day (YYYY-MM-DD)")))?;
    let rules = config.policy.exemptions;
    if until < today {
        return Err(CliError::Invalid(format!(
            "--until {until} is in the past (today is {today}, UTC)"
        )));
    }
    if until > today.plus_days(i64::from(rules.max_days)) {
        return Err(CliError::Invalid(format!(
            "--until {until} is more than {} days ahead (the policy's exemptions.max_days): it would be enforced as a violation",
            rules.max_days
        )));
    }
    if reason.trim().is_empty() {
        return Err(CliError::Invalid("--reason must say why".to_owned()));
    }
    if rules.set_by == ExemptionSetter::Nobody {
        return Err(CliError::Invalid(
            "the policy's exemptions.set_by is `nobody`: no exemption is honoured".to_owned(),
        ));
    }
    if config.memory_table.is_none() {
        return Err(CliError::Invalid(format!(
            "an exemption is recorded in memory: set {ENV_MEMORY_TABLE}"
        )));
    }
    Ok((kind, until))
}

/// Grants the exemption; prints the entry (JSON).
pub fn run(arn: &str, until: &str, reason: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<(), CliError> {
    let config = Config::from_env(env).map_err(|e| CliError::Invalid(e.start_up()))?;
    let (kind, until) = check(&config, arn, until, reason, Date::of_epoch_ms(now_ms()))?;
    let (account, region) = (arn_account(arn), arn_region(arn).unwrap_or_default().to_owned());
    runtime()?.block_on(async {
        let backend = super::aws_backend(&config).await;
        let handler = Handler::new(backend, config);
        let failed = |e: &dyn std::fmt::Display| CliError::Failed(e.to_string());
        if let Some(why) = handler.refusal(account).await.map_err(|e| failed(&e))? {
            return Err(CliError::Invalid(why));
        }
        let backend = handler.backend();
        let who = backend
            .identity()
            .await
            .map_err(|e| failed(&e))?
            .map(|me| me.arn)
            .unwrap_or_else(|| "unknown".to_owned());
        backend.reach(account).await.map_err(|e| failed(&e))?;
        let judge = Judge {
            policy: &handler.config().policy,
            mode: handler.config().mode,
            memory: backend.memory(),
            patience: None,
            records: true,
        };
        let mut ctx = ResourceContext::new(kind);
        ctx.account = account.map(str::to_owned);
        ctx.region = Some(region.clone());
        let cell = Cell::new(account, &region);
        let entry = judge
            .exempt(&backend.store(&cell, kind), ctx, arn, until, &who, reason)
            .await
            .map_err(|e| failed(&e))?;
        let report = crate::view::report::Report::new(handler.config().mode, vec![entry]);
        report.results.iter().for_each(|e| e.log(false));
        print_report(&report)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(policy: &str, memory: bool) -> Config {
        let policy = crate::engine::policy::parse(policy).unwrap();
        Config::with_policy(policy, &|k| (memory && k == ENV_MEMORY_TABLE).then(|| "t".to_owned())).unwrap()
    }

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf";

    #[test]
    fn an_exemption_is_checked_against_the_policy_before_any_call() {
        let today = Date::parse("2026-12-02").unwrap();
        let c = config(r#"{"rules":[{"name":"r","forbid":["Debug"]}]}"#, true);
        assert_eq!(
            check(&c, ARN, "2027-01-10", "migration", today).unwrap(),
            (ResourceKind::Secret, Date::parse("2027-01-10").unwrap())
        );
        let err = |r: Result<(ResourceKind, Date), CliError>| r.unwrap_err().to_string();
        assert!(err(check(&c, ARN, "2027-03-03", "x", today)).contains("more than 90 days"));
        assert!(err(check(&c, ARN, "2026-12-01", "x", today)).contains("in the past"));
        assert!(err(check(&c, ARN, "soon", "x", today)).contains("not a day"));
        assert!(err(check(&c, ARN, "2027-01-10", " ", today)).contains("--reason"));
        assert!(err(check(&c, "prod/db", "2027-01-10", "x", today)).contains("not the ARN"));
        let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(
            check(&c, key, "2027-01-10", "x", today).unwrap().0,
            ResourceKind::KmsKey
        );
        let no_memory = config(r#"{"rules":[{"name":"r","forbid":["Debug"]}]}"#, false);
        assert!(err(check(&no_memory, ARN, "2027-01-10", "x", today)).contains(ENV_MEMORY_TABLE));
        let nobody = config(
            r#"{"version":2,"exemptions":{"set_by":"nobody"},"rules":[{"name":"r","forbid":["Debug"]}]}"#,
            true,
        );
        assert!(err(check(&nobody, ARN, "2027-01-10", "x", today)).contains("nobody"));
        let long = config(
            r#"{"version":2,"exemptions":{"max_days":365},"rules":[{"name":"r","forbid":["Debug"]}]}"#,
            true,
        );
        assert!(check(&long, ARN, "2027-06-01", "x", today).is_ok());
    }
}
