//! The wrap-up policy: timed, forced and untimed wrap-ups, overrides, expiry, `endWrapUp`.

use crate::support::{CANNOT_END_EARLY, Fixture, NOT_IN_WRAP_UP, TestApp, code, expect, near_now};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

use super::*;

on_both_databases! {
    timed_wrap_up_uses_the_account_default_and_may_end_early,
    forced_wrap_up_cannot_be_ended_by_the_agent_but_by_a_supervisor,
    agent_override_wins_and_null_restores_the_account_policy,
    untimed_wrap_up_has_no_end_time_and_lasts_until_ended,
    explicit_seconds_set_the_length_of_one_wrap_up,
    expired_timed_wrap_up_is_over_and_recorded_by_the_system, expired_forced_wrap_up_is_over_too,
    a_second_wrap_up_is_1511,
}

// ---------------------------------------------------------------- wrap-up policy

async fn timed_wrap_up_uses_the_account_default_and_may_end_early(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let account = app.v1_get("/v1/account", &f.token).await;
    assert_eq!(account["wrapSeconds"], 60);
    assert_eq!(account["wrapMode"], "timed");

    let body = json!({"callId": "call-1", "cNumber": "+15550100"});
    let wrap = start_wrap(&app, &f, body).await;
    assert_eq!(wrap["callId"], "call-1");
    assert_eq!(wrap["cNumber"], "+15550100");
    assert_eq!(wrap["mode"], "timed");
    assert!(near_now(&wrap["startedAt"]), "{wrap}");
    let started = wrap["startedAt"].as_i64().unwrap();
    assert_eq!(wrap["wrapETime"], started + 60);
    assert_eq!(wrap["endedAt"], Value::Null);

    let answer = app.call("wrapUp", f.by_ssid()).await;
    let data = &answer["data"];
    assert_eq!(data["response"], 1, "{answer}");
    assert_eq!(data["wrapETime"], started + 60);
    let left = data["currentDuration"].as_i64().unwrap();
    assert!((58..=60).contains(&left), "{left}");
    assert_eq!(data["callId"], "call-1");
    assert_eq!(data["cNumber"], "+15550100");

    let entry = app.roster_entry(&f.token, "7").await;
    assert_eq!(entry["state"], "wrap_up", "{entry}");
    assert_eq!(entry["wrapUp"]["mode"], "timed");
    assert_eq!(entry["wrapUp"]["since"], started);
    assert_eq!(entry["wrapUp"]["wrapETime"], started + 60);
    assert_eq!(entry["wrapUp"]["callId"], "call-1");
    assert_eq!(entry["wrapUp"]["cNumber"], "+15550100");

    // The agent ends it early.
    let data = app.call_ok("endWrapUp", f.by_ssid()).await;
    assert_eq!(data["response"], 0);
    assert_eq!(data["callId"], "call-1");
    assert_eq!(data["cNumber"], "+15550100");
    assert!(
        (0..=1).contains(&data["duration"].as_i64().unwrap()),
        "{data}"
    );
    expect(&app, "wrapUp", f.by_ssid(), &NOT_IN_WRAP_UP).await;
    let entry = app.roster_entry(&f.token, "7").await;
    assert_eq!(entry["state"], "available", "{entry}");
    assert_eq!(entry["wrapUp"], Value::Null);

    let session = app.session_actor(&f.ssid).await;
    let token = app.token_actor(&f.token).await;
    let events = app.history(&f.token, "7").await;
    let start = of_kind(&events, "wrap.start");
    let end = of_kind(&events, "wrap.end");
    assert_eq!((start.len(), end.len()), (1, 1), "{events:?}");
    assert_eq!(start[0]["actor"], token);
    assert_eq!(start[0]["at"], started);
    assert_eq!(start[0]["details"]["callId"], "call-1");
    assert_eq!(start[0]["details"]["mode"], "timed");
    assert_eq!(start[0]["details"]["endsAt"], started + 60);
    assert_eq!(end[0]["actor"], session);
    assert_eq!(end[0]["details"]["how"], "ended");
    assert_eq!(end[0]["details"]["callId"], "call-1");
}

async fn forced_wrap_up_cannot_be_ended_by_the_agent_but_by_a_supervisor(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let policy = json!({"wrapSeconds": 45, "wrapMode": "forced"});
    let account = patch_account(&app, &f.token, policy).await;
    assert_eq!(account["wrapSeconds"], 45);
    assert_eq!(account["wrapMode"], "forced");
    assert_eq!(account["userId"], "acme");

    let wrap = start_wrap(&app, &f, json!({"callId": "call-9", "cNumber": "+1"})).await;
    assert_eq!(wrap["mode"], "forced");
    let started = wrap["startedAt"].as_i64().unwrap();
    assert_eq!(wrap["wrapETime"], started + 45);
    expect(&app, "endWrapUp", f.by_ssid(), &CANNOT_END_EARLY).await;
    expect(&app, "endWrapUp", f.by_token(), &CANNOT_END_EARLY).await;
    let answer = app.call("wrapUp", f.by_ssid()).await;
    assert_eq!(answer["data"]["response"], 1, "still in wrap-up: {answer}");
    assert_eq!(answer["data"]["wrapETime"], started + 45);

    // The supervisor may.
    let data = app
        .v1_ok(Method::DELETE, "/v1/agents/7/wrap-up", &f.token, None, 200)
        .await;
    assert_eq!(data["callId"], "call-9");
    assert_eq!(data["mode"], "forced");
    assert!(near_now(&data["endedAt"]), "{data}");
    expect(&app, "wrapUp", f.by_ssid(), &NOT_IN_WRAP_UP).await;
    let (status, answer) = app
        .v1(Method::DELETE, "/v1/agents/7/wrap-up", &f.token, None)
        .await;
    assert_eq!((status, code(&answer)), (409, 1504), "{answer}");

    let token = app.token_actor(&f.token).await;
    let events = app.history(&f.token, "7").await;
    let ends = of_kind(&events, "wrap.end");
    assert_eq!(ends.len(), 1, "{events:?}");
    assert_eq!(ends[0]["actor"], token);
    assert_eq!(ends[0]["details"]["how"], "ended");
    assert_eq!(ends[0]["at"], data["endedAt"]);
}

async fn agent_override_wins_and_null_restores_the_account_policy(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let path = "/v1/agents/7";
    let agent = app.v1_get(path, &f.token).await;
    assert_eq!(agent["wrapSeconds"], Value::Null);
    assert_eq!(agent["wrapMode"], Value::Null);
    assert_eq!(
        agent["effectiveWrap"],
        json!({"seconds": 60, "mode": "timed"})
    );

    // Override both.
    let agent = patch_agent(&app, &f, json!({"wrapSeconds": 10, "wrapMode": "forced"})).await;
    assert_eq!(agent["wrapSeconds"], 10);
    assert_eq!(agent["wrapMode"], "forced");
    assert_eq!(
        agent["effectiveWrap"],
        json!({"seconds": 10, "mode": "forced"})
    );
    // The account's policy changes; the override still wins.
    let policy = json!({"wrapSeconds": 120, "wrapMode": "untimed"});
    patch_account(&app, &f.token, policy).await;
    let wrap = start_wrap(&app, &f, json!({"callId": "a", "cNumber": ""})).await;
    assert_eq!(wrap["mode"], "forced");
    assert_eq!(wrap["wrapETime"], wrap["startedAt"].as_i64().unwrap() + 10);
    expect(&app, "endWrapUp", f.by_ssid(), &CANNOT_END_EARLY).await;
    app.v1_ok(Method::DELETE, "/v1/agents/7/wrap-up", &f.token, None, 200)
        .await;

    // Clear only the mode: the account's mode with the agent's seconds.
    let agent = patch_agent(&app, &f, json!({"wrapMode": null})).await;
    assert_eq!(agent["wrapSeconds"], 10);
    assert_eq!(agent["wrapMode"], Value::Null);
    assert_eq!(
        agent["effectiveWrap"],
        json!({"seconds": 10, "mode": "untimed"})
    );
    // Changing the mode to timed at the account level is seen at once.
    patch_account(&app, &f.token, json!({"wrapMode": "timed"})).await;
    let agent = app.v1_get(path, &f.token).await;
    assert_eq!(
        agent["effectiveWrap"],
        json!({"seconds": 10, "mode": "timed"})
    );

    // Clear the seconds too: the account's policy in full.
    let agent = patch_agent(&app, &f, json!({"wrapSeconds": null})).await;
    assert_eq!(agent["wrapSeconds"], Value::Null);
    assert_eq!(
        agent["effectiveWrap"],
        json!({"seconds": 120, "mode": "timed"})
    );
    let wrap = start_wrap(&app, &f, json!({"callId": "b", "cNumber": ""})).await;
    assert_eq!(wrap["mode"], "timed");
    assert_eq!(wrap["wrapETime"], wrap["startedAt"].as_i64().unwrap() + 120);
    let answer = app.call("endWrapUp", f.by_ssid()).await;
    assert_eq!(code(&answer), 0, "timed: the agent may end it: {answer}");

    // A patch without wrap fields keeps the overrides.
    patch_agent(&app, &f, json!({"wrapSeconds": 5})).await;
    let agent = patch_agent(&app, &f, json!({"name": "Ann"})).await;
    assert_eq!(agent["name"], "Ann");
    assert_eq!(agent["wrapSeconds"], 5);
    assert_eq!(
        agent["effectiveWrap"],
        json!({"seconds": 5, "mode": "timed"})
    );
}

async fn untimed_wrap_up_has_no_end_time_and_lasts_until_ended(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    patch_agent(&app, &f, json!({"wrapMode": "untimed"})).await;
    // An explicit length does not make an untimed wrap-up timed.
    let body = json!({"callId": "u-1", "cNumber": "+2", "seconds": 1});
    let wrap = start_wrap(&app, &f, body).await;
    assert_eq!(wrap["mode"], "untimed");
    assert_eq!(wrap["wrapETime"], Value::Null);

    tokio::time::sleep(Duration::from_millis(2100)).await;
    for route in ["wrapUp", "checkAgentInWrapUp"] {
        assert_eq!(
            app.call_ok(route, f.by_ssid()).await,
            json!({"response": 1, "wrapETime": null, "currentDuration": null,
                   "callId": "u-1", "cNumber": "+2"})
        );
    }
    let entry = app.roster_entry(&f.token, "7").await;
    assert_eq!(entry["state"], "wrap_up", "{entry}");
    assert_eq!(entry["wrapUp"]["mode"], "untimed");
    assert_eq!(entry["wrapUp"]["wrapETime"], Value::Null);
    assert_eq!(entry["wrapUp"]["remaining"], Value::Null);

    let data = app.call_ok("endWrapUp", f.by_ssid()).await;
    assert!(data["duration"].as_i64().unwrap() >= 2, "{data}");
    expect(&app, "wrapUp", f.by_ssid(), &NOT_IN_WRAP_UP).await;
    let events = app.history(&f.token, "7").await;
    let ends = of_kind(&events, "wrap.end");
    assert_eq!(ends.len(), 1);
    assert_eq!(ends[0]["details"]["how"], "ended");
}

async fn explicit_seconds_set_the_length_of_one_wrap_up(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let body = json!({"callId": "s-1", "cNumber": "+3", "seconds": 5});
    let wrap = start_wrap(&app, &f, body).await;
    assert_eq!(wrap["mode"], "timed");
    assert_eq!(wrap["wrapETime"], wrap["startedAt"].as_i64().unwrap() + 5);
    let answer = app.call("wrapUp", f.by_token()).await;
    let left = answer["data"]["currentDuration"].as_i64().unwrap();
    assert!((3..=5).contains(&left), "{answer}");
    app.call("endWrapUp", f.by_ssid()).await;
    // The next one is back to the policy's length.
    let wrap = start_wrap(&app, &f, json!({"callId": "s-2", "cNumber": "+3"})).await;
    assert_eq!(wrap["wrapETime"], wrap["startedAt"].as_i64().unwrap() + 60);
}

/// Starts a one-second wrap-up, lets it run out, and checks it is over everywhere and
/// recorded once by the system at its own end time.
async fn check_expiry(app: &TestApp, f: &Fixture, mode: &str) {
    let body = json!({"callId": "exp-1", "cNumber": "+4", "seconds": 1});
    let wrap = start_wrap(app, f, body).await;
    assert_eq!(wrap["mode"], mode);
    let ends_at = wrap["wrapETime"].as_i64().unwrap();
    assert_eq!(ends_at, wrap["startedAt"].as_i64().unwrap() + 1);

    tokio::time::sleep(Duration::from_millis(2100)).await;

    // Over, though nothing closed it: the upstream routes and the roster see it so.
    for route in ["wrapUp", "checkAgentInWrapUp", "endWrapUp"] {
        expect(app, route, f.by_ssid(), &NOT_IN_WRAP_UP).await;
    }
    let entry = app.roster_entry(&f.token, &f.agent_id).await;
    assert_eq!(entry["state"], "available", "{entry}");
    assert_eq!(entry["wrapUp"], Value::Null, "{entry}");
    let path = format!("/v1/agents/{}/wrap-up", f.agent_id);
    let (status, answer) = app.v1(Method::DELETE, &path, &f.token, None).await;
    assert_eq!((status, code(&answer)), (409, 1504), "{answer}");

    // The history: one wrap.end by the system, at its wrapETime, read twice.
    for _ in 0..2 {
        let events = app.history(&f.token, &f.agent_id).await;
        let ends = of_kind(&events, "wrap.end");
        assert_eq!(ends.len(), 1, "{events:?}");
        assert_eq!(ends[0]["actor"], "system");
        assert_eq!(ends[0]["at"], ends_at);
        assert_eq!(ends[0]["details"]["how"], "expired");
        assert_eq!(ends[0]["details"]["callId"], "exp-1");
        assert_eq!(ends[0]["agentId"], f.agent_id.as_str());
    }
    // And in the account's history.
    let data = app.v1_get("/v1/events?limit=500", &f.token).await;
    let all = data["items"].as_array().unwrap();
    assert_eq!(of_kind(all, "wrap.end").len(), 1);

    // A new wrap-up may start.
    let wrap = start_wrap(app, f, json!({"callId": "exp-2", "cNumber": "+4"})).await;
    assert_eq!(wrap["callId"], "exp-2");
    let events = app.history(&f.token, &f.agent_id).await;
    let mut wraps = kinds(&events);
    wraps.retain(|k| k.starts_with("wrap."));
    assert_eq!(wraps, vec!["wrap.start", "wrap.end", "wrap.start"]);
}

async fn expired_timed_wrap_up_is_over_and_recorded_by_the_system(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    check_expiry(&app, &f, "timed").await;
}

async fn expired_forced_wrap_up_is_over_too(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    patch_account(&app, &f.token, json!({"wrapMode": "forced"})).await;
    check_expiry(&app, &f, "forced").await;
}

async fn a_second_wrap_up_is_1511(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let first = start_wrap(&app, &f, json!({"callId": "w-1", "cNumber": "+5"})).await;
    let path = "/v1/agents/7/wrap-up";
    let body = json!({"callId": "w-2", "cNumber": "+6"});
    app.v1_err(Method::POST, path, &f.token, Some(body), (409, 1511))
        .await;
    let answer = app.call("wrapUp", f.by_ssid()).await;
    assert_eq!(answer["data"]["callId"], "w-1");
    assert_eq!(answer["data"]["wrapETime"], first["wrapETime"]);
    let events = app.history(&f.token, "7").await;
    assert_eq!(of_kind(&events, "wrap.start").len(), 1);
}
