//! An AWS organization as tag-warden sees it: its active accounts and its management account.
//! A service-managed StackSet never deploys the member role to the management account, so
//! `TAG_WARDEN_ACCOUNTS=ORG` leaves it out unless the function runs there.

/// The organization's active accounts (ListAccounts) and its management account
/// (DescribeOrganization's `MasterAccountId`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Organization {
    /// The active accounts, in the order listed (the management account among them).
    pub accounts: Vec<String>,
    /// The management account, when known.
    pub management: Option<String>,
}

impl Organization {
    /// The accounts `ORG` governs: the active ones, without the management account unless the
    /// function runs in it (`own`).
    pub fn governed(&self, own: Option<&str>) -> Vec<String> {
        self.accounts
            .iter()
            .filter(|a| self.management.as_deref() != Some(a.as_str()) || own == Some(a.as_str()))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> Organization {
        Organization {
            accounts: vec!["111111111111".into(), "222222222222".into(), "333333333333".into()],
            management: Some("111111111111".into()),
        }
    }

    #[test]
    fn org_leaves_the_management_account_out_unless_the_function_runs_there() {
        // A delegated administrator (AWS's recommendation) runs the central stack.
        assert_eq!(org().governed(Some("222222222222")), ["222222222222", "333333333333"]);
        assert_eq!(org().governed(None), ["222222222222", "333333333333"]);
        assert_eq!(
            org().governed(Some("111111111111")),
            ["111111111111", "222222222222", "333333333333"]
        );
        let unknown = Organization {
            management: None,
            ..org()
        };
        assert_eq!(unknown.governed(None).len(), 3);
    }
}
