//! The member role's credentials over aws-smithy-mocks: assumed once per account, kept while
//! they last, renewed when near expiry, and a denial kept as the domain's AccessDenied.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use aws_sdk_sts::operation::assume_role::{AssumeRoleError, AssumeRoleOutput};
use aws_sdk_sts::types::Credentials;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_types::DateTime;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tag_warden::adapters::aws::{MemberCredentials, RENEW_BEFORE, SESSION_NAME};
use tag_warden::domain::ErrorKind;

const ROLE: &str = "arn:aws:iam::222222222222:role/tag-warden-member";

fn output(key: &'static str, lasts: Duration) -> AssumeRoleOutput {
    let expires = SystemTime::now() + lasts;
    let secs = expires.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    AssumeRoleOutput::builder()
        .credentials(
            Credentials::builder()
                .access_key_id(key)
                .secret_access_key("secret")
                .session_token("token")
                .expiration(DateTime::from_secs(secs))
                .build()
                .unwrap(),
        )
        .build()
}

#[tokio::test]
async fn the_role_is_assumed_once_and_kept_while_the_credentials_last() {
    let rule = mock!(aws_sdk_sts::Client::assume_role)
        .match_requests(|r| r.role_arn() == Some(ROLE) && r.role_session_name() == Some(SESSION_NAME))
        .then_output(|| output("AKIA1", Duration::from_secs(3600)));
    let client = mock_client!(aws_sdk_sts, RuleMode::MatchAny, &[&rule]);
    let member = MemberCredentials::new(client, ROLE.to_owned());
    for _ in 0..3 {
        assert_eq!(member.get().await.unwrap().access_key_id(), "AKIA1");
    }
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn credentials_near_expiry_are_renewed() {
    let short = mock!(aws_sdk_sts::Client::assume_role)
        .then_output(|| output("AKIA-SHORT", RENEW_BEFORE - Duration::from_secs(60)));
    let fresh = mock!(aws_sdk_sts::Client::assume_role).then_output(|| output("AKIA-FRESH", Duration::from_secs(3600)));
    let client = mock_client!(aws_sdk_sts, RuleMode::Sequential, &[&short, &fresh]);
    let member = MemberCredentials::new(client, ROLE.to_owned());
    assert_eq!(member.get().await.unwrap().access_key_id(), "AKIA-SHORT");
    // Less than RENEW_BEFORE left: an invocation could outlive them, so they are renewed.
    assert_eq!(member.get().await.unwrap().access_key_id(), "AKIA-FRESH");
    assert_eq!(member.get().await.unwrap().access_key_id(), "AKIA-FRESH");
    assert_eq!((short.num_calls(), fresh.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_denied_assume_role_is_access_denied_naming_the_role() {
    let rule = mock!(aws_sdk_sts::Client::assume_role).then_error(|| {
        AssumeRoleError::generic(
            aws_smithy_types::error::ErrorMetadata::builder()
                .code("AccessDenied")
                .message("not authorized to perform sts:AssumeRole")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_sts, RuleMode::MatchAny, &[&rule]);
    let member = MemberCredentials::new(client, ROLE.to_owned());
    let e = member.get().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::AccessDenied);
    assert_eq!(e.operation, "sts:AssumeRole");
    assert_eq!(e.resource, ROLE);
}

#[tokio::test]
async fn a_denied_assume_role_is_an_account_not_enrolled_and_a_server_error_is_not() {
    let denied = mock!(aws_sdk_sts::Client::assume_role).then_error(|| {
        AssumeRoleError::generic(
            aws_smithy_types::error::ErrorMetadata::builder()
                .code("AccessDenied")
                .message("not authorized to perform sts:AssumeRole")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_sts, RuleMode::MatchAny, &[&denied]);
    let e = MemberCredentials::new(client, ROLE.to_owned()).get().await.unwrap_err();
    assert!(e.not_enrolled(), "{e}");
    let broken = mock!(aws_sdk_sts::Client::assume_role).then_http_response(|| {
        aws_smithy_runtime_api::client::orchestrator::HttpResponse::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(500).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>x</Message></Error></ErrorResponse>",
            ),
        )
    });
    let client = mock_client!(aws_sdk_sts, RuleMode::MatchAny, &[&broken], |c| c
        .retry_config(tag_warden::adapters::aws::retry_config()));
    let e = MemberCredentials::new(client, ROLE.to_owned()).get().await.unwrap_err();
    assert!(!e.not_enrolled(), "{e}");
}

#[tokio::test]
async fn the_organization_names_its_management_account_and_active_members() {
    use aws_sdk_organizations::operation::describe_organization::DescribeOrganizationOutput;
    use aws_sdk_organizations::operation::list_accounts::ListAccountsOutput;
    use aws_sdk_organizations::types::{Account, AccountState, Organization};
    let list = mock!(aws_sdk_organizations::Client::list_accounts).then_output(|| {
        ListAccountsOutput::builder()
            .accounts(
                Account::builder()
                    .id("111111111111")
                    .state(AccountState::Active)
                    .build(),
            )
            .accounts(
                Account::builder()
                    .id("222222222222")
                    .state(AccountState::Active)
                    .build(),
            )
            .accounts(
                Account::builder()
                    .id("333333333333")
                    .state(AccountState::Suspended)
                    .build(),
            )
            .build()
    });
    let describe = mock!(aws_sdk_organizations::Client::describe_organization).then_output(|| {
        DescribeOrganizationOutput::builder()
            .organization(
                Organization::builder()
                    .id("o-abc123defg")
                    .master_account_id("111111111111")
                    .build(),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_organizations, RuleMode::MatchAny, &[&list, &describe]);
    let org = tag_warden::domain::Organization {
        accounts: tag_warden::adapters::aws::active_accounts(&client).await.unwrap(),
        management: tag_warden::adapters::aws::management_account(&client).await.unwrap(),
    };
    assert_eq!(org.accounts, ["111111111111", "222222222222"]);
    assert_eq!(org.management.as_deref(), Some("111111111111"));
    assert_eq!(org.governed(Some("222222222222")), ["222222222222"]);
}
