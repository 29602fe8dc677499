use super::*;
use std::collections::HashMap;

const POLICY: &str = r#"{"mode":"enforce","rules":[{"name":"r","forbid":["Debug"]}]}"#;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |k| map.get(k).cloned()
}

#[test]
fn outputs_default_to_metrics_only_and_bad_values_name_the_variable() {
    let policy = ("TAG_WARDEN_POLICY", r#"{"rules":[{"name":"r","forbid":["Debug"]}]}"#);
    let c = Config::from_env(&env_of(&[policy])).unwrap();
    assert_eq!(c.outputs, OutputSettings::default());
    assert!(!c.outputs.publishes());
    let c = Config::from_env(&env_of(&[
        policy,
        (ENV_METRICS_NAMESPACE, " Governance/Tags "),
        (
            ENV_FINDINGS_BUS,
            "arn:aws:events:eu-west-1:123456789012:event-bus/findings",
        ),
        (ENV_SECURITY_HUB, "TRUE"),
    ]))
    .unwrap();
    assert_eq!(c.outputs.namespace, "Governance/Tags");
    assert_eq!(
        c.outputs.findings_bus.as_deref(),
        Some("arn:aws:events:eu-west-1:123456789012:event-bus/findings")
    );
    assert!(c.outputs.security_hub);
    for (name, value) in [
        (ENV_METRICS_NAMESPACE, "AWS/Lambda"),
        (ENV_METRICS_NAMESPACE, "a:b"),
        (ENV_SECURITY_HUB, "yes"),
    ] {
        let e = Config::from_env(&env_of(&[policy, (name, value)])).unwrap_err();
        assert!(e.to_string().contains(name), "{e}");
    }
}

#[test]
fn inline_policy_wins_over_the_file() {
    let env = env_of(&[(ENV_POLICY, POLICY), (ENV_POLICY_FILE, "/nonexistent/policy.json")]);
    let config = Config::from_env(&env).unwrap();
    assert_eq!(config.policy.rules.len(), 1);
}

#[test]
fn blank_inline_policy_falls_back_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.json");
    std::fs::write(&path, POLICY).unwrap();
    let env = env_of(&[(ENV_POLICY, "  "), (ENV_POLICY_FILE, path.to_str().unwrap())]);
    assert!(Config::from_env(&env).is_ok());
}

#[test]
fn missing_policy_is_a_start_up_error() {
    let err = Config::from_env(&env_of(&[])).unwrap_err();
    assert!(matches!(err, ConfigError::NoPolicy), "{err}");
}

#[test]
fn unreadable_policy_file_names_the_path() {
    let err = Config::from_env(&env_of(&[(ENV_POLICY_FILE, "/nonexistent/p.json")])).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/p.json"), "{err}");
}

#[test]
fn invalid_policy_lists_every_problem_with_its_origin() {
    let env = env_of(&[(ENV_POLICY, r#"{"mode":"loud","rules":[],"extra":1}"#)]);
    let err = Config::from_env(&env).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with(ENV_POLICY), "{text}");
    assert!(text.contains("3 problems"), "{text}");
}

#[test]
fn mode_variable_overrides_the_policy() {
    let env = env_of(&[(ENV_POLICY, POLICY), (ENV_MODE, "report")]);
    assert_eq!(Config::from_env(&env).unwrap().mode, Mode::Report);
    let env = env_of(&[(ENV_POLICY, POLICY), (ENV_MODE, "dry")]);
    assert!(matches!(Config::from_env(&env).unwrap_err(), ConfigError::BadMode(m) if m == "dry"));
}

#[test]
fn sweep_settings_default_to_the_quotas_and_can_be_set() {
    let config = Config::from_env(&env_of(&[(ENV_POLICY, POLICY)])).unwrap();
    assert_eq!(config.sweep, SweepSettings::default());
    assert_eq!(config.sweep.secrets_write_rps.per_second(), 50.0);
    assert_eq!(config.sweep.kms_write_rps.per_second(), 5.0);
    let env = env_of(&[
        (ENV_POLICY, POLICY),
        (ENV_CONCURRENCY, "4"),
        (ENV_SECRETS_WRITE_RPS, "10"),
        (ENV_KMS_WRITE_RPS, "0.5"),
    ]);
    let config = Config::from_env(&env).unwrap();
    assert_eq!(
        (
            config.sweep.concurrency,
            config.sweep.secrets_write_rps.per_second(),
            config.sweep.kms_write_rps.per_second()
        ),
        (4, 10.0, 0.5)
    );
    for bad in ["0", "-3", "fast", "NaN", "inf"] {
        let env = env_of(&[(ENV_POLICY, POLICY), (ENV_KMS_WRITE_RPS, bad)]);
        assert!(
            matches!(Config::from_env(&env), Err(ConfigError::BadNumber { .. })),
            "{bad}"
        );
    }
}

#[test]
fn sweep_regions_start_at_home_and_do_not_repeat() {
    let env = env_of(&[
        (ENV_POLICY, POLICY),
        ("AWS_REGION", "eu-west-1"),
        (ENV_REGIONS, "us-east-1, eu-west-1,,ap-south-1"),
    ]);
    let config = Config::from_env(&env).unwrap();
    assert_eq!(config.sweep_regions(None), ["eu-west-1", "us-east-1", "ap-south-1"]);
    assert_eq!(
        config.sweep_regions(Some("us-east-1")),
        ["us-east-1", "eu-west-1", "ap-south-1"]
    );
}

#[test]
fn a_lock_without_memory_fails_start_up_naming_the_lock_and_memory_lets_it_start() {
    let locked = r#"{"rules":[{"name":"creator","require":{"CreatedBy":{"lock":true}}}]}"#;
    let err = Config::from_env(&env_of(&[(ENV_POLICY, locked)])).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ConfigError::LockWithoutMemory { .. }), "{text}");
    assert!(
        text.contains("`CreatedBy` (rule `creator`)") && text.contains(ENV_MEMORY_TABLE),
        "{text}"
    );
    let config = Config::from_env(&env_of(&[(ENV_POLICY, locked), (ENV_MEMORY_TABLE, " tw-memory ")])).unwrap();
    assert_eq!(config.memory_table.as_deref(), Some("tw-memory"));
    assert!(config.intake.remember_trusted);
    let plain = Config::from_env(&env_of(&[(ENV_POLICY, POLICY), (ENV_MEMORY_TABLE, " ")])).unwrap();
    assert_eq!(plain.memory_table, None, "blank means no memory");
    assert!(!plain.intake.remember_trusted);
}

#[test]
fn accounts_are_ids_or_org_and_other_accounts_need_the_member_role() {
    assert_eq!(Accounts::parse(" "), Ok(Accounts::Own));
    assert_eq!(Accounts::parse("org"), Ok(Accounts::Organization));
    assert_eq!(
        Accounts::parse("111111111111, 222222222222,111111111111"),
        Ok(Accounts::List(vec!["111111111111".into(), "222222222222".into()]))
    );
    assert_eq!(Accounts::parse("111111111111,ORG"), Err("ORG".into()));
    assert_eq!(Accounts::parse("1111"), Err("1111".into()));
    let err = Config::from_env(&env_of(&[(ENV_POLICY, POLICY), (ENV_ACCOUNTS, "ORG")])).unwrap_err();
    assert!(matches!(err, ConfigError::AccountsWithoutRole), "{err}");
    let config = Config::from_env(&env_of(&[
        (ENV_POLICY, POLICY),
        (ENV_ACCOUNTS, "ORG"),
        (ENV_MEMBER_ROLE, "/tag-warden/member/"),
        (ENV_SWEEP_QUEUE_URL, " https://sqs.us-east-1.amazonaws.com/1/q "),
    ]))
    .unwrap();
    assert_eq!(config.fleet.member_role.as_deref(), Some("tag-warden/member"));
    assert_eq!(config.intake.member_role.as_deref(), Some("tag-warden/member"));
    assert_eq!(
        config.fleet.queue_url.as_deref(),
        Some("https://sqs.us-east-1.amazonaws.com/1/q")
    );
    assert_eq!(config.fleet.max_receives, 3);
    let err = Config::from_env(&env_of(&[(ENV_POLICY, POLICY), (ENV_SWEEP_MAX_RECEIVES, "0")])).unwrap_err();
    assert!(matches!(err, ConfigError::BadNumber { .. }), "{err}");
}

#[test]
fn ignore_principals_are_split_trimmed_and_blank_entries_dropped() {
    let env = env_of(&[
        (ENV_POLICY, POLICY),
        (
            ENV_IGNORE_PRINCIPALS,
            " arn:aws:iam::*:role/terraform , ,arn:aws:iam::111122223333:user/deployer",
        ),
    ]);
    let config = Config::from_env(&env).unwrap();
    let globs: Vec<&str> = config.intake.ignore_principals.iter().map(Glob::as_str).collect();
    assert_eq!(
        globs,
        [
            "arn:aws:iam::*:role/terraform",
            "arn:aws:iam::111122223333:user/deployer"
        ]
    );
    assert_eq!(
        config.intake.own, None,
        "learnt from the credentials, not the environment"
    );
}

#[test]
fn a_trusted_principal_glob_over_session_arns_is_refused_naming_the_variable() {
    let env = env_of(&[
        (ENV_POLICY, POLICY),
        (
            ENV_IGNORE_PRINCIPALS,
            "arn:aws:iam::*:role/terraform,arn:aws:sts::*:assumed-role/ci/*",
        ),
    ]);
    let err = Config::from_env(&env).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("TAG_WARDEN_IGNORE_PRINCIPALS=`arn:aws:sts::*:assumed-role/ci/*`"),
        "{err}"
    );
}
