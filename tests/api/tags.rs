//! Notification tags: the upstream `tags` route (both prefixes, every way clients send a body,
//! both kinds of authentication, its errors byte for byte, the 24-hour window, `ref` and
//! `read`), their creation through `/v1` (validation, scope), their `tag.create` event on the
//! stream, and their retention by the sweeper; on both databases.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::stream::Stream;
use crate::support::*;

on_both_databases! {
    tags_answer_under_both_prefixes_by_session_and_by_token,
    every_way_clients_send_a_body_is_read, no_tags_is_a_success_with_an_empty_list,
    errors_answer_the_contracts_envelopes_byte_for_byte,
    the_window_is_the_last_24_hours_and_read_marks_what_a_fetch_returned,
    ref_answers_only_what_is_new_since_the_previous_fetch,
    v1_creation_validates_its_body_and_needs_supervise, a_tag_is_an_event_on_the_agents_stream,
    the_missed_call_tag_calls_the_customer_back, the_sweep_deletes_tags_past_their_retention,
}

on_both_databases_with_own_config! {
    the_running_sweeper_deletes_old_tags,
}

const DEEPCALL: &str = "/deepcall/api/v2/agentProfile";
const DAY: i64 = 86_400;

async fn tags_answer_under_both_prefixes_by_session_and_by_token(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let first = app
        .create_tag(
            &f.token,
            "7",
            json!({"title": "Call back", "text": "Mrs. Smith", "icon": "missed_call",
                   "action": {"type": "callback", "callId": "c-1", "cNumber": "+15550100"}}),
        )
        .await;
    app.create_tag(
        &f.token,
        "7",
        json!({"title": "Read the memo",
               "action": {"type": "url", "url": "https://intranet.example/memo"}}),
    )
    .await;
    let bodies = [f.by_ssid(), f.by_token(), f.by_token_for(7)];
    for prefix in PREFIXES {
        for body in &bodies {
            let answer = app.call_at(prefix, "tags", body.clone()).await;
            assert_eq!(answer["status"], "success", "{answer}");
            let data = &answer["data"];
            assert_eq!(
                data.as_object().unwrap().keys().collect::<Vec<_>>(),
                ["from", "tags", "to"]
            );
            assert!(near_now(&data["to"]), "{data}");
            assert_eq!(
                data["from"].as_i64().unwrap(),
                data["to"].as_i64().unwrap() - DAY
            );
            // Newest first (same second: the later one first).
            assert_eq!(titles(&data["tags"]), ["Read the memo", "Call back"]);
            let tag = &data["tags"][1];
            assert_eq!(tag["id"], first["id"]);
            assert!(near_now(&tag["at"]));
            assert_eq!(tag["text"], "Mrs. Smith");
            assert_eq!(tag["icon"], "missed_call");
            assert_eq!(
                tag["action"],
                json!({"type": "callback", "callId": "c-1", "cNumber": "+15550100"})
            );
            let memo = &data["tags"][0];
            assert_eq!((&memo["text"], &memo["icon"]), (&Value::Null, &Value::Null));
            assert_eq!(
                memo["action"],
                json!({"type": "url", "url": "https://intranet.example/memo"})
            );
        }
    }
    // Another agent's tags are its own.
    let other = app.fixture("acme", "8").await;
    assert_eq!(app.fetch_tags(other.by_ssid()).await["tags"], json!([]));
}

async fn every_way_clients_send_a_body_is_read(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    app.create_tag(&f.token, "7", json!({"title": "Hello"}))
        .await;
    let json_body = format!(r#"{{"ssid":"{}"}}"#, f.ssid);
    let form_body = format!("ssid={}&ref=0", f.ssid);
    let url = format!("{}{PREFIX}/tags", app.base);
    let cases: Vec<(&str, Option<&str>, String, String)> = vec![
        // curl --data-raw: a JSON body sent as a form.
        (
            "curl",
            Some("application/x-www-form-urlencoded"),
            json_body.clone(),
            url.clone(),
        ),
        (
            "OkHttp",
            Some("text/plain; charset=utf-8"),
            json_body.clone(),
            url.clone(),
        ),
        ("no Content-Type", None, json_body.clone(), url.clone()),
        (
            "JSON",
            Some("application/json"),
            format!("\n {json_body} \n"),
            url.clone(),
        ),
        (
            "form",
            Some("application/x-www-form-urlencoded"),
            form_body,
            url.clone(),
        ),
        (
            "query string",
            None,
            String::new(),
            format!("{url}?ssid={}&ref=1", f.ssid),
        ),
        (
            "deepcall",
            Some("text/plain"),
            json_body,
            format!("{}{DEEPCALL}/tags", app.base),
        ),
    ];
    for (what, content_type, body, url) in cases {
        let mut req = app.client.post(&url).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200, "{what}");
        assert_eq!(res.headers()["content-type"], JSON_UTF8, "{what}");
        let answer: Value = res.json().await.unwrap();
        assert_eq!(answer["status"], "success", "{what}: {answer}");
        assert!(answer["data"]["tags"].is_array(), "{what}: {answer}");
    }
}

async fn no_tags_is_a_success_with_an_empty_list(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    for body in [f.by_ssid(), json!({"ssid": f.ssid, "ref": 1})] {
        let (status, text) = app.post_raw("tags", body.to_string()).await;
        assert_eq!(status, 200);
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["status"], "success", "{text}");
        assert_eq!(answer["data"]["tags"], json!([]), "{text}");
    }
}

async fn errors_answer_the_contracts_envelopes_byte_for_byte(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    app.fixture("other", "9").await;
    expect_raw(&app, "tags", "", 200, &INVALID_REQUEST).await;
    expect_raw(&app, "tags", "[1]", 200, &INVALID_REQUEST).await;
    expect_raw(&app, "tags", "{\"ssid\":", 200, &INVALID_REQUEST).await;
    expect(&app, "tags", json!({}), &missing("ssid")).await;
    expect(&app, "tags", json!({"ref": 1}), &missing("ssid")).await;
    let token_only = json!({"userId": "acme", "token": f.token});
    expect(&app, "tags", token_only, &missing("agentId")).await;
    expect(&app, "tags", json!({"ssid": "nope"}), &INVALID_PARAMETERS).await;
    let both = json!({"ssid": f.ssid, "userId": "acme", "token": f.token});
    expect(&app, "tags", both, &INVALID_PARAMETERS).await;
    let bad_token = json!({"userId": "acme", "token": "apt_nope", "agentId": "7"});
    expect(&app, "tags", bad_token, &INVALID_TOKEN).await;
    expect(&app, "tags", f.by_token_for("9"), &AGENT_MISMATCH).await;
    expect(
        &app,
        "tags",
        json!({"ssid": f.ssid, "agentId": "8"}),
        &AGENT_MISMATCH,
    )
    .await;
    expect(&app, "tags", json!({"ssid": 7}), &INVALID_DATA_TYPE).await;
    // `ref` is a flag: anything else is 1001, before anything else is checked.
    for bad in [
        json!(2),
        json!(-1),
        json!(1.5),
        json!("yes"),
        json!([1]),
        json!({}),
    ] {
        expect(
            &app,
            "tags",
            json!({"ssid": f.ssid, "ref": bad}),
            &INVALID_DATA_TYPE,
        )
        .await;
        expect(&app, "tags", json!({"ref": bad}), &INVALID_DATA_TYPE).await;
    }
    for good in [
        json!(true),
        json!(false),
        json!("TRUE"),
        json!("0"),
        json!(0),
        json!(null),
    ] {
        let answer = app.call("tags", json!({"ssid": f.ssid, "ref": good})).await;
        assert_eq!(code(&answer), 0, "ref {good}: {answer}");
    }
    app.admin().set_suspended("acme", true).await.unwrap();
    expect(&app, "tags", f.by_token(), &SUSPENDED).await;
    app.admin().set_suspended("acme", false).await.unwrap();
    app.admin()
        .set_agent_disabled("acme", "7", true)
        .await
        .unwrap();
    expect(&app, "tags", f.by_token(), &AGENT_DISABLED).await;
    // Disabling logged the session out.
    expect(&app, "tags", f.by_ssid(), &INVALID_PARAMETERS).await;
}

async fn the_window_is_the_last_24_hours_and_read_marks_what_a_fetch_returned(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    app.tag_dated("acme", "7", "yesterday", DAY + 3600).await;
    app.tag_dated("acme", "7", "this morning", DAY - 3600).await;
    app.tag_dated("acme", "7", "just now", 0).await;
    let data = app.fetch_tags(f.by_ssid()).await;
    assert_eq!(titles(&data["tags"]), ["just now", "this morning"]);
    // The first fetch that returns a tag says it was not read; it is read from then on.
    let read = |data: &Value| -> Vec<bool> {
        let tags = data["tags"].as_array().unwrap();
        tags.iter().map(|t| t["read"].as_bool().unwrap()).collect()
    };
    assert_eq!(read(&data), [false, false]);
    app.tag_dated("acme", "7", "newer", 0).await;
    let data = app.fetch_tags(f.by_token()).await;
    assert_eq!(titles(&data["tags"]), ["newer", "just now", "this morning"]);
    assert_eq!(read(&data), [false, true, true]);
    // The /v1 list has every tag, oldest first, and marks nothing read.
    let path = "/v1/agents/7/tags";
    let list = app.v1_get(path, &f.token).await;
    assert_eq!(
        titles(&list["items"]),
        ["yesterday", "this morning", "just now", "newer"]
    );
    let read_in_list: Vec<bool> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["read"].as_bool().unwrap())
        .collect();
    assert_eq!(read_in_list, [false, true, true, true]);
    let page = app.v1_get(&format!("{path}?limit=2"), &f.token).await;
    assert_eq!(titles(&page["items"]), ["yesterday", "this morning"]);
    let cursor = page["nextCursor"].as_str().unwrap();
    let rest = app
        .v1_get(&format!("{path}?limit=2&cursor={cursor}"), &f.token)
        .await;
    assert_eq!(titles(&rest["items"]), ["just now", "newer"]);
}

async fn ref_answers_only_what_is_new_since_the_previous_fetch(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let with_ref = json!({"ssid": f.ssid, "ref": 1});
    app.tag_dated("acme", "7", "old", DAY + 60).await;
    app.tag_dated("acme", "7", "earlier", 600).await;
    // No previous fetch: the last 24 hours.
    let first = app.fetch_tags(with_ref.clone()).await;
    assert_eq!(titles(&first["tags"]), ["earlier"]);
    assert_eq!(
        first["from"].as_i64().unwrap(),
        first["to"].as_i64().unwrap() - DAY
    );
    // Then only what is new since that fetch (created in the same second included).
    app.create_tag(&f.token, "7", json!({"title": "new"})).await;
    let second = app.fetch_tags(with_ref.clone()).await;
    assert_eq!(titles(&second["tags"]), ["new"]);
    assert_eq!(second["from"], first["to"]);
    assert_eq!(second["tags"][0]["read"], false);
    assert_eq!(
        titles(&app.fetch_tags(with_ref.clone()).await["tags"]),
        Vec::<String>::new()
    );
    // A fetch without `ref` (here by token) counts as the previous fetch too.
    app.create_tag(&f.token, "7", json!({"title": "newer"}))
        .await;
    let all = app.fetched_titles(f.by_token()).await;
    assert_eq!(all, ["newer", "new", "earlier"]);
    let truthy = json!({"userId": "acme", "token": f.token, "agentId": 7, "ref": "true"});
    assert_eq!(app.fetched_titles(truthy).await, Vec::<String>::new());
    // `ref` in the query string or a form, as `1`.
    app.create_tag(&f.token, "7", json!({"title": "newest"}))
        .await;
    let res = app
        .client
        .post(format!("{}{PREFIX}/tags?ref=1", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("ssid={}", f.ssid))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(titles(&answer["data"]["tags"]), ["newest"], "{text}");
}

async fn v1_creation_validates_its_body_and_needs_supervise(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let path = "/v1/agents/7/tags";
    let post = |body: Value| (Method::POST, path, Some(body));
    let long = |n: usize| "x".repeat(n);
    let tag = app
        .create_tag(
            &f.token,
            "7",
            json!({"title": format!("  {}  ", long(120))}),
        )
        .await;
    assert_eq!(tag["title"], long(120), "trimmed");
    assert_eq!(
        tag.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["action", "at", "icon", "id", "read", "text", "title"]
    );
    assert_eq!(
        (&tag["read"], &tag["action"]),
        (&json!(false), &Value::Null)
    );
    let missing = vec![
        post(json!({})),
        post(json!({"title": "  "})),
        post(json!({"text": "no title"})),
        post(json!({"title": "t", "action": {"callId": "c-1"}})),
        post(json!({"title": "t", "action": {"type": "callback"}})),
        post(json!({"title": "t", "action": {"type": "callback", "callId": " "}})),
        post(json!({"title": "t", "action": {"type": "url"}})),
    ];
    app.v1_errs(&f.token, missing, (422, 1505)).await;
    let out_of_range = vec![
        post(json!({"title": long(121)})),
        post(json!({"title": "t", "text": long(1001)})),
        post(json!({"title": "t", "icon": long(65)})),
        post(json!({"title": "t", "icon": "<img>"})),
        post(json!({"title": "t", "action": {"type": "phone", "callId": "c"}})),
        post(json!({"title": "t", "action": {"type": "url", "url": "ftp://x.example/"}})),
        post(json!({"title": "t", "action": {"type": "url", "url": "javascript:alert(1)"}})),
        post(json!({"title": "t", "action": {"type": "callback", "callId": long(129)}})),
    ];
    app.v1_errs(&f.token, out_of_range, (422, 1000)).await;
    let wrong_type = vec![
        post(json!({"title": 7})),
        post(json!({"title": "t", "action": "call"})),
        post(json!({"title": "t", "action": {"type": "callback", "callId": 12}})),
    ];
    app.v1_errs(&f.token, wrong_type, (422, 1001)).await;
    let (status, text) = app.v1_raw(Method::POST, path, &f.token, None).await;
    assert_eq!((status, text.as_str()), (422, missing_title().as_str()));
    let unknown = (
        Method::POST,
        "/v1/agents/nobody/tags",
        Some(json!({"title": "t"})),
    );
    app.v1_errs(&f.token, vec![unknown], (404, 1512)).await;
    // Creating needs `supervise`; reading, `read`.
    let read = app.create_token(&f.token, json!({"scope": "read"})).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.v1_errs(&read, vec![post(json!({"title": "t"}))], (403, 1516))
        .await;
    let supervise = app
        .create_token(&f.token, json!({"scope": "supervise"}))
        .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.create_tag(&supervise, "7", json!({"title": "by a supervisor"}))
        .await;
    let list = app.v1_get(path, &read).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    // The upstream route reads with a `read` token too.
    let by_read = json!({"userId": "acme", "token": read, "agentId": "7"});
    assert_eq!(app.fetched_titles(by_read).await.len(), 2);
    // Nothing refused was kept.
    assert_eq!(
        app.v1_get(path, &f.token).await["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

fn missing_title() -> String {
    missing("title")
}

async fn a_tag_is_an_event_on_the_agents_stream(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let mut stream = Stream::open(&app.base, "?agentId=7", Some(&f.token), None).await;
    let tag = app
        .create_tag(
            &f.token,
            "7",
            json!({"title": "Call back", "icon": "phone"}),
        )
        .await;
    let (_, event) = stream.next().await.expect("the tag's event");
    assert_eq!(event["kind"], "tag.create", "{event}");
    assert_eq!(event["agentId"], "7");
    assert_eq!(event["actor"], app.token_actor(&f.token).await);
    assert_eq!(
        event["details"],
        json!({"tag": tag["id"], "title": "Call back"})
    );
    assert_eq!(event["at"], tag["at"]);
    // No change of state: the roster entry is as it was.
    assert_eq!(event["agent"]["state"], "available", "{event}");
    let history = app.history(&f.token, "7").await;
    let kinds: Vec<&str> = history
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["login", "tag.create"]);
    // A fetch changes nothing the history records.
    app.fetch_tags(f.by_ssid()).await;
    assert_eq!(app.history(&f.token, "7").await.len(), 2);
}

async fn the_missed_call_tag_calls_the_customer_back(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let tag = app.missed_call_tag("acme", "7", "c-77", "+15550177").await;
    assert_eq!(tag["title"], "Missed call");
    assert_eq!(tag["icon"], "missed_call");
    assert_eq!(
        tag["action"],
        json!({"type": "callback", "callId": "c-77", "cNumber": "+15550177"})
    );
    let data = app.fetch_tags(f.by_ssid()).await;
    assert_eq!(data["tags"][0], tag);
    let history = app.history(&f.token, "7").await;
    assert_eq!(history.last().unwrap()["kind"], "tag.create");
    assert_eq!(history.last().unwrap()["actor"], "cli");
}

async fn the_sweep_deletes_tags_past_their_retention(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    assert_eq!(app.config.tags_retention_days, 30, "the default");
    app.tag_dated("acme", "7", "last month", 31 * DAY).await;
    app.tag_dated("acme", "7", "kept", 29 * DAY).await;
    // More than a batch of old ones, written behind the server's back.
    sql_exec(
        app.db.as_ref().unwrap(),
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
         INSERT INTO tags (account_pk, agent_pk, at, title)
         SELECT a.account_pk, a.id, 1000 + n.i, 'ancient' FROM agents a, n",
    )
    .await;
    let count = "SELECT CAST(COUNT(*) AS TEXT) FROM tags";
    let db = app.db.as_ref().unwrap();
    assert_eq!(sql_text(db, count).await.as_deref(), Some("2502"));
    app.service.sweep(now_unix()).await.unwrap();
    assert_eq!(sql_text(db, count).await.as_deref(), Some("1"));
    let list = app.v1_get("/v1/agents/7/tags", &f.token).await;
    assert_eq!(titles(&list["items"]), ["kept"]);
}

async fn the_running_sweeper_deletes_old_tags(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| {
        c.sweep_interval_ms = 50;
        c.tags_retention_days = 2;
    })
    .await
    else {
        return;
    };
    let f = app.fixture("acme", "7").await;
    app.tag_dated("acme", "7", "three days old", 3 * DAY).await;
    app.tag_dated("acme", "7", "a day old", DAY).await;
    let path = "/v1/agents/7/tags";
    let started = Instant::now();
    loop {
        let items = titles(&app.v1_get(path, &f.token).await["items"]);
        if items == ["a day old"] {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{items:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
