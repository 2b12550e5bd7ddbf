//! What the event streams and the presence sweeper keep: single-use stream tickets, the
//! events the streams deliver (read by id), and each agent's last recorded presence.

use async_trait::async_trait;

use super::Result;
use super::accounts::{TOKEN_BY_ID, TokenRow};
use super::backend::{Backend, Sql};
use super::history::EventRow;
use super::sql::SqlStore;
use super::tx::AgentRef;
use crate::domain::{
    Account, Actor, Event, EventDetails, NewTicket, Presence, PresenceRule, Token,
};

/// An agent whose presence is not the one last recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceChange {
    pub agent_pk: i64,
    pub account_pk: i64,
    pub from: Presence,
    pub to: Presence,
    /// The newest sign of life of a live session.
    pub seen: Option<i64>,
}

#[async_trait]
pub trait Streams: Send + Sync {
    /// Keeps a ticket until it expires; drops those expired at `now`.
    async fn create_ticket(&self, ticket: NewTicket<'_>, now: i64) -> Result<()>;

    /// Uses a ticket up: the account and token it was made for, if it was valid at `now`.
    async fn redeem_ticket(&self, ticket_hash: &str, now: i64) -> Result<Option<(Account, Token)>>;

    /// These events with their account and agent, by id.
    async fn events_by_id(&self, ids: &[i64]) -> Result<Vec<(i64, Option<i64>, Event)>>;

    /// Every agent whose presence at `now` (a live session idle since no later than
    /// `now - idle_timeout_secs`) is not the one last recorded.
    async fn presence_changes(
        &self,
        now: i64,
        idle_timeout_secs: i64,
        rule: PresenceRule,
    ) -> Result<Vec<PresenceChange>>;

    /// Records the changes (each with the time it happened) and their `presence.*` events in
    /// one transaction, but for those another sweep recorded first; answers how many.
    async fn record_presences(&self, changes: &[(PresenceChange, i64)]) -> Result<usize>;
}

#[derive(sqlx::FromRow)]
pub struct PresenceRow {
    id: i64,
    account_pk: i64,
    presence: Presence,
    seen: Option<i64>,
}

#[derive(sqlx::FromRow)]
pub struct AddressedEventRow {
    account_pk: i64,
    agent_pk: Option<i64>,
    #[sqlx(flatten)]
    event: EventRow,
}

#[async_trait]
impl<DB: Backend> Streams for SqlStore<DB> {
    async fn create_ticket(&self, ticket: NewTicket<'_>, now: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        Sql::<DB>::new("DELETE FROM stream_tickets WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut tx)
            .await?;
        Sql::<DB>::new(
            "INSERT INTO stream_tickets (ticket_hash, token_pk, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(ticket.ticket_hash)
        .bind(ticket.token_pk)
        .bind(ticket.expires_at)
        .execute(&mut tx)
        .await?;
        tx.commit().await
    }

    async fn redeem_ticket(&self, ticket_hash: &str, now: i64) -> Result<Option<(Account, Token)>> {
        let mut tx = self.begin().await?;
        let used: Option<(i64,)> = Sql::<DB>::new(
            "DELETE FROM stream_tickets WHERE ticket_hash = $1 AND expires_at > $2
             RETURNING token_pk",
        )
        .bind(ticket_hash)
        .bind(now)
        .fetch_optional(&mut tx)
        .await?;
        let Some((token_pk,)) = used else {
            return Ok(None);
        };
        let row: Option<TokenRow> = Sql::<DB>::new(TOKEN_BY_ID)
            .bind(token_pk)
            .fetch_optional(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(row.map(TokenRow::into_parts))
    }

    async fn events_by_id(&self, ids: &[i64]) -> Result<Vec<(i64, Option<i64>, Event)>> {
        let sql = format!(
            "SELECT e.account_pk, e.agent_pk, e.id, g.agent_id, e.kind, e.actor, e.at, e.details
             FROM events e LEFT JOIN agents g ON g.id = e.agent_pk
             WHERE e.id IN ({ids}) ORDER BY e.id",
            ids = DB::json_ids("$1")
        );
        let ids = serde_json::to_string(ids).unwrap_or_default();
        let rows: Vec<AddressedEventRow> = Sql::<DB>::new(&sql)
            .bind(ids)
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.into_iter()
            .map(|r| Ok((r.account_pk, r.agent_pk, Event::try_from(r.event)?)))
            .collect()
    }

    async fn presence_changes(
        &self,
        now: i64,
        idle_timeout_secs: i64,
        rule: PresenceRule,
    ) -> Result<Vec<PresenceChange>> {
        // PresenceRule::at, in SQL: online while seen > now - stale, stale while
        // seen > now - offline, else (or with no live session) offline. One pass over the
        // open sessions, joined (a subquery per agent took 16 times as long at 10,000).
        let rows: Vec<PresenceRow> = Sql::<DB>::new(
            "SELECT g.id, g.account_pk, g.presence, s.seen
             FROM agents g LEFT JOIN (
                 SELECT agent_pk, MAX(last_seen_at) AS seen FROM agent_sessions
                 WHERE ended_at IS NULL AND expires_at > $1 AND last_seen_at > $2
                 GROUP BY agent_pk) s ON s.agent_pk = g.id
             WHERE g.presence <> CASE WHEN s.seen > $3 THEN 'online'
                                      WHEN s.seen > $4 THEN 'stale' ELSE 'offline' END
             ORDER BY g.id",
        )
        .bind(now)
        .bind(now - idle_timeout_secs)
        .bind(now - rule.stale_secs)
        .bind(now - rule.offline_secs)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| PresenceChange {
                agent_pk: r.id,
                account_pk: r.account_pk,
                from: r.presence,
                to: rule.at(r.seen, now),
                seen: r.seen,
            })
            .filter(|c| c.from != c.to)
            .collect())
    }

    async fn record_presences(&self, changes: &[(PresenceChange, i64)]) -> Result<usize> {
        // One UPDATE per (from, to) pair, not per agent: a floor going silent together is a
        // handful of statements per chunk. An agent another sweep moved first is not returned.
        let sql = format!(
            "UPDATE agents SET presence = $2 WHERE presence = $3 AND id IN ({ids}) RETURNING id",
            ids = DB::json_ids("$1")
        );
        let mut pairs: Vec<(Presence, Presence)> = Vec::new();
        for (change, _) in changes {
            if !pairs.contains(&(change.from, change.to)) {
                pairs.push((change.from, change.to));
            }
        }
        let mut tx = self.begin().await?;
        let mut moved = std::collections::HashSet::new();
        for (from, to) in pairs {
            let ids: Vec<i64> = changes
                .iter()
                .filter(|(c, _)| (c.from, c.to) == (from, to))
                .map(|(c, _)| c.agent_pk)
                .collect();
            let rows: Vec<(i64,)> = Sql::<DB>::new(&sql)
                .bind(serde_json::to_string(&ids).unwrap_or_default())
                .bind(to)
                .bind(from)
                .fetch_all(&mut tx)
                .await?;
            moved.extend(rows.into_iter().map(|(id,)| id));
        }
        let mut recorded = 0;
        // In the order found (by agent), as each was recorded one by one before.
        for (change, at) in changes.iter().filter(|(c, _)| moved.contains(&c.agent_pk)) {
            let agent = AgentRef {
                account_pk: change.account_pk,
                agent_pk: change.agent_pk,
            };
            let details = EventDetails::Presence {
                from: change.from,
                to: change.to,
                last_seen_at: change.seen,
            };
            tx.record_event(agent, details, Actor::System, *at);
            recorded += 1;
        }
        tx.commit().await?;
        Ok(recorded)
    }
}
