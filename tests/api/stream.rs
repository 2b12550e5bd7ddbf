//! The live event stream (`GET /v1/stream`) and presence, on one server: events arrive as
//! they commit with the agent's roster entry; a stream resumed by `Last-Event-ID` gets
//! exactly what it missed, in order; tickets are single-use and short-lived; the agent
//! filter, the per-account limit and a graceful stop; and presence crossings recorded once
//! each at the configured thresholds.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::now_unix;
use crate::support::*;

on_both_databases! {
    events_arrive_as_they_commit_with_the_agents_entry,
    a_resumed_stream_gets_exactly_what_it_missed_in_order,
    tickets_open_one_stream_once,
    streams_filter_by_agent_and_are_limited_per_account,
    a_stream_sees_every_event_of_concurrent_writers_in_id_order,
    a_graceful_stop_ends_open_streams,
}

on_both_databases_with_own_config! {
    presence_goes_stale_then_offline_with_one_event_each,
    a_floor_going_silent_together_is_recorded_once_each_in_id_order,
    a_wrap_up_that_runs_out_is_streamed_when_it_ends,
}

/// An open event stream, read message by message.
pub struct Stream {
    res: reqwest::Response,
    buf: String,
}

impl Stream {
    /// Opens `GET /v1/stream{query}` with this bearer token (or none) and `Last-Event-ID`.
    pub async fn open(base: &str, query: &str, token: Option<&str>, last: Option<i64>) -> Stream {
        let mut req = reqwest::Client::new().get(format!("{base}/v1/stream{query}"));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(last) = last {
            req = req.header("Last-Event-ID", last.to_string());
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200, "{query}");
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        assert_eq!(res.headers()["cache-control"], "no-cache");
        Stream {
            res,
            buf: String::new(),
        }
    }

    /// The next event's id and data; None when the server ends the stream. Fails after 5 s.
    pub async fn next(&mut self) -> Option<(i64, Value)> {
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let message: String = self.buf.drain(..end + 2).collect();
                let mut id = None;
                let mut data = None;
                for line in message.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = Some(v.parse::<i64>().unwrap());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = Some(serde_json::from_str::<Value>(v).unwrap());
                    }
                }
                if let (Some(id), Some(data)) = (id, data) {
                    assert_eq!(data["id"], id, "the SSE id is the event id");
                    return Some((id, data));
                }
            }
            let chunk = tokio::time::timeout(Duration::from_secs(5), self.res.chunk())
                .await
                .expect("an event within 5 s");
            match chunk {
                Ok(Some(bytes)) => self.buf.push_str(std::str::from_utf8(&bytes).unwrap()),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// The next `n` events.
    pub async fn take(&mut self, n: usize) -> Vec<(i64, Value)> {
        let mut events = Vec::new();
        while events.len() < n {
            events.push(self.next().await.expect("the stream is still open"));
        }
        events
    }

    /// Whether nothing more arrives within `wait`.
    pub async fn quiet_for(&mut self, wait: Duration) -> bool {
        tokio::time::timeout(wait, self.next()).await.is_err()
    }
}

/// A call with this bearer token or none: the status and the envelope.
async fn raw(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let (status, _, text) = app.send(Method::GET, path, auth.as_deref(), None).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Starts a lunch break through the API (HTTP 201): the change most of these tests stream.
async fn start_lunch(app: &TestApp, token: &str, agent: &str) {
    let path = format!("/v1/agents/{agent}/break");
    let lunch = json!({"reason": "lunch"});
    app.v1_ok(Method::POST, &path, token, Some(lunch), 201)
        .await;
}

/// Ends the agent's break through the API (HTTP 200).
async fn end_break(app: &TestApp, token: &str, agent: &str) {
    let path = format!("/v1/agents/{agent}/break");
    app.v1_ok(Method::DELETE, &path, token, None, 200).await;
}

/// Starts this wrap-up through the API (HTTP 201).
async fn start_wrap_up(app: &TestApp, token: &str, agent: &str, wrap: Value) {
    let path = format!("/v1/agents/{agent}/wrap-up");
    app.v1_ok(Method::POST, &path, token, Some(wrap), 201).await;
}

fn kinds(events: &[(i64, Value)]) -> Vec<&str> {
    events
        .iter()
        .map(|(_, e)| e["kind"].as_str().unwrap())
        .collect()
}

async fn events_arrive_as_they_commit_with_the_agents_entry(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let mut stream = Stream::open(&app.base, "", Some(&f.token), None).await;
    let started = Instant::now();
    start_lunch(&app, &f.token, "7").await;
    let (id, event) = stream.next().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(event["kind"], "break.start");
    assert_eq!(event["agentId"], "7");
    assert_eq!(event["details"]["reasonCode"], "lunch");
    assert_eq!(event["agent"]["state"], "on_break");
    assert_eq!(event["agent"]["break"]["reasonCode"], "lunch");
    assert!(event["agent"]["lastEventId"].as_i64().unwrap() >= id);
    // The same event as the history has it (the stream adds only `agent`).
    let history = app.history(&f.token, "7").await;
    let mut recorded = history.last().unwrap().clone();
    recorded["agent"] = event["agent"].clone();
    assert_eq!(recorded, event);

    // An upstream route's change is streamed alike.
    app.call_ok("endBreak", f.by_ssid()).await;
    let (next, event) = stream.next().await.unwrap();
    assert!(next > id);
    assert_eq!(event["kind"], "break.end");
    assert_eq!(event["agent"]["state"], "available");
    assert_eq!(event["actor"], app.session_actor(&f.ssid).await);
    // Another account's changes never reach this stream.
    let other = app.fixture("globex", "7").await;
    start_lunch(&app, &other.token, "7").await;
    assert!(stream.quiet_for(Duration::from_millis(500)).await);
}

async fn a_resumed_stream_gets_exactly_what_it_missed_in_order(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let mut stream = Stream::open(&app.base, "", Some(&f.token), None).await;
    start_lunch(&app, &f.token, "7").await;
    let (seen, _) = stream.next().await.unwrap();
    drop(stream);

    // By header, as EventSource resumes; then by query, as a new EventSource would.
    for how in ["header", "query"] {
        // Missed while disconnected.
        end_break(&app, &f.token, "7").await;
        let wrap = json!({"callId": "c-1", "cNumber": "+15550100"});
        start_wrap_up(&app, &f.token, "7", wrap).await;
        app.v1_ok(Method::DELETE, "/v1/agents/7/wrap-up", &f.token, None, 200)
            .await;
        let history = app.history(&f.token, "7").await;
        let missed: Vec<&Value> = history
            .iter()
            .filter(|e| e["id"].as_i64().unwrap() > seen)
            .collect();
        assert!(missed.len() >= 3, "{how}");

        let mut stream = match how {
            "header" => Stream::open(&app.base, "", Some(&f.token), Some(seen)).await,
            _ => {
                Stream::open(
                    &app.base,
                    &format!("?lastEventId={seen}"),
                    Some(&f.token),
                    None,
                )
                .await
            }
        };
        let replayed = stream.take(missed.len()).await;
        let replayed: Vec<&Value> = replayed.iter().map(|(_, e)| e).collect();
        assert_eq!(replayed, missed, "{how}");
        // Then live, with nothing twice.
        start_lunch(&app, &f.token, "7").await;
        let (_, live) = stream.next().await.unwrap();
        assert_eq!(live["kind"], "break.start", "{how}");
        assert!(
            live["agent"].is_object(),
            "{how}: live events carry the entry"
        );
        assert!(stream.quiet_for(Duration::from_millis(300)).await, "{how}");
    }

    // A last event id that is not one is refused, with the envelope.
    let (status, body) = raw(&app, "/v1/stream?lastEventId=x", Some(&f.token)).await;
    assert_eq!((status, code(&body)), (422, 1000), "{body}");
}

async fn tickets_open_one_stream_once(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let data = app
        .v1_ok(Method::POST, "/v1/stream/tickets", &f.token, None, 201)
        .await;
    let ticket = data["ticket"].as_str().unwrap().to_owned();
    assert!(ticket.starts_with("tkt_") && ticket.len() > 60, "{ticket}");
    assert!((data["expiresAt"].as_i64().unwrap() - now_unix() - 30).abs() <= 2);
    assert!(!ticket.contains(&f.token));

    let mut stream = Stream::open(&app.base, &format!("?ticket={ticket}"), None, None).await;
    start_lunch(&app, &f.token, "7").await;
    assert_eq!(stream.next().await.unwrap().1["kind"], "break.start");

    // Used: refused, like an unknown one, and like no credentials at all.
    for query in [
        format!("?ticket={ticket}"),
        "?ticket=tkt_nope".to_owned(),
        String::new(),
    ] {
        let (status, body) = raw(&app, &format!("/v1/stream{query}"), None).await;
        assert_eq!((status, code(&body)), (401, 1014), "{query}: {body}");
    }
    // An expired ticket.
    let (_, token) = app
        .store
        .token_account(&crate::support::hash(&f.token))
        .await
        .unwrap()
        .unwrap();
    let (old, _) = app
        .service
        .create_ticket(token.id, now_unix() - 31)
        .await
        .unwrap();
    let (status, body) = raw(&app, &format!("/v1/stream?ticket={old}"), None).await;
    assert_eq!((status, code(&body)), (401, 1014), "{body}");
    // A suspended account's ticket opens nothing.
    let fresh = app
        .v1_ok(Method::POST, "/v1/stream/tickets", &f.token, None, 201)
        .await;
    app.admin().set_suspended("acme", true).await.unwrap();
    let query = format!("/v1/stream?ticket={}", fresh["ticket"].as_str().unwrap());
    let (status, body) = raw(&app, &query, None).await;
    assert_eq!((status, code(&body)), (403, 1039), "{body}");
    // Only hashes are kept.
    let kept = sql_text(
        app.db.as_ref().unwrap(),
        "SELECT CAST(COUNT(*) AS TEXT) FROM stream_tickets WHERE ticket_hash LIKE 'tkt_%'",
    )
    .await;
    assert_eq!(kept.as_deref(), Some("0"));
}

async fn streams_filter_by_agent_and_are_limited_per_account(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    app.create_agent(&f.token, json!({"agentId": "8"})).await;
    let mut only_8 = Stream::open(&app.base, "?agentId=8", Some(&f.token), None).await;
    for agent in ["7", "8"] {
        start_lunch(&app, &f.token, agent).await;
    }
    let (_, event) = only_8.next().await.unwrap();
    assert_eq!(
        (event["agentId"].as_str(), event["kind"].as_str()),
        (Some("8"), Some("break.start"))
    );
    assert!(only_8.quiet_for(Duration::from_millis(300)).await);
    let (status, body) = raw(&app, "/v1/stream?agentId=nobody", Some(&f.token)).await;
    assert_eq!((status, code(&body)), (404, 1512), "{body}");

    // The limit (100 by default) counts open streams; a closed one frees its place.
    let max = app.config.stream_max_per_account as usize;
    let mut open = vec![only_8];
    while open.len() < max {
        open.push(Stream::open(&app.base, "", Some(&f.token), None).await);
    }
    let (status, body) = raw(&app, "/v1/stream", Some(&f.token)).await;
    assert_eq!((status, code(&body)), (429, 1514), "{body}");
    let (_, _, metrics) = app.send(Method::GET, "/metrics", None, None).await;
    assert!(
        metrics.contains(&format!("agentprofile_streams_open {max}")),
        "{metrics}"
    );
    // Another account is not limited by this one's streams.
    let other = app.fixture("globex", "9").await;
    drop(Stream::open(&app.base, "", Some(&other.token), None).await);
    // A stream whose client left frees its place (noticed at the latest when the next
    // event or keep-alive comment cannot be written).
    drop(open.pop());
    end_break(&app, &f.token, "7").await;
    let started = Instant::now();
    loop {
        let res = app
            .client
            .get(format!("{}/v1/stream", app.base))
            .bearer_auth(&f.token)
            .send()
            .await
            .unwrap();
        if res.status() == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the place was never freed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_stream_sees_every_event_of_concurrent_writers_in_id_order(app: TestApp) {
    let f = app.fixture("acme", "a0").await;
    let agents: Vec<String> = (1..8).map(|i| format!("a{i}")).collect();
    for agent in &agents {
        app.create_agent(&f.token, json!({ "agentId": agent }))
            .await;
    }
    let mut stream = Stream::open(&app.base, "", Some(&f.token), None).await;
    let before = app.events(&f.token, "/v1/events?limit=500").await.len();
    let writers = agents.iter().map(|agent| {
        let (app, token) = (&app, &f.token);
        async move {
            for _ in 0..6 {
                start_lunch(app, token, agent).await;
                end_break(app, token, agent).await;
            }
        }
    });
    futures_util::future::join_all(writers).await;
    let history = app.events(&f.token, "/v1/events?limit=500").await;
    let written = &history[before..];
    assert_eq!(written.len(), agents.len() * 12);
    let streamed = stream.take(written.len()).await;
    let ids: Vec<i64> = streamed.iter().map(|(id, _)| *id).collect();
    let want: Vec<i64> = written.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    // Every event once, in id order: ids committed out of order would be missing here.
    assert_eq!(ids, want);
    assert!(stream.quiet_for(Duration::from_millis(300)).await);
}

async fn a_graceful_stop_ends_open_streams(mut app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let mut stream = Stream::open(&app.base, "", Some(&f.token), None).await;
    let started = Instant::now();
    app.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        stream.next().await,
        None,
        "the stream ended with the server"
    );
}

async fn presence_goes_stale_then_offline_with_one_event_each(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| {
        c.sweep_interval_ms = 200;
        c.presence_stale_secs = 2;
        c.presence_offline_secs = 4;
    })
    .await
    else {
        return;
    };
    // The stream opens before the login, so that it hears the first crossing.
    let admin = app.admin();
    admin.create_account("acme", "").await.unwrap();
    admin.create_agent("acme", agent("7")).await.unwrap();
    let token = admin.create_token("acme").await.unwrap();
    let mut stream = Stream::open(&app.base, "?agentId=7", Some(&token), None).await;
    let f = Fixture {
        user_id: "acme".to_owned(),
        agent_id: "7".to_owned(),
        ssid: admin.create_session("acme", "7").await.unwrap(),
        token,
    };
    // Logged in just now: online (the sweeper records it within a second).
    assert_eq!(stream.next().await.unwrap().1["kind"], "login");
    let (_, online) = stream.next().await.unwrap();
    assert_eq!(online["kind"], "presence.online");
    assert_eq!(online["actor"], "system");
    assert_eq!(online["agent"]["presence"], "online");
    let seen = online["details"]["lastSeenAt"].as_i64().unwrap();
    // No ping: stale two seconds after the last sign of life, offline at four.
    let (_, stale) = stream.next().await.unwrap();
    assert_eq!(stale["kind"], "presence.stale");
    assert_eq!(stale["at"], seen + 2);
    assert_eq!(stale["details"]["from"], "online");
    assert_eq!(app.roster_entry(&f.token, "7").await["presence"], "stale");
    let (_, offline) = stream.next().await.unwrap();
    assert_eq!(offline["kind"], "presence.offline");
    assert_eq!(offline["at"], seen + 4);
    assert_eq!(app.roster_entry(&f.token, "7").await["presence"], "offline");
    // Still logged in: presence is its own signal.
    assert_eq!(app.roster_entry(&f.token, "7").await["state"], "available");
    assert!(
        stream.quiet_for(Duration::from_millis(1500)).await,
        "one event each"
    );

    // A ping brings the agent back online, with microphone permission its own signal.
    app.call_ok(
        "setWebPingTime",
        json!({"ssid": f.ssid, "mic_perm": "denied"}),
    )
    .await;
    let got = stream.take(2).await;
    assert_eq!(kinds(&got), ["mic.change", "presence.online"]);
    assert_eq!(got[1].1["agent"]["micPerm"], "denied");
    assert_eq!(got[1].1["agent"]["presence"], "online");
    // Logging out makes the agent offline at once (no live session).
    app.v1_ok(Method::DELETE, "/v1/agents/7/sessions", &f.token, None, 200)
        .await;
    let got = stream.take(2).await;
    assert_eq!(kinds(&got), ["logout", "presence.offline"]);
    let history = app.history(&f.token, "7").await;
    let presence: Vec<&str> = history
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .filter(|k| k.starts_with("presence."))
        .collect();
    assert_eq!(
        presence,
        [
            "presence.online",
            "presence.stale",
            "presence.offline",
            "presence.online",
            "presence.offline"
        ]
    );
}

/// A sweep's crossings are recorded together (one UPDATE per kind of crossing, the events in
/// one statement): each agent's exactly once, dated when it crossed, streamed in id order.
async fn a_floor_going_silent_together_is_recorded_once_each_in_id_order(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| {
        c.sweep_interval_ms = 200;
        c.presence_stale_secs = 2;
        c.presence_offline_secs = 3600;
    })
    .await
    else {
        return;
    };
    let admin = app.admin();
    admin.create_account("acme", "").await.unwrap();
    let token = admin.create_token("acme").await.unwrap();
    let floor: Vec<String> = (0..40).map(|i| format!("a{i:02}")).collect();
    for id in &floor {
        admin.create_agent("acme", agent(id)).await.unwrap();
        admin.create_session("acme", id).await.unwrap();
    }
    let mut stream = Stream::open(&app.base, "", Some(&token), Some(0)).await;
    let (mut stale, mut last_id) = (Vec::new(), 0);
    while stale.len() < floor.len() {
        let (id, event) = stream.next().await.unwrap();
        assert!(id > last_id, "ids increase: {id} after {last_id}");
        last_id = id;
        if event["kind"] == "presence.stale" {
            let seen = event["details"]["lastSeenAt"].as_i64().unwrap();
            assert_eq!(event["at"], seen + 2, "dated when it crossed");
            stale.push(event["agentId"].as_str().unwrap().to_owned());
        }
    }
    stale.sort();
    assert_eq!(stale, floor, "every agent once");
    for id in &floor {
        assert_eq!(app.roster_entry(&token, id).await["presence"], "stale");
    }
    assert!(
        stream.quiet_for(Duration::from_millis(1000)).await,
        "nothing recorded twice"
    );
}

async fn a_wrap_up_that_runs_out_is_streamed_when_it_ends(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| c.sweep_interval_ms = 200).await else {
        return;
    };
    let f = app.fixture("acme", "7").await;
    let mut stream = Stream::open(&app.base, "", Some(&f.token), None).await;
    let wrap = json!({"callId": "c-9", "cNumber": "+15550100", "seconds": 1});
    start_wrap_up(&app, &f.token, "7", wrap).await;
    let mut got = Vec::new();
    while got.len() < 2 {
        let (_, event) = stream.next().await.unwrap();
        if event["kind"].as_str().unwrap().starts_with("wrap.") {
            got.push(event);
        }
    }
    assert_eq!(got[0]["kind"], "wrap.start");
    let (ended, ends_at) = (&got[1], got[0]["details"]["endsAt"].clone());
    assert_eq!(ended["kind"], "wrap.end");
    assert_eq!(ended["actor"], "system");
    assert_eq!(ended["details"]["how"], "expired");
    assert_eq!(ended["at"], ends_at, "recorded at its end time");
    assert_eq!(ended["agent"]["state"], "available");
}
