//! `/v1`: the history, recorded exactly once, paged with its cursor, filtered by time.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use sqlx::Connection;

use super::*;
use crate::support::TestApp;
use crate::support::{INTERNAL, TestDb};

on_both_databases! {
    a_whole_agent_day_is_recorded_exactly_once, history_pages_walk_every_event_once,
    history_filters_by_time_range, history_refuses_bad_queries,
    a_stored_event_kind_that_is_no_kind_is_an_error_not_a_default,
}

// ---------------------------------------------------------------- history

async fn a_whole_agent_day_is_recorded_exactly_once(app: TestApp) {
    let token = app.new_account("acme").await;
    let t = app.token_actor(&token).await;
    let t = t.as_str();
    app.create_agent(&token, json!({"agentId": "7", "name": "Ann"}))
        .await;
    let agent_auth = json!({"userId": "acme", "token": token, "agentId": 7});

    // Morning: logged in by the backend, the browser pings.
    let ssid = app.login(&token, "7").await;
    let s = app.session_actor(&ssid).await;
    let s = s.as_str();
    let me = json!({ "ssid": ssid });
    let ping = |mic: Value| json!({"ssid": ssid, "mic_perm": mic});
    let brk = json!({"ssid": ssid, "reason": "break"});
    let steps = [
        ("setWebPingTime", ping(json!("granted")), 0),
        ("setWebPingTime", ping(json!(1)), 0),
        ("setWebPingTime", ping(json!("1")), 0),
        // A break, with refused repeats and reads in between.
        ("startBreak", brk.clone(), 0),
        ("startBreak", brk, 1507),
        ("agentOnBreak", me.clone(), 0),
        ("endBreak", me.clone(), 0),
        ("endBreak", me.clone(), 1502),
    ];
    upstream_steps(&app, &steps).await;
    // A call ends: wrap-up by the backend, ended early by the agent.
    let wrap_path = "/v1/agents/7/wrap-up";
    let body = json!({"callId": "c-1", "cNumber": "+1"});
    app.v1_ok(Method::POST, wrap_path, &token, Some(body.clone()), 201)
        .await;
    app.v1_err(Method::POST, wrap_path, &token, Some(body), (409, 1511))
        .await;
    let steps = [
        ("wrapUp", me.clone(), 0),
        ("endWrapUp", me.clone(), 0),
        ("endWrapUp", me.clone(), 1504),
        // The microphone is blocked.
        ("setWebPingTime", ping(json!("denied")), 0),
        ("setWebPingTime", ping(json!(0)), 0),
    ];
    upstream_steps(&app, &steps).await;
    // A supervisor's lunch, an operator's meeting, a token-driven break.
    let break_path = "/v1/agents/7/break";
    let body = Some(json!({"reason": "lunch"}));
    app.v1_ok(Method::POST, break_path, &token, body, 201).await;
    app.v1_ok(Method::DELETE, break_path, &token, None, 200)
        .await;
    app.admin()
        .start_break("acme", "7", "meeting")
        .await
        .unwrap();
    app.admin().end_break("acme", "7").await.unwrap();
    let mut body = agent_auth.clone();
    body["reason"] = json!("personal");
    assert_eq!(app.call_code("startBreak", body).await, 0);
    assert_eq!(app.call_code("endBreak", agent_auth.clone()).await, 0);
    // A wrap-up that runs out on its own.
    let body = json!({"callId": "c-2", "cNumber": "+2", "seconds": 1});
    let wrap = app
        .v1_ok(Method::POST, wrap_path, &token, Some(body), 201)
        .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(app.call_code("wrapUp", me.clone()).await, 1504, "expired");
    let mid = app.history(&token, "7").await;
    // Evening: logged out, logged in twice more, a break, then disabled and enabled.
    let sessions = "/v1/agents/7/sessions";
    let data = app.v1_ok(Method::DELETE, sessions, &token, None, 200).await;
    assert_eq!(data, json!({"loggedOut": 1}));
    let ssid2 = app.login(&token, "7").await;
    let body = Some(json!({ "ssid": ssid2 }));
    app.v1_ok(Method::POST, "/v1/sessions/logout", &token, body, 200)
        .await;
    let ssid3 = app.login(&token, "7").await;
    let s3 = app.session_actor(&ssid3).await;
    let s3 = s3.as_str();
    let body = json!({"ssid": ssid3, "reason": "training"});
    assert_eq!(app.call_code("startBreak", body).await, 0);
    for path in ["disable", "disable", "enable", "enable"].map(|a| format!("/v1/agents/7/{a}")) {
        app.v1_ok(Method::POST, &path, &token, None, 200).await;
    }

    let want: Vec<(String, String)> = [
        ("login", t),
        ("mic.change", s),
        ("break.start", s),
        ("break.end", s),
        ("wrap.start", t),
        ("wrap.end", s),
        ("mic.change", s),
        ("break.start", t),
        ("break.end", t),
        ("break.start", "cli"),
        ("break.end", "cli"),
        ("break.start", t),
        ("break.end", t),
        ("wrap.start", t),
        ("wrap.end", "system"),
        ("logout", t),
        ("login", t),
        ("logout", t),
        ("login", t),
        ("break.start", s3),
        ("logout", t),
        ("break.end", t),
        ("agent.disabled", t),
        ("agent.enabled", t),
    ]
    .into_iter()
    .map(|(k, a)| (k.to_owned(), a.to_owned()))
    .collect();
    let events = app.history(&token, "7").await;
    assert_eq!(kinds_and_actors(&events), want);
    assert_eq!(&events[..mid.len()], &mid[..], "the history only grows");
    // The same through the account's history, filtered or not, and page by page.
    let by_query = app.events(&token, "/v1/events?agentId=7&limit=500").await;
    assert_eq!(by_query, events);
    assert_eq!(account_history(&app, &token).await, events);
    assert_eq!(walk(&app, &token, "/v1/agents/7/events", 2).await, events);

    // Details that tell the story.
    assert!(events.iter().all(|e| e["agentId"] == "7"));
    let strictly_up = ids(&events).windows(2).all(|w| w[0] < w[1]);
    assert!(strictly_up, "{:?}", ids(&events));
    let at: Vec<i64> = events.iter().map(|e| e["at"].as_i64().unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] <= w[1]), "{at:?}");
    assert_eq!(events[1]["details"], json!({"micPerm": "granted"}));
    assert_eq!(events[6]["details"], json!({"micPerm": "denied"}));
    assert_eq!(events[2]["details"]["reasonCode"], "break");
    assert_eq!(
        events[5]["details"],
        json!({"callId": "c-1", "how": "ended"})
    );
    assert_eq!(events[9]["details"]["reasonCode"], "meeting");
    assert_eq!(events[11]["details"]["reasonCode"], "personal");
    assert_eq!(events[13]["details"]["endsAt"], wrap["wrapETime"]);
    assert_eq!(
        events[14]["details"],
        json!({"callId": "c-2", "how": "expired"})
    );
    assert_eq!(events[14]["at"], wrap["wrapETime"]);
    assert_eq!(events[20]["details"]["how"], "disabled");
    assert_eq!(events[21]["details"]["how"], "disabled");
    assert_eq!(events[21]["details"]["reasonCode"], "training");
}

/// Makes `n` break.start/break.end pairs for the agent through /v1.
async fn breaks(app: &TestApp, token: &str, agent_id: &str, n: usize) {
    let path = format!("/v1/agents/{agent_id}/break");
    for _ in 0..n {
        let body = Some(json!({"reason": "break"}));
        app.v1_ok(Method::POST, &path, token, body, 201).await;
        app.v1_ok(Method::DELETE, &path, token, None, 200).await;
    }
}

async fn history_pages_walk_every_event_once(app: TestApp) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7"})).await;
    app.create_agent(&token, json!({"agentId": "8"})).await;
    app.login(&token, "7").await;
    breaks(&app, &token, "7", 3).await;
    app.login(&token, "8").await;
    breaks(&app, &token, "8", 2).await;
    breaks(&app, &token, "7", 1).await;
    // An odd count (9 for agent 7) and an even one (14 in the account).
    let mine = app.history(&token, "7").await;
    assert_eq!(mine.len(), 9);
    let all = account_history(&app, &token).await;
    assert_eq!(all.len(), 14);
    let all_ids = ids(&all);
    assert!(all_ids.windows(2).all(|w| w[0] < w[1]), "{all_ids:?}");

    for limit in [1, 2, 3, 7, 14, 15] {
        assert_eq!(
            walk(&app, &token, "/v1/events", limit).await,
            all,
            "limit {limit}"
        );
        let walked = walk(&app, &token, "/v1/agents/7/events", limit).await;
        assert_eq!(walked, mine, "limit {limit}");
        let walked = walk(&app, &token, "/v1/events?agentId=8", limit).await;
        assert_eq!(ids(&walked), ids(&app.history(&token, "8").await));
    }
    // Exactly the walk of limit=2: pages of two, the last one with nextCursor null.
    let mut pages = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = format!("/v1/events?limit=2&cursor={cursor}");
        let data = app.v1_get(&path, &token).await;
        let page = ids(data["items"].as_array().unwrap());
        pages.push(page);
        match data["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let flat: Vec<i64> = pages.iter().flatten().copied().collect();
    assert_eq!(flat, all_ids);
    assert!(
        pages[..pages.len() - 1].iter().all(|p| p.len() == 2),
        "{pages:?}"
    );
    // A cursor from the middle resumes after that event.
    let path = format!("/v1/events?limit=500&cursor={}", all_ids[4]);
    let rest = app.events(&token, &path).await;
    assert_eq!(ids(&rest), all_ids[5..].to_vec());
}

async fn history_filters_by_time_range(app: TestApp) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7"})).await;
    let ssid = app.login(&token, "7").await; // at t1
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let body = json!({"ssid": ssid, "reason": "break"});
    assert_eq!(app.call_code("startBreak", body).await, 0); // at t2
    let body = json!({"ssid": ssid, "mic_perm": "granted"});
    assert_eq!(app.call_code("setWebPingTime", body).await, 0); // at t2 (or just after)
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.call_code("endBreak", json!({ "ssid": ssid })).await, 0); // at t3

    let all = app.history(&token, "7").await;
    let at: Vec<i64> = all.iter().map(|e| e["at"].as_i64().unwrap()).collect();
    assert_eq!(all.len(), 4, "{all:?}");
    let (t1, t2, t3) = (at[0], at[1], at[3]);
    assert!(t1 < t2 && at[2] < t3, "{at:?}");
    let select = |pred: &dyn Fn(i64) -> bool| -> Vec<Value> {
        all.iter()
            .filter(|e| pred(e["at"].as_i64().unwrap()))
            .cloned()
            .collect()
    };
    for base in [
        "/v1/agents/7/events?",
        "/v1/events?agentId=7&",
        "/v1/events?",
    ] {
        for (query, want) in [
            (format!("from={t1}"), all.clone()),
            (format!("from={t2}"), select(&|a| a >= t2)),
            (format!("to={t2}"), select(&|a| a < t2)),
            (
                format!("from={t2}&to={t3}"),
                select(&|a| (t2..t3).contains(&a)),
            ),
            (format!("from={t3}&to={t3}"), vec![]),
            (format!("from={}", t3 + 1), vec![]),
            (format!("to={t1}"), vec![]),
            (format!("from={t1}&to={}", t3 + 1), all.clone()),
        ] {
            let path = format!("{base}{query}&limit=500");
            let got = app.events(&token, &path).await;
            assert_eq!(ids(&got), ids(&want), "{path}");
        }
        // Pages within a range.
        let path = format!("{base}from={t2}");
        let walked = walk(&app, &token, &path, 1).await;
        assert_eq!(ids(&walked), ids(&select(&|a| a >= t2)), "{path}");
    }
    let path = format!("/v1/events?from={t3}&to={t2}");
    app.v1_err(Method::GET, &path, &token, None, (422, 1000))
        .await;
}

async fn history_refuses_bad_queries(app: TestApp) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7"})).await;
    for base in ["/v1/events", "/v1/agents/7/events"] {
        let bad = [
            ("limit=0", 1000),
            ("limit=501", 1000),
            ("limit=many", 1001),
            ("cursor=abc", 1000),
            ("cursor=-1", 1000),
            ("from=yesterday", 1001),
            ("to=1.5", 1001),
            ("from=20&to=10", 1000),
        ];
        app.v1_bad_queries(base, &token, &bad).await;
    }
    for path in ["/v1/events?agentId=nobody", "/v1/agents/nobody/events"] {
        app.v1_err(Method::GET, path, &token, None, (404, 1512))
            .await;
    }
    // An empty history.
    let data = app.v1_get("/v1/events", &token).await;
    assert_eq!(data, json!({"items": [], "nextCursor": null}));
}

/// Runs one statement on the test's database, behind the server's back.
async fn execute(app: &TestApp, sql: &str) {
    let db = app.db.as_ref().unwrap();
    match db {
        TestDb::Sqlite(_) => run::<sqlx::SqliteConnection>(&db.url(), sql).await,
        TestDb::Postgres { .. } => run::<sqlx::PgConnection>(&db.url(), sql).await,
    }
}

async fn run<C: Connection>(url: &str, sql: &str)
where
    for<'c> &'c mut C: sqlx::Executor<'c, Database = C::Database>,
    for<'q> <C::Database as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, C::Database>,
{
    let mut conn = C::connect(url).await.unwrap();
    sqlx::query::<C::Database>(sql)
        .execute(&mut conn)
        .await
        .unwrap();
}

async fn a_stored_event_kind_that_is_no_kind_is_an_error_not_a_default(app: TestApp) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7"})).await;
    app.login(&token, "7").await;
    execute(&app, "UPDATE events SET kind = 'log.in'").await;
    // Never a guess at what it was: the read fails (details in the server's log only).
    let (status, text) = app.v1_raw(Method::GET, "/v1/events", &token, None).await;
    assert_eq!((status, text.as_str()), (500, INTERNAL.as_str()));
    execute(&app, "UPDATE events SET kind = 'login'").await;
    let data = app.v1_get("/v1/events", &token).await;
    assert_eq!(data["items"][0]["kind"], "login");
}
