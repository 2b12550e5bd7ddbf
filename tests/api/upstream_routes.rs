//! The upstream routes' answers, on both databases.

use crate::support::{PREFIX, TestApp, wrap};

on_both_databases! {
    not_on_break_is_the_reference_pages_58_bytes, on_break_answers_its_detail_by_ssid_and_by_token,
    wrap_up_answers_time_left_under_both_names,
}

async fn not_on_break_is_the_reference_pages_58_bytes(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let (status, body) = app
        .post_raw("agentOnBreak", format!(r#"{{"ssid":"{}"}}"#, f.ssid))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        r#"{"status":"error","message":"On break is : 0","code":1502}"#
    );
    assert_eq!(body.len(), 58);
}

async fn on_break_answers_its_detail_by_ssid_and_by_token(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    app.admin().start_break("acme", "7", "Lunch").await.unwrap();
    for body in [f.by_ssid(), f.by_token_for(7)] {
        let data = app.call_ok("agentOnBreak", body).await;
        assert_eq!(data["on_break"], 1);
        assert_eq!(data["agent_id"], "7");
        assert_eq!(data["user_id"], "acme");
        assert_eq!(data["breakDetail"]["reason"], "Lunch");
        assert!(data["breakDetail"]["breakSTime"].as_i64().unwrap() > 1_700_000_000);
        assert!(data["breakDetail"]["currentDuration"].as_i64().unwrap() >= 0);
        assert_eq!(
            data["breakDetail"]["limit"], 3600,
            "Lunch has a one-hour limit by default"
        );
        assert_eq!(data["breakDetail"]["reasonCode"], "lunch");
    }
    app.admin().end_break("acme", "7").await.unwrap();
    assert_eq!(app.call_code("agentOnBreak", f.by_ssid()).await, 1502);
}

async fn wrap_up_answers_time_left_under_both_names(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    for route in ["wrapUp", "checkAgentInWrapUp"] {
        assert_eq!(app.call_code(route, f.by_ssid()).await, 1504);
    }
    app.admin()
        .start_wrap_up("acme", "7", wrap("call-1", "+15550100", Some(30)))
        .await
        .unwrap();
    for prefix in [PREFIX, "/deepcall/api/v2/agentProfile"] {
        for route in ["wrapUp", "checkAgentInWrapUp"] {
            let answer = app.call_at(prefix, route, f.by_ssid()).await;
            let data = &answer["data"];
            assert_eq!(data["response"], 1, "{answer}");
            assert_eq!(data["callId"], "call-1");
            assert_eq!(data["cNumber"], "+15550100");
            let left = data["currentDuration"].as_i64().unwrap();
            assert!((28..=30).contains(&left), "{left}");
            let now = crate::support::now_unix();
            assert!((data["wrapETime"].as_i64().unwrap() - now - left).abs() <= 1);
        }
    }
}
