//! The board's files, and a supervisor's session on it: `follows_the_stream`, phase by phase.

use std::time::{Duration, Instant};

use agentprofile_test_support::{
    Backend, Http, Operator, ServerProcess, Service, TestDb, free_port, named, operator_on,
    sql_exec,
};
use fantoccini::Locator;
use reqwest::Method;
use serde_json::{Value, json};

use crate::driver::{Browser, LIVE, action_button, assert_only_from, row, until};

/// GETs one of the board's files: the HTTP status, the Content-Type and the body. What is there
/// has the policy the browser tests show the board works under.
async fn asset(server: &Http, path: &str) -> (u16, String, String) {
    let res = server.get_response(path).await;
    if res.status() == 200 {
        let csp = &res.headers()["content-security-policy"];
        assert!(
            csp.to_str().unwrap().starts_with("default-src 'self';"),
            "{path}"
        );
    }
    let status = res.status().as_u16();
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    (status, content_type, res.text().await.unwrap())
}

/// The page and its files: the right types, nothing inline (a `default-src 'self'` CSP fits),
/// nothing from another host, no credentials in localStorage.
pub async fn assets_are_served_with_their_types() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let server = ServerProcess::start(&db, &[]).await;
    let (status, content_type, html) = asset(&server, "/board").await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/html; charset=utf-8")
    );
    assert_eq!(asset(&server, "/board/").await.2, html);
    let (status, content_type, js) = asset(&server, "/board/app.js").await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/javascript; charset=utf-8")
    );
    let (status, content_type, css) = asset(&server, "/board/app.css").await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/css; charset=utf-8")
    );
    let (status, content_type, _) = asset(&server, "/board/icon.svg").await;
    assert_eq!((status, content_type.as_str()), (200, "image/svg+xml"));
    let (status, content_type, _) = asset(&server, "/board/nothing.js").await;
    assert_eq!(
        (status, content_type.as_str()),
        (404, "application/json; charset=utf-8")
    );

    // No inline script, style or handler; every script and stylesheet is ours.
    assert!(html.contains(r#"<script src="/board/app.js" defer></script>"#));
    assert!(html.contains(r#"<script src="/board/reports.js" defer></script>"#));
    assert!(html.contains(r#"<link rel="stylesheet" href="/board/app.css">"#));
    assert_eq!(html.matches("<script").count(), 2, "two scripts, files");
    let (status, content_type, reports_js) = asset(&server, "/board/reports.js").await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/javascript; charset=utf-8")
    );
    assert!(!reports_js.contains("innerHTML") && !reports_js.contains("localStorage"));
    for inline in [
        "<style",
        " style=",
        " onclick=",
        " onload=",
        " onsubmit=",
        "javascript:",
    ] {
        assert!(!html.contains(inline), "the page has inline code: {inline}");
    }
    for text in [&html, &js, &css] {
        for foreign in ["http://", "https://", "//cdn", "@import", "url("] {
            assert!(
                !text.contains(foreign),
                "a reference to another host: {foreign}"
            );
        }
    }
    assert!(
        !js.contains("localStorage"),
        "credentials stay in sessionStorage"
    );
    assert!(!js.contains("innerHTML"), "text goes in as text");
    assert!(js.contains("sessionStorage") && js.contains("/v1/stream/tickets"));
}

/// Signs in, sees the roster, follows a break started through the API without a reload, ends it
/// from the board, follows the stream across a server restart, signs out; nothing but the
/// server was ever asked for anything.
pub async fn follows_the_stream(backend: Backend) {
    let Some(acme) = Acme::set_up(backend).await else {
        return;
    };
    let server = ServerProcess::start_on(&acme.db, acme.port, &[]).await;
    signing_in_opens_the_board(&acme, &server).await;
    credentials_stay_in_the_tabs_session_storage(&acme, &server).await;
    a_break_shows_live_and_ticks(&acme, &server).await;
    a_search_narrows_the_rows(&acme).await;
    end_break_from_the_board(&acme, &server).await;
    a_wrap_up_shows_and_ends(&acme, &server).await;
    a_call_shows_live_and_ends(&acme, &server).await;
    a_refused_action_shows_its_message(&acme, &server).await;
    let server = the_stream_survives_a_restart(&acme, server).await;
    nothing_but_the_server_was_asked(&acme, &server).await;
    signing_out_forgets_the_credentials(&acme).await;
    acme.browser.close().await;
}

/// What `follows_the_stream`'s phases share: the account `acme` (agents 7 and 8 logged in, 9 and
/// `x/1 ?` not), its token, the browser, and the port its server is on (the same after a
/// restart).
struct Acme {
    browser: Browser,
    service: Service,
    token: String,
    port: u16,
    // Last: the database outlives what uses it.
    db: TestDb,
}

impl Acme {
    /// None where the database or the browser is skipped.
    async fn set_up(backend: Backend) -> Option<Acme> {
        let db = TestDb::new(backend).await?;
        let browser = Browser::start().await?;
        let service = operator_on(&db).await;
        let admin = Operator { service: &service };
        admin.create_account("acme", "ACME support").await.unwrap();
        for (id, name) in [("7", "Ann Lee"), ("8", "Bob Stone"), ("9", "Cy Ortiz")] {
            admin.create_agent("acme", named(id, name)).await.unwrap();
        }
        admin
            .create_agent("acme", named("x/1 ?", "Odd Id"))
            .await
            .unwrap();
        let token = admin.create_token("acme").await.unwrap();
        admin.create_session("acme", "7").await.unwrap();
        admin.create_session("acme", "8").await.unwrap();
        Some(Acme {
            browser,
            service,
            token,
            port: free_port(),
            db,
        })
    }

    fn admin(&self) -> Operator<'_> {
        Operator {
            service: &self.service,
        }
    }
}

/// Waits until the API's roster entry of `agent_id` is `done`: what the board did has landed.
async fn until_entry(
    server: &Http,
    what: &str,
    token: &str,
    agent_id: &str,
    done: fn(&Value) -> bool,
) {
    until(what, LIVE, || async {
        let roster = server.roster(token).await;
        let entry = roster.iter().find(|e| e["agentId"] == agent_id);
        done(entry.unwrap_or_else(|| panic!("no agent {agent_id} in {roster:?}"))).then_some(())
    })
    .await;
}

/// A token of another account is refused, the right one opens the board.
async fn signing_in_opens_the_board(acme: &Acme, server: &Http) {
    let (browser, token) = (&acme.browser, &acme.token);
    browser
        .c()
        .goto(&format!("{}/board", server.base))
        .await
        .unwrap();
    browser.sign_in("acme-not", token).await;
    browser
        .until_message(
            "the sign-in refusal",
            "#signin-error",
            "#signin-error",
            "another account",
        )
        .await;
    assert!(browser.attr("#board", "hidden").await.is_some());
    browser.sign_in("acme", token).await;
    browser
        .until_count("four roster rows", "#rows tr[data-agent-id]", 4, LIVE)
        .await;
    browser.until_state("7", "available").await;
    browser.until_state("9", "offline").await;
    let ann = browser.text(&row("7")).await.unwrap();
    assert!(
        ann.contains("Ann Lee") && ann.contains("Available"),
        "{ann}"
    );
    assert!(
        browser
            .text("#account-name")
            .await
            .unwrap()
            .contains("ACME support")
    );
    assert_eq!(
        browser.text("[data-count=\"available\"]").await.unwrap(),
        "2"
    );
    assert_eq!(browser.text("[data-count=\"offline\"]").await.unwrap(), "2");
}

/// The credentials: in this tab's session storage, nowhere else.
async fn credentials_stay_in_the_tabs_session_storage(acme: &Acme, server: &Http) {
    let kept = acme
        .browser
        .js(
            "return [sessionStorage.getItem('agentprofile.board.session'), localStorage.length, \
             location.href, document.cookie];",
            vec![],
        )
        .await;
    let stored: Value = serde_json::from_str(kept[0].as_str().expect("a session")).unwrap();
    assert_eq!(stored, json!({"userId": "acme", "token": acme.token}));
    assert_eq!(kept[1], 0, "nothing in localStorage");
    assert_eq!(
        kept[2],
        format!("{}/board", server.base),
        "no credentials in the URL"
    );
    assert_eq!(kept[3], "", "no cookies");
}

/// Live: a break started through the API shows without a reload, and its time in state ticks.
async fn a_break_shows_live_and_ticks(acme: &Acme, server: &Http) {
    let browser = &acme.browser;
    browser.until_conn("live", LIVE).await;
    browser
        .js("window.__sameDocument = 42; return null;", vec![])
        .await;
    let lunch = json!({"reason": "lunch"});
    let path = "/v1/agents/7/break";
    server
        .v1_ok(Method::POST, path, &acme.token, Some(lunch), 201)
        .await;
    let started = Instant::now();
    browser.until_state("7", "on_break").await;
    eprintln!(
        "the board showed the break {:?} after the API answered",
        started.elapsed()
    );
    let ann = browser.text(&row("7")).await.unwrap();
    assert!(
        ann.contains("On break") && ann.contains("Lunch") && ann.contains("Limit 1:00:00"),
        "{ann}"
    );
    assert_eq!(
        browser.js("return window.__sameDocument;", vec![]).await,
        42,
        "the page was reloaded"
    );
    assert_eq!(
        browser.text("[data-count=\"on_break\"]").await.unwrap(),
        "1"
    );
    let elapsed = format!("{} .elapsed", row("7"));
    let first = browser.text(&elapsed).await.unwrap();
    until(
        "the time in state to tick",
        Duration::from_secs(3),
        || async {
            let now = browser.text(&elapsed).await.unwrap();
            (now != first).then_some(())
        },
    )
    .await;
}

/// A search narrows the rows; the agent with an odd id is found and stays addressable.
async fn a_search_narrows_the_rows(acme: &Acme) {
    let browser = &acme.browser;
    let search = browser.c().find(Locator::Id("search")).await.unwrap();
    search.send_keys("odd").await.unwrap();
    browser
        .until_count("the search to leave one row", "#rows tr", 1, LIVE)
        .await;
    assert!(
        browser
            .text(&row("x/1 ?"))
            .await
            .unwrap()
            .contains("Odd Id")
    );
    search.clear().await.unwrap();
    browser
        .js(
            "document.getElementById('search').dispatchEvent(new Event('input')); return null;",
            vec![],
        )
        .await;
    browser
        .until_count("every row back", "#rows tr", 4, LIVE)
        .await;
}

/// End break, from the board: the API says it ended, and the row follows.
async fn end_break_from_the_board(acme: &Acme, server: &Http) {
    let browser = &acme.browser;
    browser.click_action("7", "end-break").await;
    let what = "the API to see the break ended";
    until_entry(server, what, &acme.token, "7", |entry| {
        entry["state"] == "available" && entry["break"].is_null()
    })
    .await;
    browser.until_state("7", "available").await;
    assert!(
        browser
            .attr(&action_button("7", "end-break"), "hidden")
            .await
            .is_some()
    );
    assert!(
        browser.attr("#action-error", "hidden").await.is_some(),
        "no error shown"
    );
}

/// A wrap-up started through the API shows with its call and countdown; End wrap-up ends it.
async fn a_wrap_up_shows_and_ends(acme: &Acme, server: &Http) {
    let browser = &acme.browser;
    let wrap = json!({"callId": "c-1", "cNumber": "+15550100", "seconds": 600});
    let path = "/v1/agents/8/wrap-up";
    server
        .v1_ok(Method::POST, path, &acme.token, Some(wrap), 201)
        .await;
    browser.until_state("8", "wrap_up").await;
    let wrap = browser.text(&row("8")).await.unwrap();
    assert!(
        wrap.contains("Wrap-up")
            && wrap.contains("Call c-1")
            && (wrap.contains("Ends in 10:00") || wrap.contains("Ends in 9:5")),
        "{wrap}"
    );
    browser.click_action("8", "end-wrap").await;
    let what = "the API to see the wrap-up ended";
    until_entry(server, what, &acme.token, "8", |entry| {
        entry["wrapUp"].is_null()
    })
    .await;
    browser.until_state("8", "available").await;
}

/// A call started through the API shows live with the customer's number and its time on the
/// call; its end takes the row back to available.
async fn a_call_shows_live_and_ends(acme: &Acme, server: &Http) {
    let browser = &acme.browser;
    let call = json!({"callId": "c-9", "cNumber": "+15550199", "direction": "outbound"});
    server.start_call(&acme.token, "7", call).await;
    browser.until_state("7", "on_call").await;
    let ann = browser.text(&row("7")).await.unwrap();
    assert!(
        ann.contains("On a call")
            && ann.contains("+15550199")
            && ann.contains("On call 0:0")
            && ann.contains("Outbound call c-9"),
        "{ann}"
    );
    assert_eq!(browser.text("[data-count=\"on_call\"]").await.unwrap(), "1");
    server.end_call(&acme.token, "7", "outcome=missed").await;
    browser.until_state("7", "available").await;
    assert_eq!(browser.text("[data-count=\"on_call\"]").await.unwrap(), "0");
}

/// A refused action shows the envelope's message: End break of a break ended behind the
/// server's back (in SQL, which announces nothing), so the button is still there.
async fn a_refused_action_shows_its_message(acme: &Acme, server: &Http) {
    let browser = &acme.browser;
    let personal = json!({"reason": "personal"});
    let path = "/v1/agents/8/break";
    server
        .v1_ok(Method::POST, path, &acme.token, Some(personal), 201)
        .await;
    browser.until_state("8", "on_break").await;
    // The roster read the board does after an action (the End wrap-up before) is done by now.
    tokio::time::sleep(Duration::from_secs(1)).await;
    sql_exec(
        &acme.db,
        "UPDATE breaks SET ended_at = started_at WHERE ended_at IS NULL \
         AND agent_pk = (SELECT id FROM agents WHERE agent_id = '8')",
    )
    .await;
    browser.click_action("8", "end-break").await;
    browser
        .until_message(
            "the refusal to show",
            "#action-error",
            "#action-error-text",
            "End break for Bob Stone (8) failed: On break is : 0",
        )
        .await;
    // And the roster read after it shows the truth.
    browser.until_state("8", "available").await;
    browser.click(Locator::Id("action-error-close")).await;
    assert!(browser.attr("#action-error", "hidden").await.is_some());
}

/// The server goes away: the board says so, reconnects with a new ticket when it is back,
/// catches up with what changed meanwhile (from the roster, merged by lastEventId), and follows
/// live again. Returns the new server.
async fn the_stream_survives_a_restart(acme: &Acme, server: ServerProcess) -> ServerProcess {
    let browser = &acme.browser;
    server.kill9().await;
    browser.until_conn("reconnecting", LIVE).await;
    acme.admin()
        .start_break("acme", "9", "meeting")
        .await
        .unwrap();
    let server = ServerProcess::start_on(&acme.db, acme.port, &[]).await;
    browser.until_conn("live", Duration::from_secs(15)).await;
    browser.until_state("9", "on_break").await;
    let path = "/v1/agents/9/break";
    server
        .v1_ok(Method::DELETE, path, &acme.token, None, 200)
        .await;
    browser.until_state("9", "offline").await;
    server
}

/// Nothing came from, or went to, any other host, and the page's CSP refused nothing.
async fn nothing_but_the_server_was_asked(acme: &Acme, server: &Http) {
    let browser = &acme.browser;
    let urls = browser.requested_urls(&server.base).await;
    assert_only_from(server, &urls);
    assert_eq!(browser.csp_violations().await, Vec::<String>::new());
    assert!(
        urls.iter().any(|u| u.contains("/v1/stream?ticket=")),
        "the stream was opened with a ticket: {urls:?}"
    );
    assert!(
        !urls.iter().any(|u| u.contains(&acme.token)),
        "the token was in a URL"
    );
}

/// Signing out forgets the credentials.
async fn signing_out_forgets_the_credentials(acme: &Acme) {
    let browser = &acme.browser;
    browser.click(Locator::Id("signout")).await;
    until("the sign-in form", LIVE, || async {
        browser
            .attr("#signin", "hidden")
            .await
            .is_none()
            .then_some(())
    })
    .await;
    let kept = browser
        .js(
            "return sessionStorage.getItem('agentprofile.board.session');",
            vec![],
        )
        .await;
    assert_eq!(kept, Value::Null);
    assert_eq!(browser.count("#rows tr").await, 0);
}
