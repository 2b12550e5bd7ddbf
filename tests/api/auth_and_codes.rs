//! Authentication and every request error code of the contract's table, on both databases:
//! the exact envelopes, the order in which the checks answer, session expiry, and what one
//! account can learn about another's agents (nothing).

use std::time::{Duration, Instant};

use crate::support::Act;
use crate::support::Config;
use crate::support::{
    AGENT_MISMATCH, BAD_PING_TIME, Backend, DB_CONNECT, Fixture, INTERNAL, INVALID_DATA_TYPE,
    INVALID_PARAMETERS, INVALID_REQUEST, INVALID_TOKEN, NOT_IN_WRAP_UP, NOT_ON_BREAK,
    SSID_NOT_VALID_FOR_PING, SUSPENDED, TestApp, TestDb, agent, expect, expect_raw, missing,
    sql_exec, test_config, wrap,
};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::sleep;

on_both_databases! {
    unreadable_requests_are_1047, parameters_of_the_wrong_type_are_1001,
    missing_parameters_are_all_named_in_1505, null_and_blank_credentials_count_as_absent,
    user_and_agent_ids_may_be_strings_or_integers, ssid_mixed_with_token_credentials_is_1000,
    unknown_or_logged_out_ssid_is_1000_but_1503_for_pings, tokens_that_do_not_authenticate_are_1014,
    suspended_accounts_are_1039_in_both_modes, ssid_naming_another_agent_is_1501,
    token_auth_sees_only_its_own_accounts_agents, checks_answer_in_the_contracts_order,
    route_checks_answer_1502_1504_and_1506, wrap_up_whose_time_ran_out_is_1504,
    unexpected_database_failure_is_1032_without_detail,
}

on_both_databases_with_own_config!(
    session_expires_after_the_idle_timeout,
    session_expires_at_its_max_age_even_when_pinged,
    unreachable_database_is_1010_with_http_503,
);

const ROUTES: [&str; 4] = [
    "agentOnBreak",
    "setWebPingTime",
    "wrapUp",
    "checkAgentInWrapUp",
];
/// The routes that only read the agent's state (no `mic_perm`, unknown ssid is 1000).
const STATE_ROUTES: [&str; 3] = ["agentOnBreak", "wrapUp", "checkAgentInWrapUp"];

// ---------------------------------------------------------------------------------------------
// Requests and their exact answers

/// `body` plus the `mic_perm` that setWebPingTime requires, so that only authentication differs.
fn for_route(route: &str, mut body: Value) -> Value {
    if route == "setWebPingTime" {
        body["mic_perm"] = json!("granted");
    }
    body
}

/// Expects the same answer from all four routes.
async fn expect_on_every_route(app: &TestApp, body: Value, expected: &str) {
    for route in ROUTES {
        expect(app, route, for_route(route, body.clone()), expected).await;
    }
}

/// A successful answer's `data`.
async fn success(app: &TestApp, route: &str, body: Value) -> Value {
    app.call_ok(route, for_route(route, body)).await
}

/// What a dead ssid answers: 1000 on the state routes, 1503 on setWebPingTime.
async fn expect_dead_ssid(app: &TestApp, ssid: &str) {
    for route in STATE_ROUTES {
        expect(app, route, json!({"ssid": ssid}), &INVALID_PARAMETERS).await;
    }
    let ping = json!({"ssid": ssid, "mic_perm": "granted"});
    expect(app, "setWebPingTime", ping, &SSID_NOT_VALID_FOR_PING).await;
}

/// Two accounts that both have an agent "7"; acme also has "9", globex also has "8".
async fn two_accounts(app: &TestApp) -> (Fixture, Fixture) {
    let acme = app.fixture("acme", "7").await;
    let globex = app.fixture("globex", "7").await;
    app.admin().create_agent("acme", agent("9")).await.unwrap();
    app.admin()
        .create_agent("globex", agent("8"))
        .await
        .unwrap();
    (acme, globex)
}

/// Runs one SQL statement on the test's database behind the server's back.
async fn run_sql(app: &TestApp, statement: &str) {
    sql_exec(app.db.as_ref().unwrap(), statement).await;
}

// ---------------------------------------------------------------------------------------------
// 1047, 1001, 1505: requests that cannot be read or lack something

async fn unreadable_requests_are_1047(app: TestApp) {
    app.fixture("acme", "7").await;
    for route in ROUTES {
        for body in [
            "",
            "  \n ",
            "[1,2]",
            r#""ssid""#,
            "42",
            "null",
            r#"{"ssid":"#,
            "hello",
        ] {
            expect_raw(&app, route, body, 200, &INVALID_REQUEST).await;
        }
    }
    // Larger than the body limit (16 KiB by default): HTTP 413, still the envelope.
    let huge = json!({"ssid": "x".repeat(20_000)}).to_string();
    expect_raw(&app, "agentOnBreak", &huge, 413, &INVALID_REQUEST).await;
}

async fn parameters_of_the_wrong_type_are_1001(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let wrong_types = [json!(12), json!(1.5), json!(true), json!([]), json!({})];
    for wrong in &wrong_types {
        // ssid and token must be strings, even when they are all there is.
        expect_on_every_route(&app, json!({"ssid": wrong}), &INVALID_DATA_TYPE).await;
        let token = json!({"userId": "acme", "token": wrong, "agentId": "7"});
        expect_on_every_route(&app, token, &INVALID_DATA_TYPE).await;
    }
    // userId and agentId may be integers, but nothing else that is not a string.
    for wrong in &wrong_types[1..] {
        let user = json!({"userId": wrong, "token": f.token, "agentId": "7"});
        expect_on_every_route(&app, user, &INVALID_DATA_TYPE).await;
        let agent = json!({"userId": "acme", "token": f.token, "agentId": wrong});
        expect_on_every_route(&app, agent, &INVALID_DATA_TYPE).await;
        let agent_with_ssid = json!({"ssid": f.ssid, "agentId": wrong});
        expect_on_every_route(&app, agent_with_ssid, &INVALID_DATA_TYPE).await;
    }
}

async fn missing_parameters_are_all_named_in_1505(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let cases = [
        (json!({"x": 1}), "ssid"),
        (json!({"agentId": "7"}), "ssid"),
        (json!({"userId": "acme"}), "token,agentId"),
        (json!({"token": f.token}), "userId,agentId"),
        (json!({"userId": "acme", "token": f.token}), "agentId"),
        (json!({"userId": "acme", "agentId": "7"}), "token"),
        (json!({"token": f.token, "agentId": 7}), "userId"),
    ];
    for (body, names) in &cases {
        for route in STATE_ROUTES {
            expect(&app, route, body.clone(), &missing(names)).await;
        }
        // setWebPingTime names its own required mic_perm after the credentials.
        let ping_names = format!("{names},mic_perm");
        expect(&app, "setWebPingTime", body.clone(), &missing(&ping_names)).await;
    }
    expect(&app, "setWebPingTime", f.by_ssid(), &missing("mic_perm")).await;
    let token_only_agent = json!({"userId": "acme", "token": f.token, "agentId": "7"});
    expect(
        &app,
        "setWebPingTime",
        token_only_agent,
        &missing("mic_perm"),
    )
    .await;
}

async fn null_and_blank_credentials_count_as_absent(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    for blank in [json!(null), json!(""), json!("   ")] {
        expect_on_every_route(&app, json!({"ssid": blank}), &missing("ssid")).await;
        let no_agent = json!({"userId": "acme", "token": f.token, "agentId": blank});
        expect_on_every_route(&app, no_agent, &missing("agentId")).await;
        // A blank userId/token next to an ssid is not "ssid mixed with a token" (1000).
        let ssid_and_blanks = json!({"ssid": f.ssid, "userId": blank, "token": blank});
        expect(&app, "agentOnBreak", ssid_and_blanks.clone(), &NOT_ON_BREAK).await;
        expect(&app, "wrapUp", ssid_and_blanks, &NOT_IN_WRAP_UP).await;
        // Nor is a blank ssid next to a token.
        let token_and_blank =
            json!({"ssid": blank, "userId": "acme", "token": f.token, "agentId": "7"});
        expect(&app, "agentOnBreak", token_and_blank.clone(), &NOT_ON_BREAK).await;
        let pinged = success(&app, "setWebPingTime", token_and_blank).await;
        assert_eq!(
            (&pinged["user_id"], &pinged["agent_id"]),
            (&json!("acme"), &json!("7"))
        );
    }
}

async fn user_and_agent_ids_may_be_strings_or_integers(app: TestApp) {
    let f = app.fixture("12", "34").await;
    app.admin()
        .start_break("12", "34", "Training")
        .await
        .unwrap();
    let credentials = [
        json!({"userId": 12, "token": f.token, "agentId": 34}),
        json!({"userId": "12", "token": f.token, "agentId": "34"}),
        json!({"userId": 12, "token": f.token, "agentId": "34"}),
        json!({"userId": "12", "token": f.token, "agentId": 34}),
        json!({"ssid": f.ssid, "agentId": 34}),
        json!({"ssid": f.ssid, "agentId": "34"}),
    ];
    for body in credentials {
        let data = success(&app, "agentOnBreak", body.clone()).await;
        assert_eq!(data["breakDetail"]["reason"], "Training", "{body}");
        // Answered as strings, whatever the request used.
        assert_eq!(
            (&data["user_id"], &data["agent_id"]),
            (&json!("12"), &json!("34")),
            "{body}"
        );
    }
}

async fn ssid_mixed_with_token_credentials_is_1000(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let mixes = [
        json!({"ssid": f.ssid, "userId": "acme"}),
        json!({"ssid": f.ssid, "token": f.token}),
        json!({"ssid": f.ssid, "userId": "acme", "token": f.token, "agentId": "7"}),
        // Even when the ssid itself would not authenticate: the mix is refused first.
        json!({"ssid": "not-a-session", "userId": "acme", "token": f.token, "agentId": "7"}),
    ];
    for body in mixes {
        expect_on_every_route(&app, body, &INVALID_PARAMETERS).await;
    }
}

async fn unknown_or_logged_out_ssid_is_1000_but_1503_for_pings(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    expect_dead_ssid(&app, &"0".repeat(64)).await;
    // A token is not a session.
    expect_dead_ssid(&app, &f.token).await;

    expect(&app, "agentOnBreak", f.by_ssid(), &NOT_ON_BREAK).await;
    let acme = app.admin().account("acme").await.unwrap();
    let logged_out = app.service.logout_session(&acme, &f.ssid, Act::cli()).await;
    assert!(logged_out.unwrap());
    expect_dead_ssid(&app, &f.ssid).await;
    // The account's token still answers for the agent.
    expect(&app, "agentOnBreak", f.by_token(), &NOT_ON_BREAK).await;
}

async fn tokens_that_do_not_authenticate_are_1014(app: TestApp) {
    let (acme, globex) = two_accounts(&app).await;
    let refused = [
        json!({"userId": "acme", "token": "apt_not_a_token", "agentId": "7"}),
        // Each account's token with the other account's userId.
        json!({"userId": "acme", "token": globex.token, "agentId": "7"}),
        json!({"userId": "globex", "token": acme.token, "agentId": "7"}),
        json!({"userId": "nobody", "token": acme.token, "agentId": "7"}),
        // A session id is not a token.
        json!({"userId": "acme", "token": acme.ssid, "agentId": "7"}),
    ];
    for body in refused {
        expect_on_every_route(&app, body, &INVALID_TOKEN).await;
    }
    expect(&app, "agentOnBreak", acme.by_token(), &NOT_ON_BREAK).await;
    expect(&app, "agentOnBreak", globex.by_token(), &NOT_ON_BREAK).await;
}

async fn suspended_accounts_are_1039_in_both_modes(app: TestApp) {
    let (acme, globex) = two_accounts(&app).await;
    app.admin().set_suspended("acme", true).await.unwrap();
    expect_on_every_route(&app, acme.by_ssid(), &SUSPENDED).await;
    expect_on_every_route(&app, acme.by_token(), &SUSPENDED).await;
    // Suspension is told only to whoever authenticates: a wrong token still learns nothing.
    let wrong_token = json!({"userId": "acme", "token": "apt_not_a_token", "agentId": "7"});
    expect_on_every_route(&app, wrong_token, &INVALID_TOKEN).await;
    // 1039 comes before the agent match (1501).
    let other_agent = json!({"ssid": acme.ssid, "agentId": "9"});
    expect_on_every_route(&app, other_agent, &SUSPENDED).await;
    expect_on_every_route(&app, acme.by_token_for("404"), &SUSPENDED).await;
    // The other account is not affected.
    expect(&app, "agentOnBreak", globex.by_ssid(), &NOT_ON_BREAK).await;
    expect(&app, "agentOnBreak", globex.by_token(), &NOT_ON_BREAK).await;

    app.admin().set_suspended("acme", false).await.unwrap();
    expect(&app, "agentOnBreak", acme.by_ssid(), &NOT_ON_BREAK).await;
    expect(&app, "agentOnBreak", acme.by_token(), &NOT_ON_BREAK).await;
}

async fn ssid_naming_another_agent_is_1501(app: TestApp) {
    let (acme, _globex) = two_accounts(&app).await;
    // Another agent of the same account, and one that exists only in another account.
    for other in [json!("9"), json!(9), json!("8"), json!("404")] {
        let body = json!({"ssid": acme.ssid, "agentId": other});
        expect_on_every_route(&app, body, &AGENT_MISMATCH).await;
    }
    // Its own agent, by string or integer, is fine.
    for own in [json!("7"), json!(7)] {
        let body = json!({"ssid": acme.ssid, "agentId": own});
        expect(&app, "agentOnBreak", body, &NOT_ON_BREAK).await;
    }
}

async fn token_auth_sees_only_its_own_accounts_agents(app: TestApp) {
    let (acme, globex) = two_accounts(&app).await;
    // globex's agent "8" and an agent that exists nowhere answer byte for byte alike.
    for route in ROUTES {
        for agent_id in ["8", "404"] {
            expect(
                &app,
                route,
                for_route(route, acme.by_token_for(agent_id)),
                &AGENT_MISMATCH,
            )
            .await;
        }
    }

    // Both accounts have an agent "7"; each token reaches only its own.
    app.admin().start_break("acme", "7", "Lunch").await.unwrap();
    app.admin()
        .start_wrap_up("globex", "7", wrap("call-g", "+15550199", Some(60)))
        .await
        .unwrap();

    let acme_break = success(&app, "agentOnBreak", acme.by_token()).await;
    assert_eq!(acme_break["breakDetail"]["reason"], "Lunch");
    assert_eq!(acme_break["user_id"], "acme");
    expect(&app, "agentOnBreak", globex.by_token(), &NOT_ON_BREAK).await;
    expect(&app, "agentOnBreak", globex.by_ssid(), &NOT_ON_BREAK).await;

    let globex_wrap = success(&app, "wrapUp", globex.by_token_for(7)).await;
    assert_eq!(globex_wrap["callId"], "call-g");
    assert_eq!(globex_wrap["cNumber"], "+15550199");
    expect(&app, "wrapUp", acme.by_token_for(7), &NOT_IN_WRAP_UP).await;
    expect(&app, "checkAgentInWrapUp", acme.by_ssid(), &NOT_IN_WRAP_UP).await;

    let pinged = success(&app, "setWebPingTime", globex.by_token()).await;
    assert_eq!(
        (&pinged["user_id"], &pinged["agent_id"]),
        (&json!("globex"), &json!("7"))
    );
}

async fn checks_answer_in_the_contracts_order(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let unknown = "f".repeat(64);
    let ping = "setWebPingTime";

    // 1047 (cannot read) before everything.
    expect_raw(
        &app,
        ping,
        r#"{"ssid": 5, "mic_perm": "#,
        200,
        &INVALID_REQUEST,
    )
    .await;
    // 1001 (wrong type) before 1505 (missing) and before authentication.
    expect(
        &app,
        "agentOnBreak",
        json!({"token": 5}),
        &INVALID_DATA_TYPE,
    )
    .await;
    expect(&app, ping, json!({"mic_perm": "yes"}), &INVALID_DATA_TYPE).await;
    expect(
        &app,
        ping,
        json!({"ssid": unknown, "mic_perm": "yes"}),
        &INVALID_DATA_TYPE,
    )
    .await;
    expect(
        &app,
        ping,
        json!({"ssid": f.ssid, "userId": 1.5}),
        &INVALID_DATA_TYPE,
    )
    .await;
    // 1505 before authentication (1000/1503/1014).
    expect(&app, ping, json!({"ssid": unknown}), &missing("mic_perm")).await;
    expect(
        &app,
        ping,
        json!({"ssid": f.ssid, "userId": "acme"}),
        &missing("mic_perm"),
    )
    .await;
    let wrong_token = json!({"userId": "acme", "token": "apt_wrong"});
    expect(&app, "agentOnBreak", wrong_token, &missing("agentId")).await;
    // Authentication before the agent match (1501).
    let wrong_token = json!({"userId": "acme", "token": "apt_wrong", "agentId": "404"});
    expect(&app, "agentOnBreak", wrong_token, &INVALID_TOKEN).await;
    let unknown_ssid = json!({"ssid": unknown, "agentId": "404"});
    expect(
        &app,
        "agentOnBreak",
        unknown_ssid.clone(),
        &INVALID_PARAMETERS,
    )
    .await;
    expect(
        &app,
        ping,
        for_route(ping, unknown_ssid),
        &SSID_NOT_VALID_FOR_PING,
    )
    .await;
    // The agent match before the route's own checks (1502, 1504, 1506).
    let other_agent = json!({"ssid": f.ssid, "agentId": "404", "ping_time": "soon"});
    expect_on_every_route(&app, other_agent, &AGENT_MISMATCH).await;
    // The route's own checks last.
    let bad_time = |ssid: &str| json!({"ssid": ssid, "mic_perm": 1, "ping_time": "soon"});
    expect(&app, ping, bad_time(&unknown), &SSID_NOT_VALID_FOR_PING).await;
    expect(&app, ping, bad_time(&f.ssid), &BAD_PING_TIME).await;
}

async fn route_checks_answer_1502_1504_and_1506(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    for credentials in [f.by_ssid(), f.by_token()] {
        expect(&app, "agentOnBreak", credentials.clone(), &NOT_ON_BREAK).await;
        expect(&app, "wrapUp", credentials.clone(), &NOT_IN_WRAP_UP).await;
        expect(
            &app,
            "checkAgentInWrapUp",
            credentials.clone(),
            &NOT_IN_WRAP_UP,
        )
        .await;
        let mut bad_time = for_route("setWebPingTime", credentials);
        bad_time["ping_time"] = json!("soon");
        expect(&app, "setWebPingTime", bad_time, &BAD_PING_TIME).await;
    }
}

async fn wrap_up_whose_time_ran_out_is_1504(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    // Two seconds: times are whole Unix seconds, so it is surely running for the first second.
    app.admin()
        .start_wrap_up("acme", "7", wrap("call-1", "+15550100", Some(2)))
        .await
        .unwrap();
    assert_eq!(
        success(&app, "wrapUp", f.by_ssid()).await["callId"],
        "call-1"
    );
    sleep(Duration::from_millis(2100)).await;
    for credentials in [f.by_ssid(), f.by_token()] {
        expect(&app, "wrapUp", credentials.clone(), &NOT_IN_WRAP_UP).await;
        expect(&app, "checkAgentInWrapUp", credentials, &NOT_IN_WRAP_UP).await;
    }
}

async fn unexpected_database_failure_is_1032_without_detail(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    // Something no request can cause: a table gone from under the server, before the live
    // view has read this agent.
    run_sql(&app, "DROP TABLE breaks").await;
    expect(&app, "agentOnBreak", f.by_ssid(), &INTERNAL).await;
    expect(&app, "agentOnBreak", f.by_token(), &INTERNAL).await;
    expect(&app, "wrapUp", f.by_ssid(), &INTERNAL).await;
    // The rest of the service still answers.
    let (status, _) = app
        .v1(Method::GET, "/v1/break-reasons", &f.token, None)
        .await;
    assert_eq!(status, 200);
}

// ---------------------------------------------------------------------------------------------
// Tests with a configuration of their own

async fn session_expires_after_the_idle_timeout(backend: Backend) {
    // Times are whole Unix seconds: with 2 s the session is surely alive for the first second.
    let Some(app) = TestApp::spawn_with(backend, |c| c.session_idle_timeout_secs = 2).await else {
        return;
    };
    let f = app.fixture("acme", "7").await;
    expect(&app, "agentOnBreak", f.by_ssid(), &NOT_ON_BREAK).await;
    sleep(Duration::from_millis(2100)).await;
    expect_dead_ssid(&app, &f.ssid).await;
    // The account's token is not a session and still answers.
    expect(&app, "agentOnBreak", f.by_token(), &NOT_ON_BREAK).await;
}

async fn session_expires_at_its_max_age_even_when_pinged(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| c.session_max_age_secs = 3).await else {
        return;
    };
    let f = app.fixture("acme", "7").await;
    let logged_in = Instant::now();
    sleep(Duration::from_secs(1)).await;
    success(&app, "setWebPingTime", f.by_ssid()).await;
    expect(&app, "agentOnBreak", f.by_ssid(), &NOT_ON_BREAK).await;
    sleep(Duration::from_millis(3100).saturating_sub(logged_in.elapsed())).await;
    expect_dead_ssid(&app, &f.ssid).await;
}

async fn unreachable_database_is_1010_with_http_503(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let mut config = test_config(&db);
    config.db_acquire_timeout_secs = 1;
    let relay = match backend {
        Backend::Postgres => Some(Relay::start(&db, &mut config).await),
        Backend::Sqlite => None,
    };
    let app = TestApp::start(db, config).await;
    let f = app.fixture("acme", "7").await;
    success(&app, "setWebPingTime", f.by_ssid()).await;

    match relay {
        Some(relay) => {
            relay.cut().await;
            expect_database_unreachable(&app, &f, &ROUTES).await;
        }
        None => {
            let lock = lock_sqlite(&app).await;
            // A ping that changes nothing is answered from memory until a flush has failed
            // (after one busy timeout); from then on it must be written, and cannot be.
            let started = Instant::now();
            let ping = for_route("setWebPingTime", f.by_ssid());
            let body = ping.to_string();
            while app.post_raw("setWebPingTime", body.clone()).await.0 == 200 {
                assert!(
                    started.elapsed() < Duration::from_secs(6),
                    "pings still taken"
                );
                sleep(Duration::from_millis(100)).await;
            }
            expect_database_unreachable(&app, &f, &["setWebPingTime"]).await;
            // Once the lock is gone, the server answers again.
            drop(lock);
            success(&app, "setWebPingTime", f.by_ssid()).await;
        }
    }
}

/// The database of a running server is dropped: as unreachable as it gets (PostgreSQL only;
/// an SQLite file in use cannot be taken away from its open connections).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_dropped_database_is_1010_with_http_503() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let TestDb::Postgres { admin_url, name } = &db else {
        unreachable!("a PostgreSQL database");
    };
    let drop_it = format!("DROP DATABASE {name} WITH (FORCE)");
    let mut admin = sqlx::PgConnection::connect(admin_url).await.unwrap();
    let mut config = test_config(&db);
    config.db_acquire_timeout_secs = 1;
    let app = TestApp::start(db, config).await;
    let f = app.fixture("acme", "7").await;
    success(&app, "setWebPingTime", f.by_ssid()).await;

    sqlx::raw_sql(&drop_it).execute(&mut admin).await.unwrap();
    expect_database_unreachable(&app, &f, &ROUTES).await;
}

/// Each of `routes` answers 1010 with HTTP 503, once the 1 s acquire timeout has passed
/// (not after the 15 s request timeout).
async fn expect_database_unreachable(app: &TestApp, f: &Fixture, routes: &[&str]) {
    for &route in routes {
        let body = for_route(route, f.by_ssid()).to_string();
        let started = Instant::now();
        expect_raw(app, route, &body, 503, &DB_CONNECT).await;
        let took = started.elapsed();
        assert!(took < Duration::from_secs(4), "{route} took {took:?}");
    }
}

/// A TCP relay between the server and PostgreSQL: cutting it makes the database unreachable
/// (relayed connections drop, new ones are refused) without touching PostgreSQL itself.
struct Relay(JoinHandle<()>);

impl Relay {
    /// Starts a relay to the PostgreSQL of `db` and points `config` at it.
    async fn start(db: &TestDb, config: &mut Config) -> Relay {
        let TestDb::Postgres { admin_url, .. } = db else {
            panic!("a relay is for PostgreSQL");
        };
        let postgres = url::Url::parse(admin_url).unwrap();
        let target = format!(
            "{}:{}",
            postgres.host_str().unwrap(),
            postgres.port().unwrap_or(5432)
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut url = url::Url::parse(&config.database_url).unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(listener.local_addr().unwrap().port()))
            .unwrap();
        config.database_url = url.to_string();
        Relay(tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                connections.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        }))
    }

    /// Closes the listening port and every relayed connection.
    async fn cut(self) {
        self.0.abort();
        let _ = self.0.await;
    }
}

/// An SQLite file cannot become unreachable; its failure of the same kind is a lock held
/// elsewhere ("database is locked" once the busy timeout passes). In WAL mode readers still
/// read, so only writes (setWebPingTime) meet it.
async fn lock_sqlite(app: &TestApp) -> sqlx::SqliteConnection {
    let url = app.db.as_ref().unwrap().url();
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("BEGIN EXCLUSIVE")
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}
