//! Races, on both databases: many simultaneous requests for one agent leave one consistent
//! state and a history in which every acknowledged change appears exactly once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::support::{Backend, PREFIX, TestApp, code};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;
use tokio::task::JoinSet;

on_both_databases! {
    hundred_simultaneous_start_breaks_make_one_break, fifty_simultaneous_end_breaks_end_it_once,
    interleaved_starts_and_ends_never_overlap, interleaved_wrap_up_starts_and_ends_never_overlap,
    fifty_simultaneous_wrap_ups_make_one, simultaneous_pings_record_one_mic_change,
    disabling_while_the_ssid_is_in_use_leaves_it_refused,
    disabling_while_the_backend_acts_leaves_nothing_open,
}

// ---------------------------------------------------------------- helpers

/// One request of a race: an upstream route with a JSON body, or a /v1 call.
#[derive(Clone)]
enum Call {
    Upstream(&'static str, Value),
    V1(Method, String, Option<Value>),
}

impl Call {
    fn v1(method: Method, path: &str, body: Option<Value>) -> Call {
        Call::V1(method, path.to_owned(), body)
    }

    /// `n` requests that end the same thing: alternately `route` by ssid upstream, and a
    /// DELETE of `path` on /v1.
    fn ends(n: usize, route: &'static str, ssid: &str, path: &str) -> Vec<Call> {
        (0..n)
            .map(|i| match i % 2 {
                0 => Call::Upstream(route, json!({ "ssid": ssid })),
                _ => Call::v1(Method::DELETE, path, None),
            })
            .collect()
    }

    /// For failure messages.
    fn describe(&self) -> String {
        match self {
            Call::Upstream(route, _) => (*route).to_owned(),
            Call::V1(method, path, _) => format!("{method} {path}"),
        }
    }
}

/// What a request answered: its HTTP status and its envelope code (0 for success).
#[derive(Debug, Clone)]
struct Outcome {
    status: u16,
    code: u64,
    /// The request, for failure messages.
    call: String,
}

impl Outcome {
    fn is(&self, status: u16, code: u64) -> bool {
        (self.status, self.code) == (status, code)
    }
}

/// Sends every call at once over one shared client; answers in the calls' order.
async fn race(app: &TestApp, token: &str, calls: Vec<Call>) -> Vec<Outcome> {
    let mut set = JoinSet::new();
    for (i, call) in calls.into_iter().enumerate() {
        let client = app.client.clone();
        let base = app.base.clone();
        let token = token.to_owned();
        let what = call.describe();
        set.spawn(async move {
            let req = match call {
                Call::Upstream(route, body) => client
                    .post(format!("{base}{PREFIX}/{route}"))
                    .body(body.to_string()),
                Call::V1(method, path, body) => {
                    let req = client
                        .request(method, format!("{base}{path}"))
                        .bearer_auth(token);
                    match body {
                        Some(body) => req.body(body.to_string()),
                        None => req,
                    }
                }
            };
            let res = req.send().await.expect("the server answers");
            let status = res.status().as_u16();
            let text = res.text().await.unwrap();
            let answer: Value = serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("HTTP {status}, not JSON: {text}"));
            let code = code(&answer);
            (
                i,
                Outcome {
                    status,
                    code,
                    call: what,
                },
            )
        });
    }
    let mut outcomes = vec![None; set.len()];
    while let Some(joined) = set.join_next().await {
        let (i, outcome) = joined.unwrap();
        outcomes[i] = Some(outcome);
    }
    outcomes.into_iter().map(Option::unwrap).collect()
}

/// An account "acme" with agent "7" logged in through /v1: (token, ssid).
async fn setup(app: &TestApp) -> (String, String) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7", "name": "Ann"}))
        .await;
    let ssid = app.login(&token, "7").await;
    (token, ssid)
}

/// How many of each outcome.
fn tally(outcomes: &[Outcome]) -> BTreeMap<(u16, u64), usize> {
    let mut counts = BTreeMap::new();
    for o in outcomes {
        *counts.entry((o.status, o.code)).or_default() += 1;
    }
    counts
}

/// How many succeeded, and how many were refused with `code` (HTTP 200 upstream, 409 on /v1).
fn ok_and_refused(outcomes: &[Outcome], code: u64) -> (usize, usize) {
    let counts = tally(outcomes);
    let count = |outcome| counts.get(&outcome).copied().unwrap_or(0);
    (count(OK), count((200, code)) + count((409, code)))
}

fn count(events: &[Value], kind: &str) -> usize {
    events.iter().filter(|e| e["kind"] == kind).count()
}

/// The kinds of the events whose kind starts with `prefix`, in history order.
fn kinds<'a>(events: &'a [Value], prefix: &str) -> Vec<&'a str> {
    events
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .filter(|k| k.starts_with(prefix))
        .collect()
}

/// The rounds of a repeated race: at least 20, and for at least 3 seconds, so that rounds
/// straddle changes of the clock's second.
fn rounds() -> impl Iterator<Item = usize> {
    let begin = Instant::now();
    (0..).take_while(move |round| *round < 20 || begin.elapsed() < Duration::from_secs(3))
}

/// A round of an interleaving race: ten starts, `start(i)`, each followed by an end, `end(i)`.
fn ten_pairs(start: impl Fn(usize) -> Call, end: impl Fn(usize) -> Call) -> Vec<Call> {
    (0..10).flat_map(|i| [start(i), end(i)]).collect()
}

/// Adds a round's successes (starts at even places, ends at odd ones, as `ten_pairs` sends
/// them) to `open`, (started, ended): at most one may be left open.
fn count_pairs(round: usize, outcomes: &[Outcome], open: &mut (usize, usize)) {
    for (i, o) in outcomes.iter().enumerate() {
        if o.code == 0 {
            *(if i % 2 == 0 { &mut open.0 } else { &mut open.1 }) += 1;
        }
    }
    let (started, ended) = *open;
    assert!(
        started == ended || started == ended + 1,
        "round {round}: {started} starts, {ended} ends"
    );
}

/// `n` racers end what agent 7 has open (`end`: the upstream route, the /v1 path, and the code
/// that refuses an end of nothing): one wins, the others are refused with that code, and the
/// history (`prefix` events) shows one start and one end.
async fn one_of_n_ends_it(
    app: &TestApp,
    token: &str,
    ssid: &str,
    n: usize,
    (route, path, refused): (&'static str, &str, u64),
    prefix: &str,
) {
    let outcomes = race(app, token, Call::ends(n, route, ssid, path)).await;
    let counts = tally(&outcomes);
    assert_eq!(ok_and_refused(&outcomes, refused), (1, n - 1), "{counts:?}");
    let events = app.history(token, "7").await;
    let (start, end) = (format!("{prefix}start"), format!("{prefix}end"));
    assert_eq!(kinds(&events, prefix), vec![start.as_str(), end.as_str()]);
}

/// `start, end, start, end, …`: never two starts or two ends in a row.
fn assert_alternates(kinds: &[&str], start: &str, end: &str) {
    for (i, kind) in kinds.iter().enumerate() {
        let want = if i % 2 == 0 { start } else { end };
        assert_eq!(*kind, want, "event #{i} of {kinds:?}");
    }
}

const OK: (u16, u64) = (200, 0);

// ---------------------------------------------------------------- tests

async fn hundred_simultaneous_start_breaks_make_one_break(app: TestApp) {
    let (token, ssid) = setup(&app).await;
    let calls = (0..100)
        .map(|i| {
            let reason = ["break", "lunch", "Personal", "MEETING"][i % 4];
            Call::Upstream("startBreak", json!({"ssid": ssid, "reason": reason}))
        })
        .collect();
    let outcomes = race(&app, &token, calls).await;
    assert_eq!(
        tally(&outcomes),
        BTreeMap::from([(OK, 1), ((200, 1507), 99)]),
        "one start wins, the others are told the agent is on break"
    );
    let events = app.history(&token, "7").await;
    assert_eq!(count(&events, "break.start"), 1, "{events:?}");
    assert_eq!(count(&events, "break.end"), 0);
    // The break that exists is the winner's.
    let winner = outcomes.iter().position(|o| o.code == 0).unwrap();
    let reason = ["break", "lunch", "personal", "meeting"][winner % 4];
    let answer = app.call("agentOnBreak", json!({ "ssid": ssid })).await;
    assert_eq!(
        answer["data"]["breakDetail"]["reasonCode"], reason,
        "{answer}"
    );
    let start = events.iter().find(|e| e["kind"] == "break.start").unwrap();
    assert_eq!(start["details"]["reasonCode"], reason);
}

async fn fifty_simultaneous_end_breaks_end_it_once(app: TestApp) {
    let (token, ssid) = setup(&app).await;
    app.call_ok("startBreak", json!({"ssid": ssid, "reason": "break"}))
        .await;
    let end = ("endBreak", "/v1/agents/7/break", 1502);
    one_of_n_ends_it(&app, &token, &ssid, 50, end, "break.").await;
}

async fn interleaved_starts_and_ends_never_overlap(app: TestApp) {
    let (token, ssid) = setup(&app).await;
    let mut open = (0, 0);
    for round in rounds() {
        let start = |i| {
            let reason = if (round + i) % 2 == 0 {
                "break"
            } else {
                "lunch"
            };
            Call::Upstream("startBreak", json!({"ssid": ssid, "reason": reason}))
        };
        let end = |_| Call::Upstream("endBreak", json!({ "ssid": ssid }));
        let outcomes = race(&app, &token, ten_pairs(start, end)).await;
        for (i, o) in outcomes.iter().enumerate() {
            let refusal = if i % 2 == 0 { 1507 } else { 1502 };
            assert!(
                o.is(200, 0) || o.is(200, refusal),
                "round {round}: {} answered HTTP {} code {} (expected 200 with code 0 or {refusal})",
                o.call,
                o.status,
                o.code
            );
        }
        // At most one break open, and it is the one every reader sees.
        count_pairs(round, &outcomes, &mut open);
        let answer = app.call("agentOnBreak", json!({ "ssid": ssid })).await;
        let entry = app.roster_entry(&token, "7").await;
        if open.0 > open.1 {
            assert_eq!(code(&answer), 0, "round {round}: {answer}");
            assert_eq!(entry["state"], "on_break", "round {round}: {entry}");
        } else {
            assert_eq!(code(&answer), 1502, "round {round}: {answer}");
            assert_eq!(entry["break"], Value::Null, "round {round}: {entry}");
        }
    }
    let (started, ended) = open;
    assert!(started > 0 && ended > 0, "{started} starts, {ended} ends");
    let events = app.history(&token, "7").await;
    let breaks = kinds(&events, "break.");
    assert_alternates(&breaks, "break.start", "break.end");
    assert_eq!(count(&events, "break.start"), started);
    assert_eq!(count(&events, "break.end"), ended);
    // Every break.end closes the break its break.start opened, and time runs forward.
    let pairs: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"].as_str().unwrap().starts_with("break."))
        .collect();
    for pair in pairs.chunks(2) {
        if let [start, end] = pair {
            assert_eq!(
                start["details"]["reasonCode"], end["details"]["reasonCode"],
                "{start} / {end}"
            );
            assert!(
                start["at"].as_i64() <= end["at"].as_i64(),
                "{start} / {end}"
            );
        }
    }
}

async fn interleaved_wrap_up_starts_and_ends_never_overlap(app: TestApp) {
    let (token, ssid) = setup(&app).await;
    let mut open = (0, 0);
    for round in rounds() {
        let start = |i| {
            let body = json!({"callId": format!("r{round}-{i}"), "cNumber": "+1"});
            Call::v1(Method::POST, "/v1/agents/7/wrap-up", Some(body))
        };
        let end = |i| match i % 2 {
            0 => Call::Upstream("endWrapUp", json!({ "ssid": ssid })),
            _ => Call::v1(Method::DELETE, "/v1/agents/7/wrap-up", None),
        };
        let outcomes = race(&app, &token, ten_pairs(start, end)).await;
        for (i, o) in outcomes.iter().enumerate() {
            let fine = if i % 2 == 0 {
                o.is(201, 0) || o.is(409, 1511)
            } else {
                o.is(200, 0) || o.is(200, 1504) || o.is(409, 1504)
            };
            assert!(fine, "round {round}: {o:?}");
        }
        count_pairs(round, &outcomes, &mut open);
        let answer = app.call("wrapUp", json!({ "ssid": ssid })).await;
        let want = if open.0 > open.1 { 0 } else { 1504 };
        assert_eq!(code(&answer), want, "round {round}: {answer}");
    }
    let (started, ended) = open;
    let events = app.history(&token, "7").await;
    assert_alternates(&kinds(&events, "wrap."), "wrap.start", "wrap.end");
    assert_eq!(count(&events, "wrap.start"), started);
    assert_eq!(count(&events, "wrap.end"), ended);
}

async fn fifty_simultaneous_wrap_ups_make_one(app: TestApp) {
    let (token, ssid) = setup(&app).await;
    let calls = (0..50)
        .map(|i| {
            let body = json!({"callId": format!("call-{i}"), "cNumber": format!("+1555{i:04}")});
            Call::v1(Method::POST, "/v1/agents/7/wrap-up", Some(body))
        })
        .collect();
    let outcomes = race(&app, &token, calls).await;
    assert_eq!(
        tally(&outcomes),
        BTreeMap::from([((201, 0), 1), ((409, 1511), 49)])
    );
    let winner = outcomes.iter().position(|o| o.status == 201).unwrap();
    let answer = app.call("wrapUp", json!({ "ssid": ssid })).await;
    assert_eq!(
        answer["data"]["callId"],
        format!("call-{winner}"),
        "{answer}"
    );
    assert_eq!(answer["data"]["cNumber"], format!("+1555{winner:04}"));
    let events = app.history(&token, "7").await;
    assert_eq!(kinds(&events, "wrap."), vec!["wrap.start"]);
    let start = events.iter().find(|e| e["kind"] == "wrap.start").unwrap();
    assert_eq!(start["details"]["callId"], format!("call-{winner}"));

    // Ending it concurrently: once.
    let end = ("endWrapUp", "/v1/agents/7/wrap-up", 1504);
    one_of_n_ends_it(&app, &token, &ssid, 20, end, "wrap.").await;
}

async fn simultaneous_pings_record_one_mic_change(app: TestApp) {
    let (token, ssid) = setup(&app).await;
    let ping =
        |mic: Value| Call::Upstream("setWebPingTime", json!({"ssid": ssid, "mic_perm": mic}));
    let outcomes = race(&app, &token, vec![ping(json!("granted")); 30]).await;
    assert_eq!(tally(&outcomes), BTreeMap::from([(OK, 30)]));
    let forms = [json!("denied"), json!(0), json!(false), json!("0")];
    let calls = (0..40).map(|i| ping(forms[i % 4].clone())).collect();
    let outcomes = race(&app, &token, calls).await;
    assert_eq!(tally(&outcomes), BTreeMap::from([(OK, 40)]));
    let events = app.history(&token, "7").await;
    let changes: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "mic.change")
        .map(|e| &e["details"]["micPerm"])
        .collect();
    assert_eq!(changes, vec!["granted", "denied"]);
    assert_eq!(app.roster_entry(&token, "7").await["micPerm"], "denied");
}

/// Races `calls` with a disable of agent 7 in their middle (the 11th of 21); the disable
/// must succeed.
async fn race_with_a_disable(app: &TestApp, token: &str, mut calls: Vec<Call>) -> Vec<Outcome> {
    let middle = calls.len() / 2;
    calls.insert(middle, Call::v1(Method::POST, "/v1/agents/7/disable", None));
    let outcomes = race(app, token, calls).await;
    let disable = &outcomes[middle];
    assert!(disable.is(200, 0), "the disable: {disable:?}");
    outcomes
}

/// After a disable that raced other requests: the agent is disabled, logged out, with no
/// open break or wrap-up, and no change was recorded after the agent.disabled event.
async fn assert_nothing_open_after_disable(app: &TestApp, token: &str, round: usize) {
    let entry = app.roster_entry(token, "7").await;
    assert_eq!(entry["state"], "disabled", "round {round}: {entry}");
    assert_eq!(entry["disabled"], true, "round {round}: {entry}");
    assert_eq!(
        entry["loggedIn"], false,
        "round {round}: live session after disable: {entry}"
    );
    assert_eq!(
        entry["break"],
        Value::Null,
        "round {round}: open break after disable: {entry}"
    );
    assert_eq!(
        entry["wrapUp"],
        Value::Null,
        "round {round}: open wrap-up after disable: {entry}"
    );
    let events = app.history(token, "7").await;
    let last_disable = events
        .iter()
        .rposition(|e| e["kind"] == "agent.disabled")
        .expect("an agent.disabled event");
    let after: Vec<&Value> = events[last_disable + 1..]
        .iter()
        .map(|e| &e["kind"])
        .collect();
    assert!(
        after.is_empty(),
        "round {round}: changes recorded after agent.disabled: {after:?}"
    );
    assert_alternates(&kinds(&events, "break."), "break.start", "break.end");
    assert_alternates(&kinds(&events, "wrap."), "wrap.start", "wrap.end");
}

async fn disabling_while_the_ssid_is_in_use_leaves_it_refused(app: TestApp) {
    let (token, mut ssid) = setup(&app).await;
    for round in 0..10 {
        let calls = (0..20)
            .map(|i| match i % 4 {
                0 | 2 => Call::Upstream("startBreak", json!({"ssid": ssid, "reason": "break"})),
                1 => Call::Upstream("endBreak", json!({ "ssid": ssid })),
                _ => Call::Upstream(
                    "setWebPingTime",
                    json!({"ssid": ssid, "mic_perm": if i % 8 == 3 { "granted" } else { "denied" }}),
                ),
            })
            .collect();
        let outcomes = race_with_a_disable(&app, &token, calls).await;
        for o in &outcomes {
            assert_eq!(o.status, 200, "round {round}: {outcomes:?}");
            assert!(
                [0, 1000, 1502, 1503, 1507].contains(&o.code),
                "round {round}: {o:?}"
            );
        }
        // The old ssid is refused; the token names a disabled agent.
        let answer = app.call("agentOnBreak", json!({ "ssid": ssid })).await;
        assert_eq!(code(&answer), 1000, "round {round}: {answer}");
        let answer = app
            .call("setWebPingTime", json!({"ssid": ssid, "mic_perm": 1}))
            .await;
        assert_eq!(code(&answer), 1503, "round {round}: {answer}");
        let auth = json!({"userId": "acme", "token": token, "agentId": "7"});
        let answer = app.call("agentOnBreak", auth).await;
        assert_eq!(code(&answer), 1510, "round {round}: {answer}");
        assert_nothing_open_after_disable(&app, &token, round).await;
        app.v1_ok(Method::POST, "/v1/agents/7/enable", &token, None, 200)
            .await;
        ssid = app.login(&token, "7").await;
    }
}

async fn disabling_while_the_backend_acts_leaves_nothing_open(app: TestApp) {
    let (token, _) = setup(&app).await;
    for round in 0..10 {
        let calls = (0..20)
            .map(|i| match i % 4 {
                0 => Call::v1(
                    Method::POST,
                    "/v1/agents/7/break",
                    Some(json!({"reason": "lunch"})),
                ),
                1 => Call::v1(
                    Method::POST,
                    "/v1/agents/7/wrap-up",
                    Some(json!({"callId": format!("r{round}-{i}"), "cNumber": "+1"})),
                ),
                2 => Call::v1(Method::POST, "/v1/agents/7/sessions", None),
                _ => Call::v1(Method::DELETE, "/v1/agents/7/break", None),
            })
            .collect();
        let outcomes = race_with_a_disable(&app, &token, calls).await;
        for o in &outcomes {
            let known = [
                (200, 0),
                (201, 0),
                (409, 1502),
                (409, 1507),
                (409, 1510),
                (409, 1511),
            ];
            assert!(
                known.iter().any(|&(s, c)| o.is(s, c)),
                "round {round}: {o:?}"
            );
        }
        assert_nothing_open_after_disable(&app, &token, round).await;
        app.v1_ok(Method::POST, "/v1/agents/7/enable", &token, None, 200)
            .await;
    }
}

/// A change given up while its `BEGIN` waits (here: the request's deadline passes while
/// another transaction holds the agent's row) leaves no transaction open on the server's
/// connections. sqlx rolls back only a transaction it has counted, and a `BEGIN` sent but not
/// yet answered is not one: the connection went back to the pool inside it, holding the
/// agent's lock, and every later change of the agent waited for it (or, once a statement
/// failed in it, every user of the connection got "current transaction is aborted").
#[tokio::test]
async fn a_change_given_up_while_it_begins_leaves_no_transaction_open() {
    let Some(app) = TestApp::spawn_with(Backend::Postgres, |config| {
        config.request_timeout_secs = 1;
        config.db_max_connections = 2;
    })
    .await
    else {
        return;
    };
    let f = app.fixture("acme", "7").await;
    // The start's BEGIN (with the agent's lock) waits behind the holder.
    let lock = "SELECT 1 FROM agents WHERE agent_id = '7' FOR UPDATE";
    let mut holder = start_given_up_behind(&app, lock, &f.ssid).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()",
    )
    .fetch_one(&mut holder)
    .await
    .unwrap();
    assert_eq!(open, 0, "a pooled connection was left inside a transaction");
    // The agent is free: the given-up start changed nothing, and the next one is made.
    let answer = app.call("agentOnBreak", json!({"ssid": f.ssid})).await;
    assert_eq!(code(&answer), 1502, "{answer}");
    let answer = app
        .call("startBreak", json!({"ssid": f.ssid, "reason": "break"}))
        .await;
    assert_eq!(answer["status"], "success", "{answer}");
}

/// A change given up after its commit, while it waits for its account's sequencing run (here:
/// the request's deadline passes while another transaction holds the account's event lock),
/// still reaches this instance's live view once it is done: the next read answers the change,
/// never the state before it (this instance skips its own announcements on the feed, so the
/// view hears of its changes only from the write itself).
#[tokio::test]
async fn a_change_given_up_after_its_commit_still_reaches_the_live_view() {
    let Some(app) = TestApp::spawn_with(Backend::Postgres, |config| {
        config.request_timeout_secs = 1;
    })
    .await
    else {
        return;
    };
    let f = app.fixture("acme", "7").await;
    // The agent in the live view, not on break.
    let answer = app.call("agentOnBreak", json!({"ssid": f.ssid})).await;
    assert_eq!(code(&answer), 1502, "{answer}");
    // Committed, then waiting for the run behind the holder of the account's event lock.
    let lock = "SELECT pg_advisory_xact_lock(account_pk) FROM agents WHERE agent_id = '7'";
    let _holder = start_given_up_behind(&app, lock, &f.ssid).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let answer = app.call("agentOnBreak", json!({"ssid": f.ssid})).await;
        if answer["status"] == "success" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the view still answers the state before the committed break: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Takes a lock (`lock`, a statement) in a transaction of the test's own, then sends a start
/// of a break for `ssid` that waits behind it until the request's deadline gives it up (1032);
/// then commits, releasing the lock. Answers the test's connection.
async fn start_given_up_behind(app: &TestApp, lock: &str, ssid: &str) -> sqlx::PgConnection {
    let db = app.db.as_ref().unwrap();
    let mut holder = sqlx::PgConnection::connect(&db.url()).await.unwrap();
    sqlx::raw_sql(&format!("BEGIN; {lock}"))
        .execute(&mut holder)
        .await
        .unwrap();
    let body = json!({"ssid": ssid, "reason": "break"}).to_string();
    let (_, text) = app.post_raw("startBreak", body).await;
    assert_eq!(code(&serde_json::from_str(&text).unwrap()), 1032, "{text}");
    sqlx::raw_sql("COMMIT").execute(&mut holder).await.unwrap();
    holder
}
