//! Throttling of failed authentication, as an attacker meets it: per client address (from
//! `X-Forwarded-For` only behind a trusted proxy) and per `userId`; 429 with 1515 and
//! `Retry-After`; other clients and accounts answered as usual; stale credentials not counted.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{
    Backend, INVALID_PARAMETERS, INVALID_TOKEN, PREFIX, THROTTLED, TestApp, code,
};

on_both_databases_with_own_config! {
    wrong_tokens_from_one_address_are_refused_after_the_burst,
    forwarded_for_from_an_untrusted_peer_is_ignored,
    a_guessed_user_id_refuses_only_the_addresses_that_guessed,
    stale_credentials_do_not_count_and_the_window_passes,
    the_office_behind_a_guessing_address_is_answered,
}

/// Behind a trusted proxy (the test's own address), so each request names its client.
async fn behind_proxy(backend: Backend, per_minute: u32) -> Option<TestApp> {
    TestApp::spawn_with(backend, |c| {
        c.auth_failures_per_minute = per_minute;
        c.trusted_proxies = "127.0.0.1".to_owned();
    })
    .await
}

struct Answer {
    status: u16,
    text: String,
    retry_after: Option<u64>,
}

/// An upstream call from the client `from` (as the proxy names it).
async fn post_from(app: &TestApp, from: &str, route: &str, body: &Value) -> Answer {
    let res = app
        .client
        .post(format!("{}{PREFIX}/{route}", app.base))
        .header("x-forwarded-for", from)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    answer(res).await
}

async fn v1_from(app: &TestApp, from: &str, path: &str, token: &str) -> Answer {
    let res = app
        .client
        .request(Method::GET, format!("{}{path}", app.base))
        .header("x-forwarded-for", from)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    answer(res).await
}

async fn answer(res: reqwest::Response) -> Answer {
    let status = res.status().as_u16();
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    Answer {
        status,
        text: res.text().await.unwrap(),
        retry_after,
    }
}

impl Answer {
    /// The envelope's code.
    fn code(&self) -> u64 {
        code(&serde_json::from_str(&self.text).unwrap())
    }
}

fn throttled(a: &Answer) -> bool {
    a.status == 429
        && a.text == THROTTLED.as_str()
        && a.retry_after.is_some_and(|s| (1..=60).contains(&s))
}

/// Failed attempt `i` (`what` it is): the first 20 refused as such (HTTP status, envelope),
/// every one after throttled.
fn refused_then_throttled(a: &Answer, i: usize, what: &str, refusal: (u16, &str)) {
    if i < 20 {
        assert_eq!((a.status, a.text.as_str()), refusal, "{what} {i}");
    } else {
        let retry_after = a.retry_after;
        assert!(
            throttled(a),
            "{what} {i}: {} {} {retry_after:?}",
            a.status,
            a.text
        );
    }
}

async fn wrong_tokens_from_one_address_are_refused_after_the_burst(backend: Backend) {
    let Some(app) = behind_proxy(backend, 20).await else {
        return;
    };
    let victim = app.fixture("acme", "7").await;
    let good = app.fixture("globex", "9").await;
    let attacker = "203.0.113.5";
    let good_client = "198.51.100.7";

    let mut refused_after = None;
    let mut slowest_good = Duration::ZERO;
    for i in 0..600 {
        // A different userId each time: only the address is there to count them by.
        let guess =
            json!({ "userId": format!("u{i}"), "token": format!("apt_{i:064}"), "agentId": "7" });
        let a = post_from(&app, attacker, "agentOnBreak", &guess).await;
        refused_then_throttled(&a, i, "attempt", (200, &INVALID_TOKEN));
        if i >= 20 {
            refused_after.get_or_insert(i);
        }
        if i % 50 == 0 {
            // A correct client of another account, meanwhile: answered, and promptly.
            let started = Instant::now();
            let a = post_from(&app, good_client, "agentOnBreak", &good.by_token()).await;
            slowest_good = slowest_good.max(started.elapsed());
            assert_eq!(a.code(), 1502, "{}", a.text);
        }
    }
    assert_eq!(refused_after, Some(20));
    assert!(
        slowest_good < Duration::from_millis(500),
        "{slowest_good:?}"
    );
    // Every attempt of the blocked address with a credential the server does not know is
    // refused, /v1 included (a right token that never authenticated here is not known);
    // the victim's account works from its own address.
    let unused = app
        .create_token(&victim.token, json!({"scope": "read"}))
        .await;
    let unused = unused["token"].as_str().unwrap();
    assert!(throttled(
        &post_from(
            &app,
            attacker,
            "agentOnBreak",
            &json!({"userId": "acme", "token": unused, "agentId": "7"})
        )
        .await
    ));
    assert!(throttled(
        &v1_from(&app, attacker, "/v1/roster", unused).await
    ));
    assert_eq!(
        v1_from(&app, good_client, "/v1/roster", &victim.token)
            .await
            .status,
        200
    );
    // Unknown ssids count alike, per address.
    let other = "203.0.113.77";
    for i in 0..21 {
        let a = post_from(
            &app,
            other,
            "agentOnBreak",
            &json!({ "ssid": format!("nope{i}") }),
        )
        .await;
        refused_then_throttled(&a, i, "ssid attempt", (200, &INVALID_PARAMETERS));
    }
    // Counted in the metrics.
    let (_, metrics) = app.get("/metrics").await;
    let refused = metric(
        &metrics,
        "agentprofile_auth_throttled_total{by=\"address\"}",
    );
    assert!(refused >= 583.0, "{refused}");
    // Looked up, and failed: 20 + 1 of each kind; the refused ones cost no lookup.
    assert_eq!(metric(&metrics, "agentprofile_auth_failures_total"), 42.0);
}

fn metric(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{series} not in\n{page}"))
}

async fn forwarded_for_from_an_untrusted_peer_is_ignored(backend: Backend) {
    // No trusted proxy: the header is the client's to write, so the peer is the address.
    let Some(app) = TestApp::spawn_with(backend, |c| c.auth_failures_per_minute = 20).await else {
        return;
    };
    let f = app.fixture("acme", "7").await;
    // The account's backend, at work before the guessing starts.
    assert_eq!(
        v1_from(&app, "192.0.2.250", "/v1/roster", &f.token)
            .await
            .status,
        200
    );
    for i in 0..21 {
        let a = v1_from(&app, &format!("192.0.2.{i}"), "/v1/roster", "apt_wrong").await;
        refused_then_throttled(&a, i, "attempt", (401, &INVALID_TOKEN));
    }
    // The peer is blocked: a token it never authenticated with is refused; the fixture's,
    // which authenticated from it, is known and answered (see the office test).
    let unused = app.create_token(&f.token, json!({"scope": "read"})).await;
    let a = v1_from(
        &app,
        "192.0.2.200",
        "/v1/roster",
        unused["token"].as_str().unwrap(),
    )
    .await;
    assert!(throttled(&a), "{} {}", a.status, a.text);
    let a = v1_from(&app, "192.0.2.201", "/v1/roster", &f.token).await;
    assert_eq!(a.status, 200, "{}", a.text);
}

async fn a_guessed_user_id_refuses_only_the_addresses_that_guessed(backend: Backend) {
    let Some(app) = behind_proxy(backend, 20).await else {
        return;
    };
    let f = app.fixture("acme", "7").await;
    let wrong = json!({ "userId": "acme", "token": "apt_wrong", "agentId": "7" });
    // Twenty-one addresses, one guess each at acme: the 21st is refused by the userId.
    for i in 0..21 {
        let a = post_from(&app, &format!("203.0.113.{i}"), "agentOnBreak", &wrong).await;
        refused_then_throttled(&a, i, "guess", (200, &INVALID_TOKEN));
    }
    // An address that guessed is refused even with the right token; one that did not
    // (the account's own backend) is answered, so guessing cannot lock an account out.
    assert!(throttled(
        &post_from(&app, "203.0.113.3", "agentOnBreak", &f.by_token()).await
    ));
    let a = post_from(&app, "198.51.100.20", "agentOnBreak", &f.by_token()).await;
    assert_eq!(a.code(), 1502, "{}", a.text);
    // Sessions are not refused by a userId.
    let a = post_from(&app, "203.0.113.3", "agentOnBreak", &f.by_ssid()).await;
    assert_eq!(a.code(), 1502, "{}", a.text);
}

async fn stale_credentials_do_not_count_and_the_window_passes(backend: Backend) {
    // 60 a minute: a burst of 60, then one more each second.
    let Some(app) = behind_proxy(backend, 60).await else {
        return;
    };
    let f = app.fixture("acme", "7").await;
    let office = "198.51.100.50";
    // Forgotten tabs with a logged-out ssid, a wallboard with a revoked token: stale
    // clients, not guesses; never throttled.
    let revoked = app.create_token(&f.token, json!({"scope": "read"})).await;
    let id = revoked["id"].as_i64().unwrap();
    app.revoke_token(&f.token, id).await;
    app.v1_ok(
        Method::POST,
        "/v1/sessions/logout",
        &f.token,
        Some(json!({"ssid": f.ssid})),
        200,
    )
    .await;
    for i in 0..80 {
        let a = post_from(&app, office, "agentOnBreak", &f.by_ssid()).await;
        assert_eq!(a.text, INVALID_PARAMETERS.as_str(), "ended ssid {i}");
        let a = v1_from(
            &app,
            office,
            "/v1/roster",
            revoked["token"].as_str().unwrap(),
        )
        .await;
        assert_eq!(
            (a.status, a.text.as_str()),
            (401, INVALID_TOKEN.as_str()),
            "revoked {i}"
        );
    }
    // Guesses from the same address do count; after the burst, Retry-After says when.
    let guess = json!({ "ssid": "never-issued" });
    for _ in 0..60 {
        assert_eq!(
            post_from(&app, office, "agentOnBreak", &guess).await.text,
            INVALID_PARAMETERS.as_str()
        );
    }
    let a = post_from(&app, office, "agentOnBreak", &guess).await;
    assert!(throttled(&a), "{}", a.text);
    assert_eq!(a.retry_after, Some(1));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let a = post_from(&app, office, "agentOnBreak", &guess).await;
    assert_eq!(a.text, INVALID_PARAMETERS.as_str(), "the window passed");
}

/// A call center's agents share one public address: one client's guesses from it block the
/// address, yet every credential the server knows to be valid (an ssid in the live view, a
/// token that authenticated here) is still answered from it; what is unknown is refused
/// before any lookup, and a guessed `userId` stays protected.
async fn the_office_behind_a_guessing_address_is_answered(backend: Backend) {
    let Some(app) = behind_proxy(backend, 20).await else {
        return;
    };
    let f = app.fixture("acme", "7").await;
    let office = "198.51.100.60";
    // The agents' browsers and the office's wallboard, at work before the guessing starts.
    assert_eq!(
        post_from(&app, office, "agentOnBreak", &f.by_ssid())
            .await
            .code(),
        1502
    );
    assert_eq!(
        post_from(&app, office, "agentOnBreak", &f.by_token())
            .await
            .code(),
        1502
    );
    // One client of the office guesses ssids: 20 refused as such, then the address is blocked.
    for i in 0..21 {
        let guess = json!({ "ssid": format!("guess{i}") });
        let a = post_from(&app, office, "agentOnBreak", &guess).await;
        refused_then_throttled(&a, i, "guess", (200, &INVALID_PARAMETERS));
    }
    // The rest of the office goes on.
    for _ in 0..3 {
        let a = post_from(&app, office, "agentOnBreak", &f.by_ssid()).await;
        assert_eq!(a.code(), 1502, "a known ssid: {}", a.text);
        let ping = json!({ "ssid": f.ssid, "mic_perm": 1 });
        let a = post_from(&app, office, "setWebPingTime", &ping).await;
        assert_eq!(a.status, 200, "{}", a.text);
        assert!(a.text.contains(r#""status":"success""#), "{}", a.text);
        let a = post_from(&app, office, "agentOnBreak", &f.by_token()).await;
        assert_eq!(a.code(), 1502, "a known token: {}", a.text);
        assert_eq!(
            v1_from(&app, office, "/v1/roster", &f.token).await.status,
            200
        );
    }
    // What is unknown is still refused: a guess, and a token that never authenticated here
    // (until it does, from anywhere).
    assert!(throttled(
        &post_from(&app, office, "agentOnBreak", &json!({"ssid": "guess99"})).await
    ));
    let new = app.create_token(&f.token, json!({"scope": "read"})).await;
    let new = new["token"].as_str().unwrap();
    assert!(throttled(&v1_from(&app, office, "/v1/roster", new).await));
    assert_eq!(
        v1_from(&app, "192.0.2.9", "/v1/roster", new).await.status,
        200
    );
    assert_eq!(v1_from(&app, office, "/v1/roster", new).await.status, 200);
    // Refused without a lookup: only the 21 looked-up guesses were counted as failures.
    let (_, metrics) = app.get("/metrics").await;
    assert_eq!(metric(&metrics, "agentprofile_auth_failures_total"), 21.0);
    // A guessed userId stays protected: an address that guessed at it is refused even with a
    // known token of that account.
    let wrong = json!({ "userId": "acme", "token": "apt_wrong", "agentId": "7" });
    for i in 0..21 {
        let a = post_from(&app, &format!("203.0.113.{i}"), "agentOnBreak", &wrong).await;
        refused_then_throttled(&a, i, "userId guess", (200, &INVALID_TOKEN));
    }
    assert!(throttled(
        &post_from(&app, "203.0.113.4", "agentOnBreak", &f.by_token()).await
    ));
}
