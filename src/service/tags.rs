//! Notification tags: created by `/v1` (and by a call that ends missed), fetched by the
//! upstream `tags` route, deleted past `TAGS_RETENTION_DAYS` by the sweeper.

use super::{Result, Service, ServiceError, required};
use crate::domain::{
    Act, Agent, NewTag, TAG_ICON_MAX, TAG_ID_MAX, TAG_TEXT_MAX, TAG_TITLE_MAX, TAG_URL_MAX, Tag,
    TagAction, is_web_url,
};
pub use crate::store::FetchedTags;

/// Tags deleted per statement by the sweeper.
const RETENTION_BATCH: i64 = 1000;

/// An optional text: trimmed, blank as none, at most `max` characters.
fn optional(name: &'static str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > max => Err(ServiceError::OutOfRange(name)),
        other => Ok(other.map(str::to_owned)),
    }
}

/// A required text: trimmed, not empty, at most `max` characters.
fn bounded(name: &'static str, value: &str, max: usize) -> Result<String> {
    let value = required(name, value)?;
    if value.chars().count() > max {
        return Err(ServiceError::OutOfRange(name));
    }
    Ok(value.to_owned())
}

/// The tag as it will be kept: texts trimmed and bounded, the icon a plain name, the
/// action's call id present and its url an absolute http(s) address.
fn checked(tag: NewTag) -> Result<NewTag> {
    let icon = optional("icon", tag.icon.as_deref(), TAG_ICON_MAX)?;
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-.:".contains(c);
    if icon.as_deref().is_some_and(|i| !i.chars().all(plain)) {
        return Err(ServiceError::OutOfRange("icon"));
    }
    let action = match tag.action {
        None => None,
        Some(TagAction::Callback { call_id, c_number }) => Some(TagAction::Callback {
            call_id: bounded("action.callId", &call_id, TAG_ID_MAX)?,
            c_number: optional("action.cNumber", c_number.as_deref(), TAG_ID_MAX)?,
        }),
        Some(TagAction::Url { url }) => {
            let url = bounded("action.url", &url, TAG_URL_MAX)?;
            if !is_web_url(&url) {
                return Err(ServiceError::OutOfRange("action.url"));
            }
            Some(TagAction::Url { url })
        }
    };
    Ok(NewTag {
        title: bounded("title", &tag.title, TAG_TITLE_MAX)?,
        text: optional("text", tag.text.as_deref(), TAG_TEXT_MAX)?,
        icon,
        action,
    })
}

impl Service {
    /// Creates a notification tag of the agent (recorded as a `tag.create` event): the one
    /// door for `/v1` and for the missed-call tag (`NewTag::missed_call`). A disabled agent
    /// may be given tags: they wait for its return.
    pub async fn create_tag(&self, agent: &Agent, tag: NewTag, act: Act) -> Result<Tag> {
        let tag = checked(tag)?;
        Ok(self.store.create_tag(agent, &tag, act).await?)
    }

    /// The agent's fetch (the upstream `tags` route): the last 24 hours, or with
    /// `since_previous` (`ref`) the tags not returned since its previous fetch; what it
    /// returns is marked read, and the fetch remembered.
    pub async fn fetch_tags(
        &self,
        agent: &Agent,
        since_previous: bool,
        now: i64,
    ) -> Result<FetchedTags> {
        Ok(self.store.fetch_tags(agent, since_previous, now).await?)
    }

    /// A page of the agent's tags, oldest first (marks nothing read).
    pub async fn tags(&self, agent: &Agent, after: i64, limit: i64) -> Result<Vec<Tag>> {
        Ok(self.store.tags(agent.id, after, limit).await?)
    }

    /// Deletes the tags older than `TAGS_RETENTION_DAYS`, in batches; answers how many.
    pub async fn sweep_tags(&self, now: i64) -> Result<u64> {
        let before = now - self.config.tags_retention_days * 86_400;
        let mut deleted = 0;
        loop {
            let batch = self
                .store
                .delete_tags_before(before, RETENTION_BATCH)
                .await?;
            deleted += batch;
            if batch < RETENTION_BATCH as u64 {
                return Ok(deleted);
            }
        }
    }
}
