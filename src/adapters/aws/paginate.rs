//! The one pagination loop: every listing (ListSecrets, ListKeys, ListAliases,
//! ListResourceTags, Scan) fetches a page with the previous page's token until there is none.
//! [`pages`] yields the pages as they arrive (a sweep works on one while the next is fetched);
//! [`all_pages`] collects them where a listing is small.

use crate::domain::ApiError;
use futures_util::stream::{self, Stream, StreamExt};
use std::future::Future;

/// One page: its items and the token of the next page (`None`, or empty, on the last).
pub type Page<T> = (Vec<T>, Option<String>);

/// Every page, fetched with `fetch(token)` from the first (`None`) to the last, one at a time
/// and only when the stream is polled. A failed page ends the stream after its error.
pub fn pages<T, F, Fut>(fetch: F) -> impl Stream<Item = Result<Vec<T>, ApiError>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, ApiError>>,
{
    // State: the token of the next page to fetch, or `None` once done.
    stream::unfold((Some(None), fetch), |(next, mut fetch)| async move {
        let token = next?;
        match fetch(token).await {
            Ok((items, next)) => {
                let next = next.filter(|n| !n.is_empty()).map(Some);
                Some((Ok(items), (next, fetch)))
            }
            Err(e) => Some((Err(e), (None, fetch))),
        }
    })
}

/// Every item of every page.
pub async fn all_pages<T, F, Fut>(fetch: F) -> Result<Vec<T>, ApiError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, ApiError>>,
{
    let mut items = Vec::new();
    let mut all = std::pin::pin!(pages(fetch));
    while let Some(page) = all.next().await {
        items.extend(page?);
    }
    Ok(items)
}

/// KMS's paging: the marker counts only while the response says it is truncated.
pub fn kms_marker(truncated: bool, marker: Option<&str>) -> Option<String> {
    marker.filter(|_| truncated).map(str::to_owned)
}
