//! Calls: answered (`on_call`), ended into wrap-up by policy or straight to available,
//! missed, refused when they conflict, forced over a break, ended by a disable, raced, and
//! seen in the roster, the history and the stream.

use std::time::Duration;

use crate::stream::Stream;
use crate::support::{Backend, TestApp, call_path, envelope_of, expect, near_now};
use reqwest::Method;
use serde_json::{Value, json};

use super::*;

on_both_databases! {
    a_call_puts_the_agent_on_call_and_its_end_into_wrap_up_by_policy,
    a_zero_second_policy_goes_straight_back_to_available,
    a_missed_call_has_no_wrap_up,
    calls_are_refused_when_they_conflict,
    a_break_or_wrap_up_cannot_start_during_a_call,
    a_call_during_a_break_needs_force_which_ends_the_break,
    a_call_ends_a_running_wrap_up,
    disabling_during_a_call_ends_it,
    a_call_and_a_break_racing_make_one_of_them,
    the_stream_carries_calls_with_the_agents_entry,
}

// Its metrics are read per account, which the server gives only with METRICS_ACCOUNT_LABELS.
on_both_databases_with_own_config! {
    racing_call_starts_make_one_call,
}

fn body(call_id: &str, number: &str) -> Value {
    json!({"callId": call_id, "cNumber": number})
}

/// Agent 7's roster entry, which must show it in `state`.
async fn state_is(app: &TestApp, token: &str, state: &str) -> Value {
    let entry = app.roster_entry(token, "7").await;
    assert_eq!(entry["state"], state, "{entry}");
    entry
}

/// Agent 7's history, which must hold events of these kinds, in this order.
async fn history_is(app: &TestApp, token: &str, want: &[&str]) -> Vec<Value> {
    let events = app.history(token, "7").await;
    assert_eq!(kinds(&events), want, "{events:?}");
    events
}

/// A call start at `path` (`call_path`, with its query) that must be refused with this
/// (HTTP status, code).
async fn refused_start(app: &TestApp, token: &str, path: &str, body: Value, want: (u16, u16)) {
    app.v1_err(Method::POST, path, token, Some(body), want)
        .await;
}

async fn a_call_puts_the_agent_on_call_and_its_end_into_wrap_up_by_policy(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let call = app
        .start_call(&f.token, "7", body("c-1", "+15550100"))
        .await;
    assert_eq!(call["callId"], "c-1");
    assert_eq!(call["cNumber"], "+15550100");
    assert_eq!(call["direction"], "inbound", "the default");
    assert!(near_now(&call["startedAt"]), "{call}");
    assert_eq!(call["endedAt"], Value::Null);
    assert_eq!(call["how"], Value::Null);
    let started = call["startedAt"].as_i64().unwrap();

    let entry = state_is(&app, &f.token, "on_call").await;
    assert_eq!(entry["stateSince"], started);
    assert_eq!(entry["call"]["callId"], "c-1");
    assert_eq!(entry["call"]["cNumber"], "+15550100");
    assert_eq!(entry["call"]["direction"], "inbound");
    assert_eq!(entry["call"]["since"], started);
    assert!(entry["call"]["elapsed"].as_i64().unwrap() <= 2, "{entry}");
    // The upstream routes answer as before: not on break, not in wrap-up.
    expect(&app, "wrapUp", f.by_ssid(), envelope_of(1504).unwrap()).await;

    // The call ends: wrap-up by the account's policy (timed, 60 s), with the call's id and number.
    let ended = app.end_call(&f.token, "7", "").await;
    assert_eq!(ended["callId"], "c-1");
    assert_eq!(ended["how"], "completed");
    assert!(near_now(&ended["endedAt"]), "{ended}");
    let wrap = &ended["wrapUp"];
    assert_eq!(wrap["callId"], "c-1");
    assert_eq!(wrap["cNumber"], "+15550100");
    assert_eq!(wrap["mode"], "timed");
    assert_eq!(wrap["wrapETime"], wrap["startedAt"].as_i64().unwrap() + 60);
    let data = app.call_ok("wrapUp", f.by_ssid()).await;
    assert_eq!(data["response"], 1);
    assert_eq!(data["callId"], "c-1");
    assert_eq!(data["cNumber"], "+15550100");
    let entry = state_is(&app, &f.token, "wrap_up").await;
    assert_eq!(entry["call"], Value::Null);

    let token = app.token_actor(&f.token).await;
    let want = ["login", "call.start", "call.end", "wrap.start"];
    let events = history_is(&app, &f.token, &want).await;
    let start = &events[1];
    assert_eq!(start["actor"], token);
    assert_eq!(start["at"], started);
    assert_eq!(
        start["details"],
        json!({"callId": "c-1", "cNumber": "+15550100", "direction": "inbound"})
    );
    let end = &events[2];
    assert_eq!(end["details"]["callId"], "c-1");
    assert_eq!(end["details"]["how"], "completed");
    assert_eq!(end["details"]["duration"], ended["duration"]);
    assert_eq!(end["at"], ended["endedAt"]);
    assert_eq!(events[3]["details"]["callId"], "c-1");

    // The agent's own override wins: a forced wrap-up of 20 s after an outbound call.
    app.v1_ok(Method::DELETE, "/v1/agents/7/wrap-up", &f.token, None, 200)
        .await;
    patch_agent(&app, &f, json!({"wrapSeconds": 20, "wrapMode": "forced"})).await;
    let body = json!({"callId": "c-2", "cNumber": "+1", "direction": "outbound"});
    let call = app.start_call(&f.token, "7", body).await;
    assert_eq!(call["direction"], "outbound");
    let ended = app.end_call(&f.token, "7", "outcome=completed").await;
    let wrap = &ended["wrapUp"];
    assert_eq!(wrap["mode"], "forced");
    assert_eq!(wrap["wrapETime"], wrap["startedAt"].as_i64().unwrap() + 20);
}

async fn a_zero_second_policy_goes_straight_back_to_available(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    patch_account(&app, &f.token, json!({"wrapSeconds": 0})).await;
    app.start_call(&f.token, "7", body("z-1", "+2")).await;
    let ended = app.end_call(&f.token, "7", "").await;
    assert_eq!(ended["how"], "completed");
    assert_eq!(ended["wrapUp"], Value::Null);
    state_is(&app, &f.token, "available").await;
    let events = app.history(&f.token, "7").await;
    assert!(of_kind(&events, "wrap.start").is_empty(), "{events:?}");
    assert_eq!(of_kind(&events, "call.end").len(), 1);
    // An untimed policy has no length: its wrap-up always follows.
    patch_account(&app, &f.token, json!({"wrapMode": "untimed"})).await;
    app.start_call(&f.token, "7", body("z-2", "+2")).await;
    let ended = app.end_call(&f.token, "7", "").await;
    assert_eq!(ended["wrapUp"]["mode"], "untimed");
    assert_eq!(ended["wrapUp"]["wrapETime"], Value::Null);
}

async fn a_missed_call_has_no_wrap_up(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    app.start_call(&f.token, "7", body("m-1", "+3")).await;
    let ended = app.end_call(&f.token, "7", "outcome=missed").await;
    assert_eq!(ended["how"], "missed");
    assert_eq!(ended["callId"], "m-1");
    assert_eq!(ended["wrapUp"], Value::Null);
    state_is(&app, &f.token, "available").await;
    let events = app.history(&f.token, "7").await;
    let ends = of_kind(&events, "call.end");
    assert_eq!(ends.len(), 1);
    assert_eq!(ends[0]["details"]["how"], "missed");
    assert!(of_kind(&events, "wrap.start").is_empty(), "{events:?}");
    // It leaves the agent a tag to call the customer back, recorded with the call's end.
    let tags = app.fetch_tags(f.by_ssid()).await["tags"].clone();
    assert_eq!(tags.as_array().map(Vec::len), Some(1), "{tags}");
    assert_eq!(tags[0]["title"], "Missed call");
    assert_eq!(tags[0]["icon"], "missed_call");
    let callback = json!({"type": "callback", "callId": "m-1", "cNumber": "+3"});
    assert_eq!(tags[0]["action"], callback);
    let created = of_kind(&events, "tag.create");
    assert_eq!(created.len(), 1, "{events:?}");
    assert_eq!(created[0]["at"], ends[0]["at"]);
    assert_eq!(created[0]["details"]["tag"], tags[0]["id"]);
}

async fn calls_are_refused_when_they_conflict(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let path = call_path("7", "");
    let post = |body: Value| (Method::POST, path.as_str(), Some(body));
    // Not on a call: nothing to end.
    app.v1_err(Method::DELETE, &path, &f.token, None, (409, 1519))
        .await;
    // Bad input.
    app.v1_errs(&f.token, vec![post(json!({"cNumber": "+1"}))], (422, 1505))
        .await;
    let dropped = call_path("7", "outcome=dropped");
    let maybe = call_path("7", "force=maybe");
    let bad = vec![
        post(json!({"callId": "x", "direction": "sideways"})),
        (Method::DELETE, dropped.as_str(), None),
        (Method::POST, maybe.as_str(), Some(body("x", ""))),
    ];
    app.v1_errs(&f.token, bad, (422, 1001)).await;
    // A second call.
    app.start_call(&f.token, "7", body("r-1", "+4")).await;
    app.v1_errs(&f.token, vec![post(body("r-2", "+5"))], (409, 1518))
        .await;
    let disabled = call_path("7", "outcome=disabled");
    app.v1_err(Method::DELETE, &disabled, &f.token, None, (422, 1000))
        .await;
    let entry = app.roster_entry(&f.token, "7").await;
    assert_eq!(entry["call"]["callId"], "r-1", "{entry}");
    app.end_call(&f.token, "7", "").await;
    app.v1_err(Method::DELETE, &path, &f.token, None, (409, 1519))
        .await;

    // No live session: never logged in, or logged out.
    app.create_agent(&f.token, json!({"agentId": "8"})).await;
    let path8 = call_path("8", "");
    refused_start(&app, &f.token, &path8, body("n-1", ""), (409, 1520)).await;
    app.login(&f.token, "8").await;
    let sessions = "/v1/agents/8/sessions";
    app.v1_ok(Method::DELETE, sessions, &f.token, None, 200)
        .await;
    refused_start(&app, &f.token, &path8, body("n-2", ""), (409, 1520)).await;
    // A disabled agent.
    app.v1_ok(Method::POST, "/v1/agents/8/disable", &f.token, None, 200)
        .await;
    refused_start(&app, &f.token, &path8, body("n-3", ""), (409, 1510)).await;
    // A read token may not.
    let read = app.create_token(&f.token, json!({"scope": "read"})).await;
    let read = read["token"].as_str().unwrap();
    let both = vec![post(body("s-1", "")), (Method::DELETE, path.as_str(), None)];
    app.v1_errs(read, both, (403, 1516)).await;
    let events = app.history(&f.token, "8").await;
    assert!(of_kind(&events, "call.start").is_empty(), "{events:?}");
}

async fn a_break_or_wrap_up_cannot_start_during_a_call(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    app.start_call(&f.token, "7", body("b-1", "+6")).await;
    let on_call = envelope_of(1517).unwrap();
    let lunch = with(f.by_ssid(), json!({"reason": "lunch"}));
    expect(&app, "startBreak", lunch, on_call).await;
    let (reason, wrap) = (json!({"reason": "lunch"}), body("b-1", "+6"));
    let starts = vec![
        (Method::POST, "/v1/agents/7/break", Some(reason)),
        (Method::POST, "/v1/agents/7/wrap-up", Some(wrap)),
    ];
    app.v1_errs(&f.token, starts, (409, 1517)).await;
    let entry = state_is(&app, &f.token, "on_call").await;
    assert_eq!(entry["break"], Value::Null);
    let events = app.history(&f.token, "7").await;
    assert!(of_kind(&events, "break.start").is_empty(), "{events:?}");
}

async fn a_call_during_a_break_needs_force_which_ends_the_break(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let lunch = json!({"reason": "lunch"});
    let break_path = "/v1/agents/7/break";
    app.v1_ok(Method::POST, break_path, &f.token, Some(lunch), 201)
        .await;
    for query in ["", "force=false"] {
        let path = call_path("7", query);
        refused_start(&app, &f.token, &path, body("f-1", "+7"), (409, 1507)).await;
    }
    expect_on_break(&app, &f.by_ssid()).await;

    let path = call_path("7", "force=true");
    let call = app
        .v1_ok(Method::POST, &path, &f.token, Some(body("f-1", "+7")), 201)
        .await;
    assert_eq!(call["callId"], "f-1");
    let not_on_break = envelope_of(1502).unwrap();
    expect(&app, "agentOnBreak", f.by_ssid(), not_on_break).await;
    let entry = state_is(&app, &f.token, "on_call").await;
    assert_eq!(entry["break"], Value::Null);
    let token = app.token_actor(&f.token).await;
    let want = ["login", "break.start", "break.end", "call.start"];
    let events = history_is(&app, &f.token, &want).await;
    assert_eq!(events[2]["actor"], token);
    assert_eq!(events[2]["details"]["reasonCode"], "lunch");
    assert_eq!(events[2]["at"], call["startedAt"]);
    // Forcing without a break is a plain start.
    app.end_call(&f.token, "7", "outcome=missed").await;
    app.v1_ok(Method::POST, &path, &f.token, Some(body("f-2", "+7")), 201)
        .await;
}

/// The agent is on break, as the upstream route answers.
async fn expect_on_break(app: &TestApp, by_ssid: &Value) {
    let data = app.call_ok("agentOnBreak", by_ssid.clone()).await;
    assert_eq!(data["on_break"], 1, "{data}");
}

async fn a_call_ends_a_running_wrap_up(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    patch_account(&app, &f.token, json!({"wrapMode": "forced"})).await;
    start_wrap(&app, &f, body("w-1", "+8")).await;
    app.start_call(&f.token, "7", body("w-2", "+9")).await;
    expect(&app, "wrapUp", f.by_ssid(), envelope_of(1504).unwrap()).await;
    let events = app.history(&f.token, "7").await;
    let ends = of_kind(&events, "wrap.end");
    assert_eq!(ends.len(), 1, "{events:?}");
    assert_eq!(ends[0]["details"]["callId"], "w-1");
    // Its end starts the next wrap-up.
    let ended = app.end_call(&f.token, "7", "").await;
    assert_eq!(ended["wrapUp"]["callId"], "w-2");
    let data = app.call_ok("wrapUp", f.by_ssid()).await;
    assert_eq!(data["callId"], "w-2");
}

async fn disabling_during_a_call_ends_it(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    app.start_call(&f.token, "7", body("d-1", "+10")).await;
    app.v1_ok(Method::POST, "/v1/agents/7/disable", &f.token, None, 200)
        .await;
    let entry = state_is(&app, &f.token, "disabled").await;
    assert_eq!(entry["call"], Value::Null);
    let events = app.history(&f.token, "7").await;
    let ends = of_kind(&events, "call.end");
    assert_eq!(ends.len(), 1, "{events:?}");
    assert_eq!(ends[0]["details"]["how"], "disabled");
    assert_eq!(ends[0]["details"]["callId"], "d-1");
    assert!(of_kind(&events, "wrap.start").is_empty(), "{events:?}");
    // Enabled and logged in again: no call is open.
    app.v1_ok(Method::POST, "/v1/agents/7/enable", &f.token, None, 200)
        .await;
    let path = call_path("7", "");
    app.v1_err(Method::DELETE, &path, &f.token, None, (409, 1519))
        .await;
    app.login(&f.token, "7").await;
    app.start_call(&f.token, "7", body("d-2", "+10")).await;
}

async fn racing_call_starts_make_one_call(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| c.metrics_account_labels = true).await else {
        return;
    };
    let f = app.fixture("acme", "7").await;
    let path = call_path("7", "");
    let calls = (0..20)
        .map(|i| {
            (
                Method::POST,
                path.clone(),
                Some(body(&format!("c-{i}"), "+1")),
            )
        })
        .collect();
    let outcomes = app.v1_race(&f.token, calls).await;
    let won = outcomes.iter().filter(|o| **o == (201, 0)).count();
    let refused = outcomes.iter().filter(|o| **o == (409, 1518)).count();
    assert_eq!((won, refused), (1, 19), "{outcomes:?}");
    let events = app.history(&f.token, "7").await;
    assert_eq!(of_kind(&events, "call.start").len(), 1);
    state_is(&app, &f.token, "on_call").await;
    let (status, metrics) = app.get("/metrics").await;
    assert_eq!(status, 200);
    for line in [
        r#"agentprofile_agents_on_call{account="acme"} 1"#,
        "agentprofile_agents_on_call_all_accounts 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line}");
    }
}

async fn a_call_and_a_break_racing_make_one_of_them(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    for round in 0..5 {
        let calls = vec![
            (
                Method::POST,
                call_path("7", ""),
                Some(body(&format!("k-{round}"), "")),
            ),
            (
                Method::POST,
                "/v1/agents/7/break".to_owned(),
                Some(json!({"reason": "lunch"})),
            ),
        ];
        let outcomes = app.v1_race(&f.token, calls).await;
        let entry = app.roster_entry(&f.token, "7").await;
        match outcomes.as_slice() {
            [(201, 0), (409, 1517)] => assert_eq!(entry["state"], "on_call", "{entry}"),
            [(409, 1507), (201, 0)] => assert_eq!(entry["state"], "on_break", "{entry}"),
            other => panic!("exactly one wins: {other:?}"),
        }
        let events = app.history(&f.token, "7").await;
        let calls = of_kind(&events, "call.start").len();
        let breaks = of_kind(&events, "break.start").len();
        assert_eq!(calls + breaks, round + 1, "{events:?}");
        // Back to available for the next round.
        match entry["state"].as_str() {
            Some("on_call") => drop(app.end_call(&f.token, "7", "outcome=missed").await),
            _ => drop(
                app.v1_ok(Method::DELETE, "/v1/agents/7/break", &f.token, None, 200)
                    .await,
            ),
        }
    }
}

async fn the_stream_carries_calls_with_the_agents_entry(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let mut stream = Stream::open(&app.base, "", Some(&f.token), None).await;
    let call = app.start_call(&f.token, "7", body("s-1", "+11")).await;
    let (_, event) = stream.next().await.unwrap();
    assert_eq!(event["kind"], "call.start");
    assert_eq!(event["details"]["callId"], "s-1");
    assert_eq!(event["agent"]["state"], "on_call");
    assert_eq!(event["agent"]["call"]["cNumber"], "+11");
    assert_eq!(event["agent"]["call"]["since"], call["startedAt"]);
    app.end_call(&f.token, "7", "").await;
    let events = stream.take(2).await;
    assert_eq!(events[0].1["kind"], "call.end");
    assert_eq!(events[0].1["details"]["how"], "completed");
    assert_eq!(events[1].1["kind"], "wrap.start");
    assert_eq!(events[1].1["agent"]["state"], "wrap_up");
    assert_eq!(events[1].1["agent"]["call"], Value::Null);
    assert!(stream.quiet_for(Duration::from_millis(300)).await);
}
