//! The agent's own breaks on the upstream surface (`startBreak`, `endBreak`), break reasons
//! and their limits.

use crate::support::{
    AGENT_DISABLED, AGENT_MISMATCH, ALREADY_ON_BREAK, INVALID_DATA_TYPE, INVALID_PARAMETERS,
    INVALID_REQUEST, INVALID_TOKEN, JSON_UTF8, NOT_IN_WRAP_UP, NOT_ON_BREAK, PREFIX,
    SSID_NOT_VALID_FOR_PING, SUSPENDED, TestApp, UNKNOWN_REASON, agent, code, expect, expect_raw,
    get, missing, near_now,
};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const DEEPCALL: &str = "/deepcall/api/v2/agentProfile";

use super::*;

on_both_databases! {
    start_and_end_break_by_ssid, start_and_end_break_by_token_on_the_deepcall_prefix,
    start_break_reads_any_content_type, new_routes_share_the_upstream_authentication,
    start_break_requires_a_reason, reasons_match_code_or_label_ignoring_case,
    a_second_start_break_is_1507, unknown_or_inactive_reason_is_1508,
    end_break_when_not_on_break_is_1502, end_wrap_up_when_not_in_wrap_up_is_1504,
    a_disabled_agent_named_by_token_is_1510, new_account_has_the_default_break_reasons,
    break_past_its_limit_is_flagged_everywhere_and_goes_on,
    a_reason_changed_since_the_last_break_is_read_again,
}

// ---------------------------------------------------------------- breaks

async fn start_and_end_break_by_ssid(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let body = with(f.by_ssid(), json!({"reason": "lunch"}));
    let data = app.call_ok("startBreak", body).await;
    assert_eq!(data["on_break"], 1);
    assert_eq!(data["agent_id"], "7");
    assert_eq!(data["user_id"], "acme");
    let detail = &data["breakDetail"];
    assert_eq!(detail["reason"], "Lunch");
    assert_eq!(detail["reasonCode"], "lunch");
    assert!(near_now(&detail["breakSTime"]), "{detail}");
    assert!(
        (0..=1).contains(&detail["currentDuration"].as_i64().unwrap()),
        "{detail}"
    );
    assert_eq!(detail["limit"], 3600);
    assert_eq!(detail["overLimit"], false);
    let started = detail["breakSTime"].as_i64().unwrap();

    let data = app.call_ok("agentOnBreak", f.by_ssid()).await;
    assert_eq!(data["breakDetail"]["breakSTime"], started);
    assert_eq!(data["breakDetail"]["reasonCode"], "lunch");

    let data = app.call_ok("endBreak", f.by_ssid()).await;
    assert_eq!(data["on_break"], 0);
    assert_eq!(data["agent_id"], "7");
    assert_eq!(data["user_id"], "acme");
    assert_eq!(data["breakDetail"]["reasonCode"], "lunch");
    assert_eq!(data["breakDetail"]["breakSTime"], started);
    assert_eq!(data["breakDetail"]["overLimit"], false);

    expect(&app, "agentOnBreak", f.by_ssid(), &NOT_ON_BREAK).await;

    let session = app.session_actor(&f.ssid).await;
    let events = app.history(&f.token, "7").await;
    let breaks: Vec<(&Value, &Value)> = events
        .iter()
        .filter(|e| e["kind"].as_str().unwrap().starts_with("break."))
        .map(|e| (&e["kind"], &e["actor"]))
        .collect();
    assert_eq!(
        breaks,
        vec![
            (&json!("break.start"), &json!(session)),
            (&json!("break.end"), &json!(session)),
        ]
    );
    let start = of_kind(&events, "break.start")[0];
    assert_eq!(start["at"], started);
    assert_eq!(start["details"]["reasonCode"], "lunch");
    assert_eq!(start["details"]["reason"], "Lunch");
    assert_eq!(start["details"]["limit"], 3600);
    let end = of_kind(&events, "break.end")[0];
    assert_eq!(end["details"]["reasonCode"], "lunch");
    assert_eq!(end["details"]["overLimit"], false);
}

async fn start_and_end_break_by_token_on_the_deepcall_prefix(app: TestApp) {
    let f = app.fixture("acme", "42").await;
    // agentId as an integer, the reason by its label.
    let body = json!({"userId": "acme", "token": f.token, "agentId": 42, "reason": "Personal"});
    let answer = app.call_at(DEEPCALL, "startBreak", body).await;
    assert_eq!(code(&answer), 0, "{answer}");
    assert_eq!(answer["data"]["agent_id"], "42");
    assert_eq!(answer["data"]["breakDetail"]["reasonCode"], "personal");
    assert_eq!(answer["data"]["breakDetail"]["reason"], "Personal");
    assert_eq!(answer["data"]["breakDetail"]["limit"], 600);

    // The agent's own session sees the break the token started.
    let answer = app.call("agentOnBreak", f.by_ssid()).await;
    assert_eq!(answer["data"]["breakDetail"]["reasonCode"], "personal");

    let answer = app.call_at(DEEPCALL, "endBreak", f.by_token()).await;
    assert_eq!(code(&answer), 0, "{answer}");
    assert_eq!(answer["data"]["on_break"], 0);
    let answer = app.call_at(DEEPCALL, "endBreak", f.by_token()).await;
    assert_eq!(code(&answer), 1502, "{answer}");

    let token = app.token_actor(&f.token).await;
    let events = app.history(&f.token, "42").await;
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["kind"] != "login")
        .map(|e| (e["kind"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("break.start", token.as_str()),
            ("break.end", token.as_str())
        ]
    );
}

async fn start_break_reads_any_content_type(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let url = format!("{}{PREFIX}/startBreak", app.base);
    let end_url = format!("{}{PREFIX}/endBreak", app.base);
    let json_body = with(f.by_ssid(), json!({"reason": "meeting"})).to_string();
    let form_body = format!("ssid={}&reason=meeting", f.ssid);
    for (content_type, body) in [
        ("application/x-www-form-urlencoded", json_body.clone()),
        ("text/plain", json_body.clone()),
        ("application/json", format!("\n  {json_body}\n")),
        ("application/x-www-form-urlencoded", form_body),
    ] {
        let res = app
            .client
            .post(&url)
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        assert_eq!(res.headers()["content-type"], JSON_UTF8);
        let answer: Value = res.json().await.unwrap();
        assert_eq!(code(&answer), 0, "{content_type} {body}: {answer}");
        assert_eq!(answer["data"]["breakDetail"]["reasonCode"], "meeting");
        assert_eq!(answer["data"]["breakDetail"]["limit"], Value::Null);
        // Query-string credentials, empty body.
        let res = app
            .client
            .post(format!("{end_url}?ssid={}", f.ssid))
            .send()
            .await
            .unwrap();
        let answer: Value = res.json().await.unwrap();
        assert_eq!(code(&answer), 0, "{answer}");
    }
    // Other methods: 405 with the envelope; unreadable bodies: 1047.
    let res = get(&url).await;
    assert_eq!(res.status().as_u16(), 405);
    assert_eq!(res.text().await.unwrap(), INVALID_REQUEST.as_str());
    for route in ["startBreak", "endBreak", "endWrapUp"] {
        for body in ["", "[1]", "{\"ssid\":"] {
            expect_raw(&app, route, body, 200, &INVALID_REQUEST).await;
        }
    }
}

async fn new_routes_share_the_upstream_authentication(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let other = app.fixture("globex", "8").await;
    app.admin().create_agent("acme", agent("9")).await.unwrap();
    for route in ["startBreak", "endBreak", "endWrapUp"] {
        let reason = json!({"reason": "break"});
        // ssid naming another agent: 1501.
        let body = with(f.by_ssid(), with(json!({"agentId": "9"}), reason.clone()));
        expect(&app, route, body, &AGENT_MISMATCH).await;
        // ssid with a token: 1000.
        let body = with(f.by_ssid(), with(json!({"token": f.token}), reason.clone()));
        expect(&app, route, body, &INVALID_PARAMETERS).await;
        // Unknown ssid: 1000.
        let body = with(json!({"ssid": "nope"}), reason.clone());
        expect(&app, route, body, &INVALID_PARAMETERS).await;
        // Bad token: 1014.
        let body = json!({"userId": "acme", "token": "apt_bad", "agentId": "7", "reason": "break"});
        expect(&app, route, body, &INVALID_TOKEN).await;
        // Another account's token with this account's userId: 1014.
        let body =
            json!({"userId": "acme", "token": other.token, "agentId": "7", "reason": "break"});
        expect(&app, route, body, &INVALID_TOKEN).await;
        // Another account's agent (and an unknown one) by token: 1501, alike.
        for agent in ["8", "999"] {
            let body = with(
                f.by_token(),
                with(json!({"agentId": agent}), reason.clone()),
            );
            expect(&app, route, body, &AGENT_MISMATCH).await;
        }
        // Token without agentId: 1505.
        let body = json!({"userId": "acme", "token": f.token, "reason": "break"});
        expect(&app, route, body, &missing("agentId")).await;
        // Wrong types: 1001.
        let body = with(json!({"ssid": 5}), reason.clone());
        expect(&app, route, body, &INVALID_DATA_TYPE).await;
    }
    // Nothing above changed anything.
    let events = app.history(&f.token, "7").await;
    let kinds: Vec<&Value> = events.iter().map(|e| &e["kind"]).collect();
    assert_eq!(kinds, vec!["login"]);

    // A suspended account: 1039, by ssid and by token.
    app.admin().set_suspended("acme", true).await.unwrap();
    for body in [f.by_ssid(), f.by_token()] {
        let body = with(body, json!({"reason": "break"}));
        for route in ["startBreak", "endBreak", "endWrapUp"] {
            expect(&app, route, body.clone(), &SUSPENDED).await;
        }
    }
}

async fn start_break_requires_a_reason(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let no_reason = missing("reason");
    expect(&app, "startBreak", f.by_ssid(), &no_reason).await;
    expect(&app, "startBreak", f.by_token(), &no_reason).await;
    for empty in [json!(""), json!("   "), json!(null)] {
        let body = with(f.by_ssid(), json!({ "reason": empty }));
        expect(&app, "startBreak", body, &no_reason).await;
    }
    // Missing credentials and reason are reported together.
    let body = json!({"userId": "acme", "token": f.token});
    expect(&app, "startBreak", body, &missing("agentId,reason")).await;
    // A reason that is not a string: 1001.
    for bad in [
        json!(5),
        json!(true),
        json!(["lunch"]),
        json!({"code": "lunch"}),
    ] {
        let body = with(f.by_ssid(), json!({ "reason": bad }));
        expect(&app, "startBreak", body, &INVALID_DATA_TYPE).await;
    }
    expect(&app, "agentOnBreak", f.by_ssid(), &NOT_ON_BREAK).await;
}

async fn reasons_match_code_or_label_ignoring_case(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    for (given, code_, label, limit) in [
        ("LUNCH", "lunch", "Lunch", json!(3600)),
        ("bReAk", "break", "Break", json!(900)),
        ("  personal  ", "personal", "Personal", json!(600)),
        ("Meeting", "meeting", "Meeting", json!(null)),
        ("TRAINING", "training", "Training", json!(null)),
    ] {
        let body = with(f.by_ssid(), json!({ "reason": given }));
        let data = app.call_ok("startBreak", body).await;
        let detail = &data["breakDetail"];
        assert_eq!(detail["reasonCode"], code_, "{given}");
        assert_eq!(detail["reason"], label, "{given}");
        assert_eq!(detail["limit"], limit, "{given}");
        app.call_ok("endBreak", f.by_ssid()).await;
    }
    // By a label that differs from the code, in any case.
    let body = json!({"code": "th-1", "label": "Team Huddle"});
    app.create_reason(&f.token, body).await;
    for given in ["Team Huddle", "team huddle", "TEAM HUDDLE", "th-1", "TH-1"] {
        let body = with(f.by_ssid(), json!({ "reason": given }));
        let detail = &app.call_ok("startBreak", body).await["breakDetail"];
        assert_eq!(detail["reasonCode"], "th-1", "{given}");
        assert_eq!(detail["reason"], "Team Huddle");
        app.call("endBreak", f.by_ssid()).await;
    }
    let body = with(f.by_ssid(), json!({"reason": "Team"}));
    expect(&app, "startBreak", body, &UNKNOWN_REASON).await;
    // A reason whose label is another reason's code: the code wins.
    let body = json!({"code": "coffee", "label": "lunch", "limitSeconds": 300});
    app.create_reason(&f.token, body).await;
    let body = with(f.by_ssid(), json!({"reason": "Lunch"}));
    let answer = app.call("startBreak", body).await;
    assert_eq!(
        answer["data"]["breakDetail"]["reasonCode"], "lunch",
        "{answer}"
    );
    app.call("endBreak", f.by_ssid()).await;
    let body = with(f.by_ssid(), json!({"reason": "COFFEE"}));
    let answer = app.call("startBreak", body).await;
    assert_eq!(answer["data"]["breakDetail"]["reasonCode"], "coffee");
    assert_eq!(answer["data"]["breakDetail"]["reason"], "lunch");
    assert_eq!(answer["data"]["breakDetail"]["limit"], 300);
}

async fn a_second_start_break_is_1507(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let body = with(f.by_ssid(), json!({"reason": "break"}));
    let first = app.call_ok("startBreak", body).await;
    for reason in ["break", "lunch"] {
        let body = with(f.by_ssid(), json!({ "reason": reason }));
        expect(&app, "startBreak", body, &ALREADY_ON_BREAK).await;
        let body = with(f.by_token(), json!({ "reason": reason }));
        expect(&app, "startBreak", body, &ALREADY_ON_BREAK).await;
    }
    // An unknown reason while on break: the reason is checked first.
    let body = with(f.by_ssid(), json!({"reason": "nap"}));
    expect(&app, "startBreak", body, &UNKNOWN_REASON).await;
    // The first break is untouched.
    let answer = app.call("agentOnBreak", f.by_ssid()).await;
    assert_eq!(answer["data"]["breakDetail"]["reasonCode"], "break");
    assert_eq!(
        answer["data"]["breakDetail"]["breakSTime"],
        first["breakDetail"]["breakSTime"]
    );
    let events = app.history(&f.token, "7").await;
    assert_eq!(of_kind(&events, "break.start").len(), 1);
    assert_eq!(of_kind(&events, "break.end").len(), 0);
}

async fn unknown_or_inactive_reason_is_1508(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let other = app.fixture("globex", "8").await;
    let body = with(f.by_ssid(), json!({"reason": "nap"}));
    expect(&app, "startBreak", body, &UNKNOWN_REASON).await;

    // Another account's reason is unknown here.
    let body = json!({"code": "siesta", "label": "Siesta"});
    app.create_reason(&other.token, body).await;
    let body = with(f.by_ssid(), json!({"reason": "siesta"}));
    expect(&app, "startBreak", body, &UNKNOWN_REASON).await;

    // An inactive reason: 1508 by code and by label; active again: accepted.
    let path = "/v1/break-reasons/lunch";
    let body = Some(json!({"active": false}));
    let data = app.v1_ok(Method::PATCH, path, &f.token, body, 200).await;
    assert_eq!(
        data,
        json!({"code": "lunch", "label": "Lunch", "limitSeconds": 3600, "active": false})
    );
    for reason in ["lunch", "Lunch"] {
        let body = with(f.by_ssid(), json!({ "reason": reason }));
        expect(&app, "startBreak", body, &UNKNOWN_REASON).await;
    }
    let body = Some(json!({"reason": "lunch"}));
    let (status, answer) = app
        .v1(Method::POST, "/v1/agents/7/break", &f.token, body)
        .await;
    assert_eq!((status, code(&answer)), (422, 1508), "{answer}");
    expect(&app, "agentOnBreak", f.by_ssid(), &NOT_ON_BREAK).await;

    let body = Some(json!({"active": true}));
    app.v1_ok(Method::PATCH, path, &f.token, body, 200).await;
    let body = with(f.by_ssid(), json!({"reason": "lunch"}));
    app.call_ok("startBreak", body).await;
    let events = app.history(&f.token, "7").await;
    assert_eq!(of_kind(&events, "break.start").len(), 1);
}

async fn end_break_when_not_on_break_is_1502(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let (status, text) = app.post_raw("endBreak", f.by_ssid().to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(
        text,
        r#"{"status":"error","message":"On break is : 0","code":1502}"#
    );
    assert_eq!(text.len(), 58);
    expect(&app, "endBreak", f.by_token(), &NOT_ON_BREAK).await;
    let events = app.history(&f.token, "7").await;
    assert!(of_kind(&events, "break.end").is_empty(), "{events:?}");
}

async fn end_wrap_up_when_not_in_wrap_up_is_1504(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    expect(&app, "endWrapUp", f.by_ssid(), &NOT_IN_WRAP_UP).await;
    expect(&app, "endWrapUp", f.by_token(), &NOT_IN_WRAP_UP).await;
    // Also right after a wrap-up was ended.
    start_wrap(&app, &f, json!({"callId": "c-1", "cNumber": "+1555"})).await;
    app.call_ok("endWrapUp", f.by_ssid()).await;
    expect(&app, "endWrapUp", f.by_ssid(), &NOT_IN_WRAP_UP).await;
    expect(&app, "wrapUp", f.by_ssid(), &NOT_IN_WRAP_UP).await;
    let events = app.history(&f.token, "7").await;
    assert_eq!(of_kind(&events, "wrap.end").len(), 1);
}

async fn a_disabled_agent_named_by_token_is_1510(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let path = "/v1/agents/7/disable";
    app.v1_ok(Method::POST, path, &f.token, None, 200).await;
    for route in [
        "startBreak",
        "endBreak",
        "endWrapUp",
        "agentOnBreak",
        "wrapUp",
        "checkAgentInWrapUp",
        "setWebPingTime",
    ] {
        let extra = json!({"reason": "break", "mic_perm": 1});
        let body = with(f.by_token(), extra.clone());
        expect(&app, route, body, &AGENT_DISABLED).await;
        // Its old ssid is just invalid.
        let body = with(f.by_ssid(), extra);
        if route == "setWebPingTime" {
            expect(&app, route, body, &SSID_NOT_VALID_FOR_PING).await;
        } else {
            expect(&app, route, body, &INVALID_PARAMETERS).await;
        }
    }
    // Enabled again: the token works, the old ssid stays logged out.
    app.v1_ok(Method::POST, "/v1/agents/7/enable", &f.token, None, 200)
        .await;
    let body = with(f.by_token(), json!({"reason": "break"}));
    app.call_ok("startBreak", body).await;
    expect(&app, "agentOnBreak", f.by_ssid(), &INVALID_PARAMETERS).await;
}

async fn new_account_has_the_default_break_reasons(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let data = app.v1_get("/v1/break-reasons", &f.token).await;
    assert_eq!(
        data,
        json!([
            {"code": "break", "label": "Break", "limitSeconds": 900, "active": true},
            {"code": "lunch", "label": "Lunch", "limitSeconds": 3600, "active": true},
            {"code": "personal", "label": "Personal", "limitSeconds": 600, "active": true},
            {"code": "meeting", "label": "Meeting", "limitSeconds": null, "active": true},
            {"code": "training", "label": "Training", "limitSeconds": null, "active": true},
        ])
    );
    // Each account has its own list.
    let other = app.fixture("globex", "1").await;
    let body = json!({"code": "nap", "label": "Nap"});
    app.create_reason(&other.token, body).await;
    let mine = app.v1_get("/v1/break-reasons", &f.token).await;
    assert_eq!(mine, data);
    let theirs = app.v1_get("/v1/break-reasons", &other.token).await;
    assert_eq!(theirs.as_array().unwrap().len(), 6);
}

async fn break_past_its_limit_is_flagged_everywhere_and_goes_on(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let body = json!({"code": "quick", "label": "Quick", "limitSeconds": 1});
    let reason = app.create_reason(&f.token, body).await;
    assert_eq!(
        reason,
        json!({"code": "quick", "label": "Quick", "limitSeconds": 1, "active": true})
    );
    let body = with(f.by_ssid(), json!({"reason": "quick"}));
    let data = app.call_ok("startBreak", body).await;
    let detail = &data["breakDetail"];
    assert_eq!(detail["overLimit"], false, "{detail}");
    assert_eq!(detail["limit"], 1);
    let started = detail["breakSTime"].as_i64().unwrap();

    tokio::time::sleep(Duration::from_millis(2100)).await;

    // agentOnBreak: flagged, still on break.
    let answer = app.call("agentOnBreak", f.by_ssid()).await;
    assert_eq!(
        code(&answer),
        0,
        "the break goes on past its limit: {answer}"
    );
    let detail = &answer["data"]["breakDetail"];
    assert_eq!(detail["overLimit"], true, "{detail}");
    assert_eq!(detail["limit"], 1);
    assert_eq!(detail["reasonCode"], "quick");
    assert_eq!(detail["reason"], "Quick");
    assert_eq!(detail["breakSTime"], started);
    assert!(detail["currentDuration"].as_i64().unwrap() >= 2, "{detail}");

    // The roster.
    let entry = app.roster_entry(&f.token, "7").await;
    assert_eq!(entry["state"], "on_break", "{entry}");
    let brk = &entry["break"];
    assert_eq!(brk["overLimit"], true, "{entry}");
    assert_eq!(brk["reasonCode"], "quick");
    assert_eq!(brk["reason"], "Quick");
    assert_eq!(brk["since"], started);
    assert_eq!(brk["limit"], 1);
    assert!(brk["elapsed"].as_i64().unwrap() >= 2, "{entry}");

    // Ending it: the answer and the history's break.end.
    let data = app.call_ok("endBreak", f.by_ssid()).await;
    let detail = &data["breakDetail"];
    assert_eq!(detail["overLimit"], true, "{detail}");
    let duration = detail["currentDuration"].as_i64().unwrap();
    assert!(duration >= 2, "{detail}");

    let events = app.history(&f.token, "7").await;
    let ends = of_kind(&events, "break.end");
    assert_eq!(ends.len(), 1, "{events:?}");
    assert_eq!(ends[0]["details"]["overLimit"], true, "{}", ends[0]);
    assert_eq!(ends[0]["details"]["duration"], duration, "{}", ends[0]);
    assert_eq!(ends[0]["details"]["reasonCode"], "quick");
    assert_eq!(ends[0]["at"].as_i64().unwrap() - started, duration);

    // A later short break of a reason without limit is never over.
    let body = with(f.by_ssid(), json!({"reason": "meeting"}));
    app.call("startBreak", body).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let entry = app.roster_entry(&f.token, "7").await;
    assert_eq!(entry["break"]["overLimit"], false, "{entry}");
    assert_eq!(entry["break"]["limit"], Value::Null, "{entry}");
}

/// A start by a name resolved before may be sent whole, assuming the reason it resolved to
/// (PostgreSQL): changed since, it is read again, and the answer, the state and the events
/// say the reason as it is now.
async fn a_reason_changed_since_the_last_break_is_read_again(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    for _ in 0..2 {
        app.call_ok("startBreak", with(f.by_ssid(), json!({"reason": "lunch"})))
            .await;
        app.call_ok("endBreak", f.by_ssid()).await;
    }
    let path = "/v1/break-reasons/lunch";
    let body = Some(json!({"label": "Long lunch", "limitSeconds": 5400}));
    app.v1_ok(Method::PATCH, path, &f.token, body, 200).await;
    let data = app
        .call_ok("startBreak", with(f.by_ssid(), json!({"reason": "lunch"})))
        .await;
    assert_eq!(data["breakDetail"]["reason"], "Long lunch");
    assert_eq!(data["breakDetail"]["limit"], 5400);
    let data = app.call_ok("agentOnBreak", f.by_ssid()).await;
    assert_eq!(data["breakDetail"]["reason"], "Long lunch");
    let data = app.call_ok("endBreak", f.by_ssid()).await;
    assert_eq!(data["breakDetail"]["reason"], "Long lunch");
    let events = app.history(&f.token, "7").await;
    let starts = of_kind(&events, "break.start");
    assert_eq!(starts.len(), 3);
    assert_eq!(starts[2]["details"]["reason"], "Long lunch");
    assert_eq!(starts[2]["details"]["limit"], 5400);
    assert_eq!(of_kind(&events, "break.end").len(), 3);

    // Inactive since: 1508, nothing written; a second break while on one: 1507.
    let body = Some(json!({"active": false}));
    app.v1_ok(Method::PATCH, path, &f.token, body, 200).await;
    let body = with(f.by_ssid(), json!({"reason": "lunch"}));
    expect(&app, "startBreak", body, &UNKNOWN_REASON).await;
    for _ in 0..2 {
        app.call_ok("startBreak", with(f.by_ssid(), json!({"reason": "break"})))
            .await;
        let body = with(f.by_ssid(), json!({"reason": "break"}));
        expect(&app, "startBreak", body, &ALREADY_ON_BREAK).await;
        app.call_ok("endBreak", f.by_ssid()).await;
        expect(&app, "endBreak", f.by_ssid(), &NOT_ON_BREAK).await;
    }
    let events = app.history(&f.token, "7").await;
    assert_eq!(of_kind(&events, "break.start").len(), 5);
    assert_eq!(of_kind(&events, "break.end").len(), 5);
}
