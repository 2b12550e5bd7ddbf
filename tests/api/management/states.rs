//! `/v1`: sessions, breaks and wrap-ups driven by the backend, break reasons, disable, the roster.

use crate::support::now_unix;
use reqwest::Method;
use serde_json::{Value, json};

use super::*;
use crate::support::{TestApp, near_now, sql_exec};

on_both_databases! {
    sessions_log_in_and_out, breaks_through_v1, wrap_ups_through_v1_refuse_bad_input,
    break_reasons_are_created_and_patched, disable_logs_out_and_ends_break_and_wrap_up,
    roster_shows_every_agent_state, the_roster_says_since_when_each_state_holds,
}

// ---------------------------------------------------------------- sessions, breaks, wrap-ups

async fn sessions_log_in_and_out(app: TestApp) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7"})).await;
    let data = app
        .v1_ok(Method::POST, "/v1/agents/7/sessions", &token, None, 201)
        .await;
    let mut keys: Vec<&String> = data.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, vec!["expiresAt", "ssid"]);
    let ssid = data["ssid"].as_str().unwrap().to_owned();
    assert_eq!(ssid.len(), 64);
    let expires = data["expiresAt"].as_i64().unwrap();
    assert!((expires - now_unix() - 43200).abs() <= 2, "{data}");

    // The ssid works upstream.
    let c = app.call_code("agentOnBreak", json!({ "ssid": ssid })).await;
    assert_eq!(c, 1502);
    let ping = json!({"ssid": ssid, "mic_perm": "granted"});
    app.call_ok("setWebPingTime", ping).await;
    let entry = &app.roster(&token).await[0];
    assert_eq!(entry["state"], "available");
    assert_eq!(entry["loggedIn"], true);

    // One session out by its ssid.
    let logout = "/v1/sessions/logout";
    let body = Some(json!({ "ssid": ssid }));
    let data = app.v1_ok(Method::POST, logout, &token, body, 200).await;
    assert_eq!(data, json!({"loggedOut": 1}));
    for (body, want) in [
        (json!({ "ssid": ssid }), (404, 1512)),
        (json!({"ssid": "never-issued"}), (404, 1512)),
        (json!({}), (422, 1505)),
        (json!({"ssid": 5}), (422, 1001)),
    ] {
        app.v1_err(Method::POST, logout, &token, Some(body), want)
            .await;
    }
    let steps = [
        ("agentOnBreak", json!({ "ssid": ssid }), 1000),
        ("setWebPingTime", json!({"ssid": ssid, "mic_perm": 1}), 1503),
    ];
    upstream_steps(&app, &steps).await;
    let entry = &app.roster(&token).await[0];
    assert_eq!(entry["state"], "offline");
    assert_eq!(entry["loggedIn"], false);

    // All sessions out at once.
    let s1 = app.login(&token, "7").await;
    let s2 = app.login(&token, "7").await;
    assert_ne!(s1, s2);
    let path = "/v1/agents/7/sessions";
    let data = app.v1_ok(Method::DELETE, path, &token, None, 200).await;
    assert_eq!(data, json!({"loggedOut": 2}));
    let data = app.v1_ok(Method::DELETE, path, &token, None, 200).await;
    assert_eq!(data, json!({"loggedOut": 0}));
    for s in [&s1, &s2] {
        let c = app.call_code("agentOnBreak", json!({ "ssid": s })).await;
        assert_eq!(c, 1000);
    }
    let token_actor = app.token_actor(&token).await;
    let events = app.history(&token, "7").await;
    let session = app.session_pk(&ssid).await;
    let want: Vec<(String, String)> = [
        ("login", token_actor.clone()),
        ("mic.change", format!("session:{session}")),
        ("logout", token_actor.clone()),
        ("login", token_actor.clone()),
        ("login", token_actor.clone()),
        ("logout", token_actor.clone()),
    ]
    .into_iter()
    .map(|(k, a)| (k.to_owned(), a))
    .collect();
    assert_eq!(kinds_and_actors(&events), want);
    assert_eq!(events[0]["details"]["session"], session);
    assert_eq!(events[0]["details"]["expiresAt"], expires);
    assert_eq!(events[2]["details"]["session"], session);
    assert_eq!(events[5]["details"]["sessions"], 2);
}

async fn breaks_through_v1(app: TestApp) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7"})).await;
    let ssid = app.login(&token, "7").await;
    let path = "/v1/agents/7/break";
    for (body, want) in [
        (None, 1505),
        (Some(json!({"reason": " "})), 1505),
        (Some(json!({"reason": 3})), 1001),
        (Some(json!({"reason": "nap"})), 1508),
    ] {
        app.v1_err(Method::POST, path, &token, body, (422, want))
            .await;
    }
    app.v1_err(Method::DELETE, path, &token, None, (409, 1502))
        .await;

    let body = Some(json!({"reason": "Lunch"}));
    let data = app.v1_ok(Method::POST, path, &token, body, 201).await;
    let started = data["breakSTime"].clone();
    assert!(near_now(&started), "{data}");
    assert_eq!(
        data,
        json!({"reason": "Lunch", "reasonCode": "lunch", "breakSTime": started,
               "currentDuration": 0, "limit": 3600, "overLimit": false})
    );
    let body = Some(json!({"reason": "break"}));
    app.v1_err(Method::POST, path, &token, body, (409, 1507))
        .await;
    let on_break = app.call_ok("agentOnBreak", json!({ "ssid": ssid })).await;
    assert_eq!(on_break["breakDetail"]["breakSTime"], started);

    let data = app.v1_ok(Method::DELETE, path, &token, None, 200).await;
    assert_eq!(data["reasonCode"], "lunch");
    assert_eq!(data["breakSTime"], started);
    app.v1_err(Method::DELETE, path, &token, None, (409, 1502))
        .await;
    let c = app.call_code("agentOnBreak", json!({ "ssid": ssid })).await;
    assert_eq!(c, 1502);

    let actor = app.token_actor(&token).await;
    let events = app.history(&token, "7").await;
    let got = kinds_and_actors(&events);
    let want: Vec<(String, String)> = ["login", "break.start", "break.end"]
        .into_iter()
        .map(|k| (k.to_owned(), actor.clone()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        events[1]["details"],
        json!({"reasonCode": "lunch", "reason": "Lunch", "limit": 3600})
    );
    assert_eq!(events[2]["details"]["reasonCode"], "lunch");
    assert_eq!(events[2]["details"]["overLimit"], false);
}

async fn wrap_ups_through_v1_refuse_bad_input(app: TestApp) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7"})).await;
    let path = "/v1/agents/7/wrap-up";
    for (body, want) in [
        (json!({"cNumber": "1"}), (422, 1505)),
        (json!({"callId": "  ", "cNumber": "1"}), (422, 1505)),
        (json!({"callId": 5, "cNumber": "1"}), (422, 1001)),
        (json!({"callId": "c", "cNumber": 5}), (422, 1001)),
        (json!({"callId": "c", "seconds": -1}), (422, 1000)),
        (json!({"callId": "c", "seconds": "10"}), (422, 1001)),
    ] {
        app.v1_err(Method::POST, path, &token, Some(body), want)
            .await;
    }
    app.v1_err(Method::DELETE, path, &token, None, (409, 1504))
        .await;
    // cNumber may be left out.
    let body = Some(json!({"callId": "c-1"}));
    let data = app.v1_ok(Method::POST, path, &token, body, 201).await;
    assert_eq!(data["cNumber"], "");
    assert_eq!(data["callId"], "c-1");
    let body = Some(json!({"callId": "c-2"}));
    app.v1_err(Method::POST, path, &token, body, (409, 1511))
        .await;
    let data = app.v1_ok(Method::DELETE, path, &token, None, 200).await;
    assert_eq!(data["callId"], "c-1");
    assert!(near_now(&data["endedAt"]), "{data}");
    app.v1_err(Method::DELETE, path, &token, None, (409, 1504))
        .await;
    let events = app.history(&token, "7").await;
    let kinds: Vec<&Value> = events.iter().map(|e| &e["kind"]).collect();
    assert_eq!(kinds, vec!["wrap.start", "wrap.end"]);
}

async fn break_reasons_are_created_and_patched(app: TestApp) {
    let token = app.new_account("acme").await;
    let path = "/v1/break-reasons";
    let body = json!({"code": "coaching", "label": "Coaching", "limitSeconds": 1200});
    let data = app.create_reason(&token, body).await;
    assert_eq!(
        data,
        json!({"code": "coaching", "label": "Coaching", "limitSeconds": 1200, "active": true})
    );
    let data = app
        .create_reason(&token, json!({"code": "nap", "label": "Nap"}))
        .await;
    assert_eq!(data["limitSeconds"], Value::Null);
    for (body, want) in [
        (json!({"code": "coaching", "label": "Again"}), (409, 1513)),
        (json!({"code": "lunch", "label": "Lunch 2"}), (409, 1513)),
        (json!({"label": "No code"}), (422, 1505)),
        (json!({"code": "x"}), (422, 1505)),
        (json!({"code": "x", "label": "  "}), (422, 1505)),
        (
            json!({"code": "x", "label": "X", "limitSeconds": 0}),
            (422, 1000),
        ),
        (
            json!({"code": "x", "label": "X", "limitSeconds": -5}),
            (422, 1000),
        ),
        (
            json!({"code": "x", "label": "X", "limitSeconds": "60"}),
            (422, 1001),
        ),
        (json!({"code": 1, "label": "X"}), (422, 1001)),
    ] {
        app.v1_err(Method::POST, path, &token, Some(body), want)
            .await;
    }
    let list = app.v1_get(path, &token).await;
    let codes: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["code"])
        .collect();
    assert_eq!(
        codes,
        vec![
            "break", "lunch", "personal", "meeting", "training", "coaching", "nap"
        ]
    );

    let one = "/v1/break-reasons/coaching";
    let body = Some(json!({"label": "1:1 coaching"}));
    let data = app.v1_ok(Method::PATCH, one, &token, body, 200).await;
    assert_eq!(
        data,
        json!({"code": "coaching", "label": "1:1 coaching", "limitSeconds": 1200, "active": true})
    );
    let body = Some(json!({"limitSeconds": null}));
    let data = app.v1_ok(Method::PATCH, one, &token, body, 200).await;
    assert_eq!(data["limitSeconds"], Value::Null);
    assert_eq!(data["label"], "1:1 coaching");
    let body = Some(json!({"limitSeconds": 30, "active": false}));
    let data = app.v1_ok(Method::PATCH, one, &token, body, 200).await;
    assert_eq!(
        data,
        json!({"code": "coaching", "label": "1:1 coaching", "limitSeconds": 30, "active": false})
    );
    // An empty patch keeps everything.
    let same = app
        .v1_ok(Method::PATCH, one, &token, Some(json!({})), 200)
        .await;
    assert_eq!(same, data);
    for (body, want) in [
        (json!({"limitSeconds": 0}), 1000),
        (json!({"label": ""}), 1505),
        (json!({"active": "no"}), 1001),
    ] {
        app.v1_err(Method::PATCH, one, &token, Some(body), (422, want))
            .await;
    }
    let missing = "/v1/break-reasons/unknown";
    let body = Some(json!({"label": "X"}));
    app.v1_err(Method::PATCH, missing, &token, body, (404, 1512))
        .await;
    // Another account's reason is not found here.
    let other = app.new_account("globex").await;
    let body = Some(json!({"label": "Mine"}));
    app.v1_err(Method::PATCH, one, &other, body, (404, 1512))
        .await;
    let list = app.v1_get(path, &token).await;
    assert_eq!(list[5], data);
}

async fn disable_logs_out_and_ends_break_and_wrap_up(app: TestApp) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7", "name": "Ann"}))
        .await;
    let s1 = app.login(&token, "7").await;
    let s2 = app.login(&token, "7").await;
    app.call_ok("startBreak", json!({"ssid": s1, "reason": "break"}))
        .await;
    let body = Some(json!({"callId": "c-1", "cNumber": "+1"}));
    app.v1_ok(Method::POST, "/v1/agents/7/wrap-up", &token, body, 201)
        .await;
    let before = app.history(&token, "7").await.len();

    let data = app
        .v1_ok(Method::POST, "/v1/agents/7/disable", &token, None, 200)
        .await;
    assert_eq!(data["disabled"], true);
    assert_eq!(data["agentId"], "7");

    // The old ssids are refused.
    for s in [&s1, &s2] {
        let steps = [
            ("agentOnBreak", json!({ "ssid": s }), 1000),
            ("setWebPingTime", json!({"ssid": s, "mic_perm": 1}), 1503),
            ("startBreak", json!({"ssid": s, "reason": "break"}), 1000),
        ];
        upstream_steps(&app, &steps).await;
    }
    let entry = &app.roster(&token).await[0];
    assert_eq!(entry["state"], "disabled", "{entry}");
    assert_eq!(entry["disabled"], true);
    assert_eq!(entry["loggedIn"], false);
    assert_eq!(entry["break"], Value::Null);
    assert_eq!(entry["wrapUp"], Value::Null);

    // One change, recorded once, all at the same time by the same actor.
    let actor = app.token_actor(&token).await;
    let events = app.history(&token, "7").await;
    let new = &events[before..];
    let got = kinds_and_actors(new);
    let want: Vec<(String, String)> = ["logout", "break.end", "wrap.end", "agent.disabled"]
        .into_iter()
        .map(|k| (k.to_owned(), actor.clone()))
        .collect();
    assert_eq!(got, want);
    assert!(new.iter().all(|e| e["at"] == new[0]["at"]), "{new:?}");
    assert_eq!(new[0]["details"]["sessions"], 2);
    assert_eq!(new[0]["details"]["how"], "disabled");
    assert_eq!(new[1]["details"]["reasonCode"], "break");
    assert_eq!(new[1]["details"]["how"], "disabled");
    assert_eq!(new[2]["details"]["callId"], "c-1");
    assert_eq!(new[2]["details"]["how"], "disabled");

    // A disabled agent cannot be logged in or put on break or in wrap-up.
    let base = "/v1/agents/7";
    for (method, tail, body, want) in [
        (Method::POST, "sessions", None, 1510),
        (
            Method::POST,
            "break",
            Some(json!({"reason": "break"})),
            1510,
        ),
        (
            Method::POST,
            "wrap-up",
            Some(json!({"callId": "c-2"})),
            1510,
        ),
        (Method::DELETE, "break", None, 1502),
        (Method::DELETE, "wrap-up", None, 1504),
    ] {
        let path = format!("{base}/{tail}");
        app.v1_err(method, &path, &token, body, (409, want)).await;
    }
    let data = app
        .v1_ok(
            Method::DELETE,
            &format!("{base}/sessions"),
            &token,
            None,
            200,
        )
        .await;
    assert_eq!(data, json!({"loggedOut": 0}));
    // Disabling again changes and records nothing.
    let data = app
        .v1_ok(Method::POST, &format!("{base}/disable"), &token, None, 200)
        .await;
    assert_eq!(data["disabled"], true);
    assert_eq!(app.history(&token, "7").await.len(), events.len());

    // Enabled: a new login works; the old ssids stay out.
    for _ in 0..2 {
        let data = app
            .v1_ok(Method::POST, &format!("{base}/enable"), &token, None, 200)
            .await;
        assert_eq!(data["disabled"], false);
    }
    let s3 = app.login(&token, "7").await;
    let steps = [
        ("agentOnBreak", json!({ "ssid": s3 }), 1502),
        ("agentOnBreak", json!({ "ssid": s1 }), 1000),
    ];
    upstream_steps(&app, &steps).await;
    let events = app.history(&token, "7").await;
    let tail: Vec<&Value> = events[events.len() - 2..]
        .iter()
        .map(|e| &e["kind"])
        .collect();
    assert_eq!(tail, vec!["agent.enabled", "login"]);
    let entry = &app.roster(&token).await[0];
    assert_eq!(entry["state"], "available");
}

async fn roster_shows_every_agent_state(app: TestApp) {
    let token = app.new_account("acme").await;
    for id in ["f", "e", "d", "c", "b", "a"] {
        let name = id.to_uppercase();
        app.create_agent(&token, json!({"agentId": id, "name": name}))
            .await;
    }
    // a: offline. b: logged in and pinging.
    let b = app.login(&token, "b").await;
    app.call_ok("setWebPingTime", json!({"ssid": b, "mic_perm": "prompt"}))
        .await;
    // c: logged in, on a lunch break.
    let cs = app.login(&token, "c").await;
    let lunch = json!({"ssid": cs, "reason": "lunch"});
    let c_since = app.call_ok("startBreak", lunch).await["breakDetail"]["breakSTime"].clone();
    // d: not logged in, in wrap-up.
    let body = Some(json!({"callId": "call-d", "cNumber": "+100"}));
    let d_wrap = app
        .v1_ok(Method::POST, "/v1/agents/d/wrap-up", &token, body, 201)
        .await;
    // e: was logged in and on break, then disabled.
    let es = app.login(&token, "e").await;
    app.call_ok("setWebPingTime", json!({"ssid": es, "mic_perm": true}))
        .await;
    let body = Some(json!({"reason": "break"}));
    app.v1_ok(Method::POST, "/v1/agents/e/break", &token, body, 201)
        .await;
    app.v1_ok(Method::POST, "/v1/agents/e/disable", &token, None, 200)
        .await;
    // f: on break and in wrap-up at once (not logged in): the break shows first.
    let body = Some(json!({"reason": "meeting"}));
    app.v1_ok(Method::POST, "/v1/agents/f/break", &token, body, 201)
        .await;
    let body = Some(json!({"callId": "call-f", "cNumber": "+200", "seconds": 300}));
    app.v1_ok(Method::POST, "/v1/agents/f/wrap-up", &token, body, 201)
        .await;

    let entries = app.roster(&token).await;
    let order: Vec<&Value> = entries.iter().map(|e| &e["agentId"]).collect();
    assert_eq!(order, vec!["a", "b", "c", "d", "e", "f"]);
    for e in &entries {
        let mut keys: Vec<&String> = e.as_object().unwrap().keys().collect();
        keys.sort();
        let mut want = vec![
            "agentId",
            "break",
            "disabled",
            "lastEventId",
            "lastPingAt",
            "loggedIn",
            "micPerm",
            "name",
            "presence",
            "state",
            "stateSince",
            "wrapUp",
        ];
        want.sort();
        assert_eq!(keys, want, "{e}");
    }
    let summary: Vec<(&str, bool, bool)> = entries
        .iter()
        .map(|e| {
            (
                e["state"].as_str().unwrap(),
                e["loggedIn"].as_bool().unwrap(),
                e["disabled"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("offline", false, false),
            ("available", true, false),
            ("on_break", true, false),
            ("wrap_up", false, false),
            ("disabled", false, true),
            ("on_break", false, false),
        ]
    );
    let [a, b, c, d, e, f] = &entries[..] else {
        unreachable!()
    };
    assert_eq!(a["name"], "A");
    assert_eq!((&a["break"], &a["wrapUp"]), (&Value::Null, &Value::Null));
    assert_eq!(
        (&a["lastPingAt"], &a["micPerm"]),
        (&Value::Null, &Value::Null)
    );
    assert!(near_now(&b["lastPingAt"]), "{b}");
    assert_eq!(b["micPerm"], "prompt");
    assert_eq!(b["break"], Value::Null);

    let brk = &c["break"];
    assert_eq!(brk["reasonCode"], "lunch");
    assert_eq!(brk["reason"], "Lunch");
    assert_eq!(brk["since"], c_since);
    assert!((0..=2).contains(&brk["elapsed"].as_i64().unwrap()), "{c}");
    assert_eq!(brk["limit"], 3600);
    assert_eq!(brk["overLimit"], false);
    assert_eq!(c["wrapUp"], Value::Null);

    let wrap = &d["wrapUp"];
    assert_eq!(wrap["callId"], "call-d");
    assert_eq!(wrap["cNumber"], "+100");
    assert_eq!(wrap["mode"], "timed");
    assert_eq!(wrap["since"], d_wrap["startedAt"]);
    assert_eq!(wrap["wrapETime"], d_wrap["wrapETime"]);
    assert!(
        (58..=60).contains(&wrap["remaining"].as_i64().unwrap()),
        "{d}"
    );
    assert_eq!(d["break"], Value::Null);

    assert_eq!((&e["break"], &e["wrapUp"]), (&Value::Null, &Value::Null));
    assert_eq!(e["micPerm"], "granted");

    assert_eq!(f["break"]["reasonCode"], "meeting");
    assert_eq!(f["break"]["limit"], Value::Null);
    assert_eq!(f["break"]["overLimit"], false);
    assert_eq!(f["wrapUp"]["callId"], "call-f");
    assert!((298..=300).contains(&f["wrapUp"]["remaining"].as_i64().unwrap()));
}

/// `stateSince`: the break's or wrap-up's start, else the newest change of state the
/// history recorded (never a ping's microphone change); null before any.
async fn the_roster_says_since_when_each_state_holds(app: TestApp) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7"})).await;
    let since = |entry: &Value| entry["stateSince"].clone();
    assert_eq!(since(&app.roster_entry(&token, "7").await), Value::Null);
    let last_at = |events: &[Value]| events.last().unwrap()["at"].clone();

    // Times in whole seconds: the login is moved an hour back, the microphone change
    // (newer, but no change of state) a minute on, so that each answer tells them apart.
    let db = app.db.as_ref().unwrap();
    let ssid = app.login(&token, "7").await;
    sql_exec(db, "UPDATE events SET at = at - 3600 WHERE kind = 'login'").await;
    let entry = app.roster_entry(&token, "7").await;
    assert_eq!(entry["state"], "available");
    assert_eq!(since(&entry), last_at(&app.history(&token, "7").await));
    assert!(
        since(&entry).as_i64().unwrap() < now_unix() - 3000,
        "{entry}"
    );
    app.call_ok(
        "setWebPingTime",
        json!({"ssid": ssid, "mic_perm": "denied"}),
    )
    .await;
    sql_exec(
        db,
        "UPDATE events SET at = at + 60 WHERE kind = 'mic.change'",
    )
    .await;
    assert_eq!(
        app.history(&token, "7").await.last().unwrap()["kind"],
        "mic.change"
    );
    assert_eq!(since(&app.roster_entry(&token, "7").await), since(&entry));

    since_start_of(&app, &token, "break", json!({"reason": "lunch"})).await;
    since_change(&app, &token, (Method::DELETE, "break"), "break.end").await;
    let wrap = json!({"callId": "c-1", "cNumber": "+15550100"});
    since_start_of(&app, &token, "wrap-up", wrap).await;
    let entry = since_change(&app, &token, (Method::POST, "disable"), "agent.disabled").await;
    assert_eq!(entry["state"], "disabled");
}

/// `stateSince` of agent 7 once `what` (`break`, `wrap-up`) starts through /v1: its start.
async fn since_start_of(app: &TestApp, token: &str, what: &str, body: Value) {
    let path = format!("/v1/agents/7/{what}");
    app.v1_ok(Method::POST, &path, token, Some(body), 201).await;
    let entry = app.roster_entry(token, "7").await;
    let key = if what == "break" { "break" } else { "wrapUp" };
    assert_eq!(entry["stateSince"], entry[key]["since"]);
}

/// `stateSince` of agent 7 after a change through /v1 (`method` on its `action`, HTTP 200) that
/// the history records last as `kind`: that record's time. Returns the roster entry.
async fn since_change(
    app: &TestApp,
    token: &str,
    (method, action): (Method, &str),
    kind: &str,
) -> Value {
    let path = format!("/v1/agents/7/{action}");
    app.v1_ok(method, &path, token, None, 200).await;
    let history = app.history(token, "7").await;
    let last = history.last().unwrap();
    assert_eq!(last["kind"], kind);
    let entry = app.roster_entry(token, "7").await;
    assert_eq!(entry["stateSince"], last["at"]);
    entry
}
