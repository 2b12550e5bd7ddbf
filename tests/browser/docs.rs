//! `/docs` (Swagger UI) in the browser.

use agentprofile_test_support::{Backend, ServerProcess, TestDb};
use fantoccini::Locator;

use crate::driver::{Browser, LIVE, until};

/// `/docs`, Swagger UI, under its Content-Security-Policy: it renders every operation, opens
/// one, and the policy refused nothing (and nothing came from another host).
pub async fn render_under_their_csp() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = ServerProcess::start(&db, &[]).await;
    let res = server.get_response("/docs/").await;
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.starts_with("default-src 'self';"), "{csp}");
    let c = browser.c();
    c.goto(&format!("{}/docs/", server.base)).await.unwrap();
    // Every route is an operation (40 of them).
    until("the operations", LIVE, || async {
        (browser.count(".opblock").await >= 40).then_some(())
    })
    .await;
    browser
        .click(Locator::Css(".opblock .opblock-summary"))
        .await;
    browser
        .until_count("an opened operation", ".opblock-body", 1, LIVE)
        .await;
    assert_eq!(browser.csp_violations().await, Vec::<String>::new());
    // Everything from the server (the stylesheet's own `data:` images come from no host).
    let urls = browser.requested_urls(&server.base).await;
    let origin = format!("{}/", server.base);
    let foreign: Vec<&String> = urls
        .iter()
        .filter(|u| !u.starts_with(&origin) && !u.starts_with("data:"))
        .collect();
    assert!(
        foreign.is_empty(),
        "/docs loaded from other hosts: {foreign:?}"
    );
    for ours in ["/docs/swagger-ui-bundle.js", "/openapi.json"] {
        assert!(
            urls.iter().any(|u| u.ends_with(ours)),
            "no {ours} in {urls:?}"
        );
    }
    browser.close().await;
}
