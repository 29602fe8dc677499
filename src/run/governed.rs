//! Who the function is and where it acts: its own identity, learnt once from its credentials
//! (so that its own calls are known by their issuer role, never by a name), and the accounts it
//! governs (its own, `TAG_WARDEN_ACCOUNTS`, or the organization's, listed once).

use super::handler::{ignored, unreached, Handler};
use crate::config::Accounts;
use crate::domain::ApiError;
use crate::engine::intake::{Ignored, IntakeOptions, Trigger};
use crate::ports::Backend;
use crate::view::report::ResourceReport;

impl<B: Backend> Handler<B> {
    /// The intake options, with who the function is (its role and account, from the
    /// backend's credentials, asked once). When that cannot be learnt, nothing is taken for
    /// the function's own call this time: everything is judged, and it is asked again.
    pub(super) async fn intake_options(&self) -> std::borrow::Cow<'_, IntakeOptions> {
        let learnt = self
            .intake
            .get_or_try_init(|| async {
                let own = self.backend.identity().await?;
                Ok::<_, ApiError>(IntakeOptions {
                    own,
                    ..self.config.intake.clone()
                })
            })
            .await;
        match learnt {
            Ok(opts) => std::borrow::Cow::Borrowed(opts),
            Err(e) => {
                tracing::warn!(error = %e, "cannot learn the function's own identity: no event is taken for its own");
                std::borrow::Cow::Borrowed(&self.config.intake)
            }
        }
    }

    /// Why tag-warden does not act in `account`, if it does not: it governs its own account
    /// and those of `TAG_WARDEN_ACCOUNTS` (the organization's active accounts with `ORG`, listed
    /// once). Offline, the own account is unknown: only a list can refuse.
    pub async fn refusal(&self, account: Option<&str>) -> Result<Option<String>, ApiError> {
        let Some(account) = account else {
            return Ok(None);
        };
        let own = self.backend.identity().await?.map(|me| me.account);
        if own.as_deref() == Some(account) {
            return Ok(None);
        }
        let governed = match &self.config.fleet.accounts {
            Accounts::Own => own.is_none(),
            Accounts::List(ids) => ids.iter().any(|id| id == account),
            Accounts::Organization if !self.live => true,
            Accounts::Organization => self
                .organization
                .get_or_try_init(|| self.backend.organization())
                .await?
                .governed(own.as_deref())
                .iter()
                .any(|id| id == account),
        };
        Ok((!governed).then(|| {
            let listed = match &self.config.fleet.accounts {
                Accounts::Own => format!("{} is not set", crate::config::ENV_ACCOUNTS),
                Accounts::List(ids) => format!("{}={}", crate::config::ENV_ACCOUNTS, ids.join(",")),
                Accounts::Organization => {
                    "not an active account of the organization, or its management account (ORG leaves that out unless the function runs there)".to_owned()
                }
            };
            format!(
                "account {account} is not governed by this tag-warden (its own account is {}; {listed}): nothing is done there",
                own.as_deref().unwrap_or("not known offline")
            )
        }))
    }

    /// The entry of a trigger refused for its account, or of a failure to tell.
    pub(super) async fn ungoverned(&self, t: &Trigger) -> Option<ResourceReport> {
        let reason = match self.refusal(t.account.as_deref()).await {
            Ok(None) => return None,
            Ok(Some(reason)) => reason,
            Err(e) => return Some(unreached(self.context(t), &t.resource_id, &e)),
        };
        Some(ignored(Ignored {
            reason,
            kind: Some(t.kind),
            resource_id: Some(t.resource_id.clone()),
            region: Some(t.region.clone()),
            event: t.event.clone(),
        }))
    }
}
