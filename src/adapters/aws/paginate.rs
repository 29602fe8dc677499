//! The one pagination loop: every listing (ListSecrets, ListKeys, ListAliases,
//! ListResourceTags) fetches a page with the previous page's token until there is none.

use crate::domain::ApiError;
use std::future::Future;

/// One page: its items and the token of the next page (`None`, or empty, on the last).
pub type Page<T> = (Vec<T>, Option<String>);

/// Fetches every page with `fetch(token)`, from the first (`None`) to the last.
pub async fn all_pages<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, ApiError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, ApiError>>,
{
    let mut items = Vec::new();
    let mut token = None;
    loop {
        let (page, next) = fetch(token).await?;
        items.extend(page);
        match next.filter(|n| !n.is_empty()) {
            Some(next) => token = Some(next),
            None => return Ok(items),
        }
    }
}

/// KMS's paging: the marker counts only while the response says it is truncated.
pub fn kms_marker(truncated: bool, marker: Option<&str>) -> Option<String> {
    marker.filter(|_| truncated).map(str::to_owned)
}
