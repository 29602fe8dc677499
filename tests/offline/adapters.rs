//! The AWS adapters against the real SDK client types, driven by aws-smithy-mocks: error
//! mapping, pagination, retries and states that moto cannot produce.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use aws_sdk_kms::operation::{
    describe_key::DescribeKeyOutput, list_resource_tags::ListResourceTagsOutput, tag_resource::TagResourceError,
    untag_resource::UntagResourceOutput,
};
use aws_sdk_kms::types::{KeyManagerType, KeyMetadata, KeyState, Tag as KmsTag};
use aws_sdk_secretsmanager::operation::{
    describe_secret::{DescribeSecretError, DescribeSecretOutput},
    tag_resource::{TagResourceError as SmTagResourceError, TagResourceOutput},
};
use aws_sdk_secretsmanager::types::Tag as SmTag;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use tag_warden::adapters::aws::{retry_config, KmsStore, SecretsStore, RETRY_MAX_ATTEMPTS};
use tag_warden::domain::Outcome;
use tag_warden::domain::{ErrorKind, ResourceContext};
use tag_warden::domain::{Mode, PendingKeyState, Refusal, ResourceKind, Tags};
use tag_warden::engine::policy::parse;
use tag_warden::engine::policy::Policy;
use tag_warden::ports::TagStore;
use tag_warden::run::resource::Judge;
use tag_warden::view::report::ResourceReport;

/// The event path for one resource through a real adapter.
async fn enforce<S: TagStore>(store: &S, policy: &Policy, mode: Mode, kind: ResourceKind, id: &str) -> ResourceReport {
    Judge::<tag_warden::ports::NoMemory> {
        policy,
        mode,
        memory: None,
        patience: None,
        records: true,
    }
    .check(store, ResourceContext::new(kind), id)
    .await
}

const SECRET_ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";
const KEY_ARN: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn secrets(rules: &[&Rule]) -> SecretsStore {
    SecretsStore::new(mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, rules, |c| c
        .retry_config(retry_config())))
}

fn kms(rules: &[&Rule]) -> KmsStore {
    KmsStore::new(mock_client!(aws_sdk_kms, RuleMode::MatchAny, rules, |c| c
        .retry_config(retry_config())))
}

/// An awsJson error response as both services send it.
fn json_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let body = format!(r#"{{"__type":"{code}","message":"{message}"}}"#);
    HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
}

fn describe_secret_ok() -> DescribeSecretOutput {
    DescribeSecretOutput::builder()
        .arn(SECRET_ARN)
        .name("prod/db")
        .tags(SmTag::builder().key("Owner").value("platform").build())
        .tags(SmTag::builder().key("aws:cloudformation:stack-name").value("s").build())
        .tags(SmTag::builder().key("Debug").value("on").build())
        .build()
}

const POLICY: &str = r#"{"rules":[{"name":"r","require":{"Owner":{"default":"platform"}},"forbid":["Debug"]}]}"#;

#[tokio::test]
async fn describe_secret_yields_arn_and_every_tag() {
    let rule = mock!(aws_sdk_secretsmanager::Client::describe_secret)
        .match_requests(|r| r.secret_id() == Some("prod/db"))
        .then_output(describe_secret_ok);
    let state = secrets(&[&rule]).read("prod/db").await.unwrap();
    assert_eq!(state.arn, SECRET_ARN);
    assert_eq!(state.tags.len(), 3);
    assert_eq!(state.skip, None);
}

#[tokio::test]
async fn a_secret_scheduled_for_deletion_or_owned_by_a_service_is_skipped() {
    let deleted = mock!(aws_sdk_secretsmanager::Client::describe_secret).then_output(|| {
        DescribeSecretOutput::builder()
            .arn(SECRET_ARN)
            .deleted_date(aws_smithy_types::DateTime::from_secs(1_700_000_000))
            .build()
    });
    let state = secrets(&[&deleted]).read("prod/db").await.unwrap();
    assert_eq!(state.skip, Some(Refusal::SecretScheduledForDeletion));

    let owned = mock!(aws_sdk_secretsmanager::Client::describe_secret).then_output(|| {
        DescribeSecretOutput::builder()
            .arn(SECRET_ARN)
            .owning_service("rds")
            .build()
    });
    let store = secrets(&[&owned]);
    let state = store.read("prod/db").await.unwrap();
    assert_eq!(state.skip, Some(Refusal::SecretManagedBy("rds".into())));
    let report = enforce(
        &store,
        &parse(POLICY).unwrap(),
        Mode::Enforce,
        ResourceKind::Secret,
        "prod/db",
    )
    .await;
    assert_eq!(report.outcome, Outcome::Skipped);
}

#[tokio::test]
async fn a_missing_secret_maps_to_not_found() {
    let rule = mock!(aws_sdk_secretsmanager::Client::describe_secret).then_error(|| {
        DescribeSecretError::ResourceNotFoundException(
            aws_sdk_secretsmanager::types::error::ResourceNotFoundException::builder()
                .message("Secrets Manager can't find the specified secret.")
                .build(),
        )
    });
    let err = secrets(&[&rule]).read("prod/db").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(err.code, "ResourceNotFoundException");
    assert_eq!(err.operation, "secretsmanager:DescribeSecret");
}

#[tokio::test]
async fn invalid_request_on_tag_maps_to_invalid_state() {
    let rule = mock!(aws_sdk_secretsmanager::Client::tag_resource).then_error(|| {
        SmTagResourceError::InvalidRequestException(
            aws_sdk_secretsmanager::types::error::InvalidRequestException::builder()
                .message("You can't perform this operation on the secret because it was marked for deletion.")
                .build(),
        )
    });
    let tags: Tags = [("Owner".to_string(), "platform".to_string())].into();
    let err = secrets(&[&rule]).tag(SECRET_ARN, &tags).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidState);
    assert_eq!(rule.num_calls(), 1, "not retried");
}

#[tokio::test]
async fn access_denied_on_untag_is_a_violation_with_aws_message_and_no_retry_storm() {
    let describe = mock!(aws_sdk_secretsmanager::Client::describe_secret).then_output(describe_secret_ok);
    let untag = mock!(aws_sdk_secretsmanager::Client::untag_resource).then_http_response(|| {
        json_error(
            400,
            "AccessDeniedException",
            "removing this tag would cost the caller access to the secret",
        )
    });
    let tag = mock!(aws_sdk_secretsmanager::Client::tag_resource).then_output(|| TagResourceOutput::builder().build());
    let store = secrets(&[&describe, &untag, &tag]);
    let report = enforce(
        &store,
        &parse(POLICY).unwrap(),
        Mode::Enforce,
        ResourceKind::Secret,
        "prod/db",
    )
    .await;
    assert_eq!(report.outcome, Outcome::Violation);
    assert!(
        report
            .reasons
            .iter()
            .any(|r| r.contains("would cost the caller access")),
        "{:?}",
        report.reasons
    );
    assert_eq!(untag.num_calls(), 1, "AccessDenied is not retried");
    assert_eq!(tag.num_calls(), 0, "no tag after a failed untag");
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_until_it_succeeds() {
    let rule = mock!(aws_sdk_secretsmanager::Client::tag_resource)
        .sequence()
        .http_response(|| json_error(400, "ThrottlingException", "Rate exceeded"))
        .times(2)
        .output(|| TagResourceOutput::builder().build())
        .build();
    let tags: Tags = [("Owner".to_string(), "platform".to_string())].into();
    secrets(&[&rule]).tag(SECRET_ARN, &tags).await.unwrap();
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn throttling_that_outlasts_the_retries_is_an_error_that_fails_the_invocation() {
    let describe = mock!(aws_sdk_secretsmanager::Client::describe_secret).then_output(describe_secret_ok);
    let untag = mock!(aws_sdk_secretsmanager::Client::untag_resource)
        .sequence()
        .http_response(|| json_error(400, "ThrottlingException", "Rate exceeded"))
        .repeatedly()
        .build();
    let store = secrets(&[&describe, &untag]);
    let report = enforce(
        &store,
        &parse(POLICY).unwrap(),
        Mode::Enforce,
        ResourceKind::Secret,
        "prod/db",
    )
    .await;
    assert_eq!(report.outcome, Outcome::Error);
    assert_eq!(
        report.error_type.map(tag_warden::domain::ErrorType::as_str),
        Some("Throttled")
    );
    assert_eq!(untag.num_calls(), RETRY_MAX_ATTEMPTS as usize);
}

#[tokio::test]
async fn server_errors_are_retried_then_reported_as_transient() {
    let rule = mock!(aws_sdk_secretsmanager::Client::describe_secret)
        .sequence()
        .http_response(|| json_error(500, "InternalServiceError", "internal failure"))
        .repeatedly()
        .build();
    let err = secrets(&[&rule]).read("prod/db").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(rule.num_calls(), RETRY_MAX_ATTEMPTS as usize);
}

fn key_metadata(manager: KeyManagerType, state: KeyState) -> DescribeKeyOutput {
    DescribeKeyOutput::builder()
        .key_metadata(
            KeyMetadata::builder()
                .key_id("1234abcd-12ab-34cd-56ef-1234567890ab")
                .arn(KEY_ARN)
                .key_manager(manager)
                .key_state(state)
                .build()
                .unwrap(),
        )
        .build()
}

fn kms_tag(k: &str, v: &str) -> KmsTag {
    KmsTag::builder().tag_key(k).tag_value(v).build().unwrap()
}

#[tokio::test]
async fn aws_managed_and_pending_deletion_keys_are_skipped_after_one_call() {
    for (manager, state, why) in [
        (KeyManagerType::Aws, KeyState::Enabled, "AWS-managed"),
        (KeyManagerType::Customer, KeyState::PendingDeletion, "PendingDeletion"),
        (
            KeyManagerType::Customer,
            KeyState::PendingReplicaDeletion,
            "PendingReplicaDeletion",
        ),
    ] {
        let describe =
            mock!(aws_sdk_kms::Client::describe_key).then_output(move || key_metadata(manager.clone(), state.clone()));
        let list =
            mock!(aws_sdk_kms::Client::list_resource_tags).then_output(|| ListResourceTagsOutput::builder().build());
        let store = kms(&[&describe, &list]);
        let report = enforce(
            &store,
            &parse(POLICY).unwrap(),
            Mode::Enforce,
            ResourceKind::KmsKey,
            "alias/x",
        )
        .await;
        assert_eq!(report.outcome, Outcome::Skipped, "{why}");
        assert!(report.reasons[0].contains(why), "{:?}", report.reasons);
        assert_eq!(list.num_calls(), 0, "{why}: no tag read needed");
    }
}

#[tokio::test]
async fn a_key_named_by_its_arn_is_read_by_its_tags_alone_and_its_state_asked_only_before_a_write() {
    let policy = parse(POLICY).unwrap();
    // Compliant: one call.
    let describe = mock!(aws_sdk_kms::Client::describe_key)
        .then_output(|| key_metadata(KeyManagerType::Customer, KeyState::Enabled));
    let list = mock!(aws_sdk_kms::Client::list_resource_tags)
        .match_requests(|r| r.key_id() == Some(KEY_ARN))
        .then_output(|| ListResourceTagsOutput::builder().tags(kms_tag("Owner", "x")).build());
    let store = kms(&[&describe, &list]);
    let report = enforce(&store, &policy, Mode::Enforce, ResourceKind::KmsKey, KEY_ARN).await;
    assert_eq!(report.outcome, Outcome::Compliant);
    assert_eq!((list.num_calls(), describe.num_calls()), (1, 0));
    assert_eq!(report.arn.as_deref(), Some(KEY_ARN));

    // A write due on a key pending deletion: its state is asked, and nothing is written.
    for (manager, state, why) in [
        (KeyManagerType::Customer, KeyState::PendingDeletion, "PendingDeletion"),
        (KeyManagerType::Aws, KeyState::Enabled, "AWS-managed"),
    ] {
        let describe =
            mock!(aws_sdk_kms::Client::describe_key).then_output(move || key_metadata(manager.clone(), state.clone()));
        let list = mock!(aws_sdk_kms::Client::list_resource_tags)
            .then_output(|| ListResourceTagsOutput::builder().tags(kms_tag("Debug", "on")).build());
        let tag = mock!(aws_sdk_kms::Client::tag_resource)
            .then_output(|| aws_sdk_kms::operation::tag_resource::TagResourceOutput::builder().build());
        let untag = mock!(aws_sdk_kms::Client::untag_resource).then_output(|| UntagResourceOutput::builder().build());
        let store = kms(&[&describe, &list, &tag, &untag]);
        let report = enforce(&store, &policy, Mode::Enforce, ResourceKind::KmsKey, KEY_ARN).await;
        assert_eq!(report.outcome, Outcome::Skipped, "{why}");
        assert!(report.reasons.iter().any(|r| r.contains(why)), "{:?}", report.reasons);
        assert_eq!((list.num_calls(), describe.num_calls()), (1, 1), "{why}");
        assert_eq!((tag.num_calls(), untag.num_calls()), (0, 0), "{why}");
    }
}

#[tokio::test]
async fn list_resource_tags_follows_every_page() {
    let describe = mock!(aws_sdk_kms::Client::describe_key)
        .then_output(|| key_metadata(KeyManagerType::Customer, KeyState::Enabled));
    let page1 = mock!(aws_sdk_kms::Client::list_resource_tags)
        .match_requests(|r| r.marker().is_none())
        .then_output(|| {
            ListResourceTagsOutput::builder()
                .tags(kms_tag("a", "1"))
                .tags(kms_tag("b", "2"))
                .truncated(true)
                .next_marker("m1")
                .build()
        });
    let page2 = mock!(aws_sdk_kms::Client::list_resource_tags)
        .match_requests(|r| r.marker() == Some("m1"))
        .then_output(|| {
            ListResourceTagsOutput::builder()
                .tags(kms_tag("c", "3"))
                .truncated(true)
                .next_marker("m2")
                .build()
        });
    let page3 = mock!(aws_sdk_kms::Client::list_resource_tags)
        .match_requests(|r| r.marker() == Some("m2") && r.key_id() == Some(KEY_ARN))
        .then_output(|| {
            ListResourceTagsOutput::builder()
                .tags(kms_tag("d", "4"))
                .truncated(false)
                .build()
        });
    let state = kms(&[&describe, &page1, &page2, &page3])
        .read("1234abcd-12ab-34cd-56ef-1234567890ab")
        .await
        .unwrap();
    assert_eq!(state.arn, KEY_ARN);
    assert_eq!(state.tags.keys().collect::<Vec<_>>(), ["a", "b", "c", "d"]);
    assert_eq!((page1.num_calls(), page2.num_calls(), page3.num_calls()), (1, 1, 1));
}

#[tokio::test]
async fn kms_invalid_state_on_write_skips_the_key() {
    let describe = mock!(aws_sdk_kms::Client::describe_key)
        .then_output(|| key_metadata(KeyManagerType::Customer, KeyState::Enabled));
    let list = mock!(aws_sdk_kms::Client::list_resource_tags)
        .then_output(|| ListResourceTagsOutput::builder().tags(kms_tag("Debug", "1")).build());
    let untag = mock!(aws_sdk_kms::Client::untag_resource)
        .match_requests(|r| r.tag_keys() == ["Debug".to_string()])
        .then_output(|| UntagResourceOutput::builder().build());
    let tag = mock!(aws_sdk_kms::Client::tag_resource).then_error(|| {
        TagResourceError::KmsInvalidStateException(
            aws_sdk_kms::types::error::KmsInvalidStateException::builder()
                .message("arn:aws:kms:...:key/1234 is pending deletion.")
                .build(),
        )
    });
    let store = kms(&[&describe, &list, &untag, &tag]);
    let report = enforce(
        &store,
        &parse(POLICY).unwrap(),
        Mode::Enforce,
        ResourceKind::KmsKey,
        KEY_ARN,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Skipped);
    assert_eq!(report.keys_removed, ["Debug"], "the untag that did happen is reported");
    assert!(
        report.reasons.iter().any(|r| r.contains("KMSInvalidStateException")),
        "{:?}",
        report.reasons
    );
}

#[tokio::test]
async fn kms_tag_sends_tag_key_and_tag_value_pairs() {
    let tag = mock!(aws_sdk_kms::Client::tag_resource)
        .match_requests(|r| {
            r.key_id() == Some(KEY_ARN)
                && r.tags().len() == 1
                && r.tags()[0].tag_key() == "Owner"
                && r.tags()[0].tag_value() == "platform"
        })
        .then_output(|| aws_sdk_kms::operation::tag_resource::TagResourceOutput::builder().build());
    let tags: Tags = [("Owner".to_string(), "platform".to_string())].into();
    kms(&[&tag]).tag(KEY_ARN, &tags).await.unwrap();
    assert_eq!(tag.num_calls(), 1);
}

#[tokio::test]
async fn a_missing_key_maps_to_not_found_and_kms_internal_to_transient() {
    let missing = mock!(aws_sdk_kms::Client::describe_key)
        .then_http_response(|| json_error(400, "NotFoundException", "Key 'arn:...' does not exist"));
    assert_eq!(kms(&[&missing]).read("k").await.unwrap_err().kind, ErrorKind::NotFound);
    let internal = mock!(aws_sdk_kms::Client::describe_key)
        .sequence()
        .http_response(|| json_error(500, "KMSInternalException", "internal"))
        .repeatedly()
        .build();
    assert_eq!(
        kms(&[&internal]).read("k").await.unwrap_err().kind,
        ErrorKind::Transient
    );
}

mod inventory {
    use super::*;
    use aws_sdk_kms::operation::{list_aliases::ListAliasesOutput, list_keys::ListKeysOutput};
    use aws_sdk_kms::types::{AliasListEntry, KeyListEntry};
    use aws_sdk_secretsmanager::operation::list_secrets::ListSecretsOutput;
    use aws_sdk_secretsmanager::types::SecretListEntry;
    use futures_util::StreamExt;
    use tag_warden::domain::ApiError;
    use tag_warden::ports::{Inventory, Listed};

    /// Every page of a listing, as the sweep would take them.
    async fn list<I: Inventory>(store: &I) -> Result<Vec<Listed>, ApiError> {
        let pages: Vec<_> = store.pages().collect().await;
        Ok(pages
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect())
    }

    fn key(id: &str) -> KeyListEntry {
        KeyListEntry::builder()
            .key_id(id)
            .key_arn(format!("arn:aws:kms:us-east-1:123456789012:key/{id}"))
            .build()
    }

    fn alias(name: &str, target: Option<&str>) -> AliasListEntry {
        let b = AliasListEntry::builder().alias_name(name);
        match target {
            Some(t) => b.target_key_id(t).build(),
            None => b.build(),
        }
    }

    #[tokio::test]
    async fn keys_are_listed_across_pages_and_aws_managed_ones_are_skipped_without_reading_their_tags() {
        let keys1 = mock!(aws_sdk_kms::Client::list_keys)
            .match_requests(|r| r.marker().is_none() && r.limit() == Some(1000))
            .then_output(|| {
                ListKeysOutput::builder()
                    .keys(key("k1"))
                    .keys(key("aws1"))
                    .truncated(true)
                    .next_marker("p2")
                    .build()
            });
        let keys2 = mock!(aws_sdk_kms::Client::list_keys)
            .match_requests(|r| r.marker() == Some("p2"))
            .then_output(|| {
                ListKeysOutput::builder()
                    .keys(key("k2"))
                    .keys(key("aws2"))
                    .truncated(false)
                    .build()
            });
        let aliases1 = mock!(aws_sdk_kms::Client::list_aliases)
            .match_requests(|r| r.marker().is_none())
            .then_output(|| {
                ListAliasesOutput::builder()
                    .aliases(alias("alias/aws/ebs", Some("aws1")))
                    .aliases(alias("alias/payments", Some("k1")))
                    .aliases(alias("alias/aws/unused", None))
                    .truncated(true)
                    .next_marker("a2")
                    .build()
            });
        let aliases2 = mock!(aws_sdk_kms::Client::list_aliases)
            .match_requests(|r| r.marker() == Some("a2"))
            .then_output(|| {
                ListAliasesOutput::builder()
                    .aliases(alias("alias/aws/secretsmanager", Some("aws2")))
                    .build()
            });
        let tags =
            mock!(aws_sdk_kms::Client::list_resource_tags).then_output(|| ListResourceTagsOutput::builder().build());
        let store = kms(&[&keys1, &keys2, &aliases1, &aliases2, &tags]);
        let listed = list(&store).await.unwrap();
        let view: Vec<(&str, bool)> = listed
            .iter()
            .map(|l| (l.arn.rsplit('/').next().unwrap(), l.skip.is_some()))
            .collect();
        assert_eq!(view, [("k1", false), ("aws1", true), ("k2", false), ("aws2", true)]);
        assert!(listed.iter().all(|l| l.tags.is_none()), "ListKeys carries no tags");
        assert_eq!(tags.num_calls(), 0, "listing reads no tags");
        assert_eq!(
            (
                keys1.num_calls(),
                keys2.num_calls(),
                aliases1.num_calls(),
                aliases2.num_calls()
            ),
            (1, 1, 1, 1)
        );
    }

    #[tokio::test]
    async fn secrets_are_listed_100_a_page_with_their_tags_and_service_owned_ones_skipped() {
        let page1 = mock!(aws_sdk_secretsmanager::Client::list_secrets)
            .match_requests(|r| r.next_token().is_none() && r.max_results() == Some(100))
            .then_output(|| {
                ListSecretsOutput::builder()
                    .secret_list(
                        SecretListEntry::builder()
                            .arn("arn:s1")
                            .tags(SmTag::builder().key("Owner").value("p").build())
                            .build(),
                    )
                    .secret_list(SecretListEntry::builder().arn("arn:rds").owning_service("rds").build())
                    .next_token("t2")
                    .build()
            });
        let page2 = mock!(aws_sdk_secretsmanager::Client::list_secrets)
            .match_requests(|r| r.next_token() == Some("t2"))
            .then_output(|| {
                ListSecretsOutput::builder()
                    .secret_list(SecretListEntry::builder().arn("arn:s2").build())
                    .build()
            });
        let listed = list(&secrets(&[&page1, &page2])).await.unwrap();
        let arns: Vec<&str> = listed.iter().map(|l| l.arn.as_str()).collect();
        assert_eq!(arns, ["arn:s1", "arn:rds", "arn:s2"]);
        assert_eq!(
            listed[0].tags.as_ref().unwrap().get("Owner").map(String::as_str),
            Some("p")
        );
        assert_eq!(listed[1].skip, Some(Refusal::SecretManagedBy("rds".into())));
        assert!(listed[2].skip.is_none());
    }

    #[tokio::test]
    async fn the_key_write_guard_reads_the_key_state() {
        let pending = mock!(aws_sdk_kms::Client::describe_key)
            .then_output(|| key_metadata(KeyManagerType::Customer, KeyState::PendingDeletion));
        assert_eq!(
            kms(&[&pending]).write_guard(KEY_ARN).await.unwrap(),
            Some(Refusal::KeyState(PendingKeyState::PendingDeletion))
        );
        let enabled = mock!(aws_sdk_kms::Client::describe_key)
            .then_output(|| key_metadata(KeyManagerType::Customer, KeyState::Enabled));
        assert_eq!(kms(&[&enabled]).write_guard(KEY_ARN).await.unwrap(), None);
    }
}

/// Organizations DescribeEffectivePolicy for two accounts with different tag policies (and a
/// third with none): the import gives one rule set per account, and `--check`'s comparison sees
/// a change to one of them.
#[tokio::test]
async fn effective_tag_policies_of_two_accounts_import_as_two_scoped_rule_sets() {
    use aws_sdk_organizations::operation::describe_effective_policy::{
        DescribeEffectivePolicyError, DescribeEffectivePolicyOutput,
    };
    use aws_sdk_organizations::types::error::EffectivePolicyNotFoundException;
    use aws_sdk_organizations::types::{EffectivePolicy, EffectivePolicyType};
    use tag_warden::adapters::aws::effective_tag_policy;
    use tag_warden::engine::tag_policy::{diff, organization_yaml};

    let content = |values: &str| {
        format!(
            r#"{{"tags":{{"costcenter":{{"tag_key":"CostCenter","tag_value":[{values}],"enforced_for":["secretsmanager:*"],"report_required_tag_for":["secretsmanager:secret"]}}}}}}"#
        )
    };
    let answer = |account: &'static str, content: String| {
        mock!(aws_sdk_organizations::Client::describe_effective_policy)
            .match_requests(move |r| {
                r.target_id() == Some(account) && r.policy_type() == Some(&EffectivePolicyType::TagPolicy)
            })
            .then_output(move || {
                DescribeEffectivePolicyOutput::builder()
                    .effective_policy(
                        EffectivePolicy::builder()
                            .policy_content(content.clone())
                            .target_id(account)
                            .policy_type(EffectivePolicyType::TagPolicy)
                            .build(),
                    )
                    .build()
            })
    };
    let none = mock!(aws_sdk_organizations::Client::describe_effective_policy)
        .match_requests(|r| r.target_id() == Some("333333333333"))
        .then_error(|| {
            DescribeEffectivePolicyError::EffectivePolicyNotFoundException(
                EffectivePolicyNotFoundException::builder().message("no policy").build(),
            )
        });
    let read = |rules: Vec<Rule>| async move {
        let refs: Vec<&Rule> = rules.iter().collect();
        let client = mock_client!(aws_sdk_organizations, RuleMode::MatchAny, &refs);
        let mut per_account = Vec::new();
        for account in ["111111111111", "222222222222", "333333333333"] {
            per_account.push((
                account.to_owned(),
                effective_tag_policy(&client, account).await.map_err(|e| e.to_string()),
            ));
        }
        per_account
    };
    let per_account = read(vec![
        answer("111111111111", content(r#""100""#)),
        answer("222222222222", content(r#""200","300*""#)),
        none,
    ])
    .await;
    assert_eq!(per_account[2].1, Ok(None), "no tag policy there");
    let import = organization_yaml(&["x".into()], &per_account).unwrap();
    let (yaml, notes) = (import.yaml, import.notes);
    assert!(yaml.contains(r#"match: { accounts: ["111111111111"] }"#), "{yaml}");
    assert!(yaml.contains(r#"match: { accounts: ["222222222222"] }"#), "{yaml}");
    assert!(yaml.contains(r#""CostCenter": { values: ["100"] }"#), "{yaml}");
    assert!(
        yaml.contains(r#""CostCenter": { pattern: "^(?:200|300.*)$" }"#),
        "{yaml}"
    );
    assert!(notes.iter().any(|n| n.contains("333333333333")), "{notes:?}");
    tag_warden::engine::policy::parse_as(&yaml, tag_warden::engine::policy::Format::Yaml).unwrap();

    // Account 2's policy changes: the committed file no longer matches.
    let none = mock!(aws_sdk_organizations::Client::describe_effective_policy)
        .match_requests(|r| r.target_id() == Some("333333333333"))
        .then_error(|| {
            DescribeEffectivePolicyError::EffectivePolicyNotFoundException(
                EffectivePolicyNotFoundException::builder().build(),
            )
        });
    let changed = read(vec![
        answer("111111111111", content(r#""100""#)),
        answer("222222222222", content(r#""200""#)),
        none,
    ])
    .await;
    let again = organization_yaml(&["y".into()], &changed).unwrap().yaml;
    assert!(!diff(&yaml, &again).is_empty());
    // The same two accounts with one policy share one rule set.
    let shared = vec![
        ("111111111111".to_owned(), Ok(Some(content(r#""100""#)))),
        ("222222222222".to_owned(), Ok(Some(content(r#""100""#)))),
    ];
    let one = organization_yaml(&["z".into()], &shared).unwrap().yaml;
    assert!(
        one.contains(r#"match: { accounts: ["111111111111", "222222222222"] }"#),
        "{one}"
    );
    // The accounts' listing order changes nothing: rules follow the policies.
    let reversed: Vec<_> = per_account.iter().rev().cloned().collect();
    let swapped = organization_yaml(&["x".into()], &reversed).unwrap().yaml;
    assert!(diff(&yaml, &swapped).is_empty(), "{:?}", diff(&yaml, &swapped));
    // One account that cannot be read, or whose policy is refused, is that account's alone.
    let mut broken = per_account.clone();
    broken[0].1 = Err("organizations:DescribeEffectivePolicy failed: AccessDenied".to_owned());
    broken.push((
        "444444444444".to_owned(),
        Ok(Some(r#"{"tags":{"cc":{"tag_key":"Owner"}}}"#.to_owned())),
    ));
    let partial = organization_yaml(&["x".into()], &broken).unwrap();
    assert!(
        partial.yaml.contains(r#"accounts: ["222222222222"]"#),
        "{}",
        partial.yaml
    );
    assert_eq!(partial.failed.len(), 2, "{:?}", partial.failed);
    assert!(partial
        .failed
        .iter()
        .any(|f| f.starts_with("account 111111111111") && f.contains("AccessDenied")));
    assert!(partial
        .failed
        .iter()
        .any(|f| f.starts_with("account 444444444444") && f.contains("tag_key")));
    // Tag policies not enabled: every account answers EffectivePolicyNotFoundException.
    let nothing: Vec<(String, Result<Option<String>, String>)> = vec![
        ("111111111111".to_owned(), Ok(None)),
        ("222222222222".to_owned(), Ok(None)),
    ];
    let e = organization_yaml(&["x".into()], &nothing).unwrap_err().to_string();
    assert!(e.contains("are tag policies enabled"), "{e}");
}

const REPLICA_ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf";

/// Secrets Manager's answer to tagging a replica, as the API sends it (AWS-FACTS: "Operation
/// not permitted on a replica secret. Call must be made in primary secret's region.").
fn replica_refusal() -> HttpResponse {
    json_error(
        400,
        "InvalidParameterException",
        "Operation not permitted on a replica secret. Call must be made in primary secret's region.",
    )
}

#[tokio::test]
async fn tagging_a_replica_maps_to_invalid_state_not_an_error_that_fails_the_sweep() {
    // AWS refuses tag changes on a replica; tag-warden should never try, but when a replica
    // was listed as a primary an instant earlier the refusal is a state, not a failure.
    let tag = mock!(aws_sdk_secretsmanager::Client::tag_resource).then_http_response(replica_refusal);
    let untag = mock!(aws_sdk_secretsmanager::Client::untag_resource).then_http_response(replica_refusal);
    let store = secrets(&[&tag, &untag]);
    let tags: Tags = [("Owner".to_string(), "platform".to_string())].into();
    let err = store.tag(REPLICA_ARN, &tags).await.unwrap_err();
    assert_eq!(
        (err.kind, err.code.as_str()),
        (ErrorKind::InvalidState, "InvalidParameterException")
    );
    assert!(err.message.contains("replica secret"), "{err}");
    let err = store.untag(REPLICA_ARN, &["Debug".to_string()]).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidState);
    assert_eq!(tag.num_calls() + untag.num_calls(), 2, "not retried");
}

#[tokio::test]
async fn any_other_invalid_parameter_stays_an_error() {
    let tag = mock!(aws_sdk_secretsmanager::Client::tag_resource)
        .then_http_response(|| json_error(400, "InvalidParameterException", "Tag key is too long."));
    let tags: Tags = [("Owner".to_string(), "platform".to_string())].into();
    let err = secrets(&[&tag]).tag(SECRET_ARN, &tags).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Other);
}

#[tokio::test]
async fn a_replica_read_names_its_primary_and_is_judged_never_written() {
    let describe = mock!(aws_sdk_secretsmanager::Client::describe_secret).then_output(|| {
        DescribeSecretOutput::builder()
            .arn(REPLICA_ARN)
            .name("prod/db")
            .primary_region("us-east-1")
            .tags(SmTag::builder().key("Debug").value("on").build())
            .build()
    });
    // Any write would answer as AWS does; none must be made.
    let tag = mock!(aws_sdk_secretsmanager::Client::tag_resource).then_http_response(replica_refusal);
    let untag = mock!(aws_sdk_secretsmanager::Client::untag_resource).then_http_response(replica_refusal);
    let store = secrets(&[&describe, &tag, &untag]);
    let state = store.read("prod/db").await.unwrap();
    let Some(Refusal::Replica(of)) = &state.skip else {
        panic!("{:?}", state.skip)
    };
    assert_eq!(of.primary_arn, SECRET_ARN);
    assert_eq!(of.primary_region, "us-east-1");
    let report = enforce(
        &store,
        &parse(POLICY).unwrap(),
        Mode::Enforce,
        ResourceKind::Secret,
        "prod/db",
    )
    .await;
    assert_eq!(report.outcome, Outcome::Replica);
    assert_eq!(tag.num_calls() + untag.num_calls(), 0, "a replica is never written");
    assert_eq!(
        report.reasons[0],
        format!("replica of {SECRET_ARN}: tags follow the primary in us-east-1")
    );
    assert!(
        report
            .reasons
            .iter()
            .any(|r| r.contains("the fix belongs to the primary")),
        "{:?}",
        report.reasons
    );
    assert!(!report.plan.is_empty(), "what the primary needs is shown");
    assert_eq!(report.replica_of.as_ref(), Some(of));
}

#[tokio::test]
async fn list_secrets_marks_replicas_by_their_primary_region() {
    use aws_sdk_secretsmanager::operation::list_secrets::ListSecretsOutput;
    use aws_sdk_secretsmanager::types::SecretListEntry;
    use futures_util::StreamExt;
    use tag_warden::ports::Inventory;
    let list = mock!(aws_sdk_secretsmanager::Client::list_secrets).then_output(|| {
        ListSecretsOutput::builder()
            .secret_list(SecretListEntry::builder().arn(SECRET_ARN).name("prod/db").build())
            .secret_list(
                SecretListEntry::builder()
                    .arn(REPLICA_ARN)
                    .name("prod/db")
                    .primary_region("us-east-1")
                    .build(),
            )
            .build()
    });
    let store = secrets(&[&list]);
    let pages: Vec<_> = store.pages().collect().await;
    let listed = pages.into_iter().next().unwrap().unwrap();
    assert_eq!(listed[0].skip, None);
    assert!(matches!(&listed[1].skip, Some(Refusal::Replica(of)) if of.primary_arn == SECRET_ARN));
}

#[test]
fn the_aws_backend_serves_each_kind_with_the_adapter_of_the_kinds_service() {
    use tag_warden::ports::Backend;
    let base = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let backend = tag_warden::adapters::aws::AwsBackend::new(base, None);
    let cell = tag_warden::domain::Cell::new(None, "us-east-1");
    for kind in ResourceKind::ALL {
        assert_eq!(backend.store(&cell, kind).service(), kind.spec().service, "{kind}");
    }
}
