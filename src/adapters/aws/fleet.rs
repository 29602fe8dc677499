//! An organization's sweep: the accounts (Organizations ListAccounts, DescribeOrganization)
//! and the sweep queue (SQS SendMessageBatch of cells; SendMessage of a cell that failed all its
//! attempts to the dead-letter queue, with the reason; ReceiveMessage and DeleteMessage of dead
//! letters for `tag-warden redrive`).

use super::error::{from_sdk, local};
use super::paginate::all_pages;
use crate::domain::ApiError;
use crate::ports::Received;
use aws_sdk_organizations::types::{AccountState, AccountStatus};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

/// The most entries a SendMessageBatch takes.
pub const BATCH: usize = 10;

/// The active accounts of the organization (ListAccounts, every page), in the order listed.
pub async fn active_accounts(client: &aws_sdk_organizations::Client) -> Result<Vec<String>, ApiError> {
    let accounts = all_pages(|token| async move {
        let out = client
            .list_accounts()
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| from_sdk("organizations:ListAccounts", "*", e, |_| None))?;
        let ids = out
            .accounts()
            .iter()
            .filter(|a| match (a.state(), a.status()) {
                (Some(state), _) => *state == AccountState::Active,
                (None, status) => status == Some(&AccountStatus::Active),
            })
            .filter_map(|a| a.id().map(str::to_owned))
            .collect();
        Ok((ids, out.next_token().map(str::to_owned)))
    })
    .await?;
    Ok(accounts)
}

/// The organization's management account (DescribeOrganization's `MasterAccountId`).
pub async fn management_account(client: &aws_sdk_organizations::Client) -> Result<Option<String>, ApiError> {
    Ok(describe_organization(client).await?.1)
}

/// The organization's id and management account (DescribeOrganization).
pub async fn describe_organization(
    client: &aws_sdk_organizations::Client,
) -> Result<(Option<String>, Option<String>), ApiError> {
    let out = client
        .describe_organization()
        .send()
        .await
        .map_err(|e| from_sdk("organizations:DescribeOrganization", "*", e, |_| None))?;
    let org = out.organization();
    Ok((
        org.and_then(|o| o.id()).map(str::to_owned),
        org.and_then(|o| o.master_account_id()).map(str::to_owned),
    ))
}

/// The effective tag policy of `account` (DescribeEffectivePolicy, `TAG_POLICY`): its
/// `PolicyContent`, or `None` when no tag policy applies there.
pub async fn effective_tag_policy(
    client: &aws_sdk_organizations::Client,
    account: &str,
) -> Result<Option<String>, ApiError> {
    let out = client
        .describe_effective_policy()
        .policy_type(aws_sdk_organizations::types::EffectivePolicyType::TagPolicy)
        .target_id(account)
        .send()
        .await;
    match out {
        Ok(out) => Ok(out
            .effective_policy()
            .and_then(|p| p.policy_content())
            .map(str::to_owned)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_effective_policy_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(from_sdk("organizations:DescribeEffectivePolicy", account, e, |_| None)),
    }
}

/// Sends `bodies` to `queue`, ten a call; entries SQS refuses are sent once more, then the
/// first refusal is the error.
pub async fn send_all(client: &aws_sdk_sqs::Client, queue: &str, bodies: &[String]) -> Result<(), ApiError> {
    for chunk in bodies.chunks(BATCH) {
        let mut pending: Vec<(usize, &String)> = chunk.iter().enumerate().collect();
        for attempt in 0..2 {
            let entries = pending
                .iter()
                .map(|(i, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body.as_str())
                        .build()
                        .map_err(|e| local("sqs:SendMessageBatch", queue, "BadEntry", e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = client
                .send_message_batch()
                .queue_url(queue)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| from_sdk("sqs:SendMessageBatch", queue, e, |_| None))?;
            let failed = out.failed();
            let Some(first) = failed.first() else { break };
            if attempt == 1 {
                return Err(local(
                    "sqs:SendMessageBatch",
                    queue,
                    first.code(),
                    format!(
                        "{} of {} messages refused: {}",
                        failed.len(),
                        pending.len(),
                        first.message().unwrap_or("")
                    ),
                ));
            }
            pending.retain(|(i, _)| failed.iter().any(|f| f.id() == i.to_string()));
        }
    }
    Ok(())
}

/// Sends one message.
pub async fn send_one(client: &aws_sdk_sqs::Client, queue: &str, body: String) -> Result<(), ApiError> {
    client
        .send_message()
        .queue_url(queue)
        .message_body(body)
        .send()
        .await
        .map_err(|e| from_sdk("sqs:SendMessage", queue, e, |_| None))?;
    Ok(())
}

/// Sends one message, delivered after `delay_seconds` (SQS takes 0–900).
pub async fn send_after(
    client: &aws_sdk_sqs::Client,
    queue: &str,
    body: &str,
    delay_seconds: u32,
) -> Result<(), ApiError> {
    client
        .send_message()
        .queue_url(queue)
        .message_body(body)
        .delay_seconds(i32::try_from(delay_seconds.min(900)).unwrap_or(900))
        .send()
        .await
        .map_err(|e| from_sdk("sqs:SendMessage", queue, e, |_| None))?;
    Ok(())
}

/// Receives up to `max` messages (1–10), waiting a second at most.
pub async fn receive(client: &aws_sdk_sqs::Client, queue: &str, max: i32) -> Result<Vec<Received>, ApiError> {
    let out = client
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(max.clamp(1, 10))
        .wait_time_seconds(1)
        .send()
        .await
        .map_err(|e| from_sdk("sqs:ReceiveMessage", queue, e, |_| None))?;
    Ok(out
        .messages()
        .iter()
        .filter_map(|m| {
            Some(Received {
                message_id: m.message_id()?.to_owned(),
                body: m.body().unwrap_or_default().to_owned(),
                receipt: m.receipt_handle()?.to_owned(),
            })
        })
        .collect())
}

/// Deletes a received message.
pub async fn delete(client: &aws_sdk_sqs::Client, queue: &str, receipt: &str) -> Result<(), ApiError> {
    client
        .delete_message()
        .queue_url(queue)
        .receipt_handle(receipt)
        .send()
        .await
        .map_err(|e| from_sdk("sqs:DeleteMessage", queue, e, |_| None))?;
    Ok(())
}
