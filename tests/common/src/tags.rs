//! Notification tags: made through `/v1` or, dated in the past, through the server's own
//! service; fetched through the upstream `tags` route.

use reqwest::Method;
use serde_json::Value;

use crate::{Act, NewTag, TestApp, now_unix};

impl TestApp {
    /// Creates a tag as the server's service would, dated `secs_ago` seconds ago (by the CLI):
    /// its id.
    pub async fn tag_dated(
        &self,
        user_id: &str,
        agent_id: &str,
        title: &str,
        secs_ago: i64,
    ) -> i64 {
        let (_, agent) = self.admin().agent(user_id, agent_id).await.unwrap();
        let tag = NewTag {
            title: title.to_owned(),
            ..NewTag::default()
        };
        let act = Act {
            now: now_unix() - secs_ago,
            ..Act::cli()
        };
        self.service.create_tag(&agent, tag, act).await.unwrap().id
    }

    /// The missed-call tag of this call, as the calls API makes it: the created tag.
    pub async fn missed_call_tag(
        &self,
        user_id: &str,
        agent_id: &str,
        call: &str,
        number: &str,
    ) -> Value {
        let (_, agent) = self.admin().agent(user_id, agent_id).await.unwrap();
        let tag = NewTag::missed_call(call, number);
        let created = self
            .service
            .create_tag(&agent, tag, Act::cli())
            .await
            .unwrap();
        serde_json::to_value(created).unwrap()
    }

    /// `POST /v1/agents/{agent_id}/tags` that must answer 201: the tag.
    pub async fn create_tag(&self, token: &str, agent_id: &str, body: Value) -> Value {
        let path = format!("/v1/agents/{agent_id}/tags");
        self.v1_ok(Method::POST, &path, token, Some(body), 201)
            .await
    }

    /// An upstream `tags` fetch that must succeed: its `data` (`tags`, `from`, `to`).
    pub async fn fetch_tags(&self, body: Value) -> Value {
        self.call_ok("tags", body).await
    }

    /// The titles of a fetch's tags, in its order.
    pub async fn fetched_titles(&self, body: Value) -> Vec<String> {
        titles(&self.fetch_tags(body).await["tags"])
    }
}

/// The titles of a list of tags.
pub fn titles(tags: &Value) -> Vec<String> {
    tags.as_array()
        .expect("a list of tags")
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_owned())
        .collect()
}
