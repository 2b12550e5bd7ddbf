//! Notification tags: created with their `tag.create` event, fetched by the upstream `tags`
//! route (which marks what it returns read and remembers the agent's fetch), listed, and
//! deleted past their retention.

use async_trait::async_trait;

use super::Result;
use super::backend::{Backend, Sql};
use super::sql::SqlStore;
use super::tx::Tx;
use crate::domain::{
    Act, Agent, EventDetails, NewTag, TAGS_PER_FETCH, Tag, TagAction, tags_window_start,
};

/// What a `tags` fetch answered: the tags of its window, newest first, and the window.
#[derive(Debug, Clone)]
pub struct FetchedTags {
    pub tags: Vec<Tag>,
    pub from: i64,
    pub to: i64,
}

#[async_trait]
pub trait Tags: Send + Sync {
    /// Creates a tag of the agent, with its `tag.create` event, in one transaction.
    async fn create_tag(&self, agent: &Agent, tag: &NewTag, act: Act) -> Result<Tag>;
    /// The agent's fetch at `now`: the tags of its window (with `since_previous`, those not
    /// yet returned since the agent's previous fetch), each `read` as it was before; marks
    /// them read and remembers the fetch. `AgentDisabled` for a disabled agent.
    async fn fetch_tags(
        &self,
        agent: &Agent,
        since_previous: bool,
        now: i64,
    ) -> Result<FetchedTags>;
    /// A page of the agent's tags, oldest first, after the tag id `after`; marks nothing.
    async fn tags(&self, agent_pk: i64, after: i64, limit: i64) -> Result<Vec<Tag>>;
    /// Deletes at most `batch` tags created before `before`; answers how many.
    async fn delete_tags_before(&self, before: i64, batch: i64) -> Result<u64>;
}

#[derive(sqlx::FromRow)]
pub struct TagRow {
    id: i64,
    at: i64,
    title: String,
    text: Option<String>,
    icon: Option<String>,
    action: Option<String>,
    read_at: Option<i64>,
}

impl From<TagRow> for Tag {
    fn from(r: TagRow) -> Tag {
        // Written by `create_tag` from a `TagAction`: anything else is no action.
        let action = r
            .action
            .and_then(|a| serde_json::from_str::<TagAction>(&a).ok());
        Tag {
            id: r.id,
            at: r.at,
            title: r.title,
            text: r.text,
            icon: r.icon,
            action,
            read: r.read_at.is_some(),
        }
    }
}

const TAG_COLUMNS: &str = "id, at, title, text, icon, action, read_at";

const INSERT_TAG: &str = "INSERT INTO tags (account_pk, agent_pk, at, title, text, icon, action)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     RETURNING id, at, title, text, icon, action, read_at";

const PREVIOUS_FETCH: &str = "SELECT fetched_at FROM tag_fetches WHERE agent_pk = $1";

const REMEMBER_FETCH: &str = "INSERT INTO tag_fetches (agent_pk, fetched_at) VALUES ($1, $2)
     ON CONFLICT (agent_pk) DO UPDATE SET fetched_at = excluded.fetched_at";

#[async_trait]
impl<DB: Backend> Tags for SqlStore<DB> {
    async fn create_tag(&self, agent: &Agent, tag: &NewTag, act: Act) -> Result<Tag> {
        let mut tx = self.begin().await?;
        let created = insert_tag::<DB>(&mut tx, agent, tag, act).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn fetch_tags(
        &self,
        agent: &Agent,
        since_previous: bool,
        now: i64,
    ) -> Result<FetchedTags> {
        // One fetch of an agent at a time: each unread tag is new to one `ref` fetch only.
        let mut tx = self.begin_on_agent(agent.id).await?;
        let previous: Option<(i64,)> = Sql::<DB>::new(PREVIOUS_FETCH)
            .bind(agent.id)
            .fetch_optional(&mut *tx)
            .await?;
        let from = tags_window_start(since_previous, previous.map(|(at,)| at), now);
        let unread = if since_previous {
            " AND read_at IS NULL"
        } else {
            ""
        };
        let select = format!(
            "SELECT {TAG_COLUMNS} FROM tags WHERE agent_pk = $1 AND at >= $2 AND at <= $3{unread}
             ORDER BY at DESC, id DESC LIMIT $4"
        );
        let rows: Vec<TagRow> = Sql::<DB>::new(&select)
            .bind(agent.id)
            .bind(from)
            .bind(now)
            .bind(TAGS_PER_FETCH)
            .fetch_all(&mut *tx)
            .await?;
        let tags: Vec<Tag> = rows.into_iter().map(Tag::from).collect();
        let new: Vec<i64> = tags.iter().filter(|t| !t.read).map(|t| t.id).collect();
        if !new.is_empty() {
            let mark = format!(
                "UPDATE tags SET read_at = $2 WHERE agent_pk = $1 AND read_at IS NULL
                 AND id IN ({})",
                DB::json_ids("$3")
            );
            Sql::<DB>::new(&mark)
                .bind(agent.id)
                .bind(now)
                .bind(serde_json::to_string(&new).unwrap_or_default())
                .execute(&mut *tx)
                .await?;
        }
        Sql::<DB>::new(REMEMBER_FETCH)
            .bind(agent.id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(FetchedTags {
            tags,
            from,
            to: now,
        })
    }

    async fn tags(&self, agent_pk: i64, after: i64, limit: i64) -> Result<Vec<Tag>> {
        let select = format!(
            "SELECT {TAG_COLUMNS} FROM tags WHERE agent_pk = $1 AND id > $2 ORDER BY id LIMIT $3"
        );
        let rows: Vec<TagRow> = Sql::<DB>::new(&select)
            .bind(agent_pk)
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *self.conn().await?)
            .await?;
        Ok(rows.into_iter().map(Tag::from).collect())
    }

    async fn delete_tags_before(&self, before: i64, batch: i64) -> Result<u64> {
        Sql::<DB>::new(
            "DELETE FROM tags WHERE id IN (SELECT id FROM tags WHERE at < $1 ORDER BY id LIMIT $2)",
        )
        .bind(before)
        .bind(batch)
        .execute(&mut *self.conn().await?)
        .await
    }
}

/// Inside a transaction: creates a tag of the agent with its `tag.create` event (a missed
/// call leaves one in the call's own transaction).
pub(super) async fn insert_tag<DB: Backend>(
    tx: &mut Tx<DB>,
    agent: &Agent,
    tag: &NewTag,
    act: Act,
) -> Result<Tag> {
    let Act { actor, now } = act;
    let action = tag
        .action
        .as_ref()
        .map(|a| serde_json::to_string(a).unwrap_or_default());
    let row: TagRow = Sql::<DB>::new(INSERT_TAG)
        .bind(agent.account_pk)
        .bind(agent.id)
        .bind(now)
        .bind(tag.title.as_str())
        .bind(tag.text.as_deref())
        .bind(tag.icon.as_deref())
        .bind(action.as_deref())
        .fetch_one(&mut **tx)
        .await?;
    let created = Tag::from(row);
    let details = EventDetails::TagCreate {
        tag: created.id,
        title: created.title.clone(),
    };
    tx.record_event(agent, details, actor, now);
    Ok(created)
}
