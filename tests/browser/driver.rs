//! The browser: headless Chromium through chromedriver (fantoccini), one at a time, and what
//! the tests ask of a page; polling with a deadline.

use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use agentprofile_test_support::{Http, free_port, skip};
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// The board must show a change this soon after the API made it (the issue's bound).
pub const LIVE: Duration = Duration::from_secs(5);

/// Polls `check` until it gives a value; fails after `timeout`, saying what was awaited.
pub async fn until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(started.elapsed() < timeout, "waited {timeout:?} for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The selector of an agent's row on the board (agent ids may hold quotes).
pub fn row(id: &str) -> String {
    format!("#rows tr[data-agent-id=\"{}\"]", id.replace('"', "\\\""))
}

/// The selector of the `action` button in an agent's row.
pub fn action_button(agent: &str, action: &str) -> String {
    format!("{} button[data-action=\"{action}\"]", row(agent))
}

/// chromedriver (in a process group of its own, with the Chromium it starts) and a session.
pub struct Browser {
    client: Option<Client>,
    driver: Child,
    _profile: tempfile::TempDir,
    /// The one browser's turn (see `ONE_BROWSER`), held until this browser is gone.
    _one: tokio::sync::MutexGuard<'static, ()>,
}

fn tool(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// Only one browser at a time: two Chromiums on a 2-core CI machine make timings flaky.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Browser {
    /// A headless Chromium, or None where it is not installed (a loud skip; under CI a failure).
    pub async fn start() -> Option<Browser> {
        let one = ONE_BROWSER.lock().await;
        let chromium = tool("CHROMIUM", "/usr/bin/chromium");
        let chromedriver = tool("CHROMEDRIVER", "/usr/bin/chromedriver");
        for (what, path, var) in [
            ("chromium", &chromium, "CHROMIUM"),
            ("chromedriver", &chromedriver, "CHROMEDRIVER"),
        ] {
            if !path.exists() {
                skip(
                    &format!("{what} is missing at {}", path.display()),
                    &format!(
                        "Install chromium and chromium-driver (apt-get install chromium \
                         chromium-driver) or set {var}"
                    ),
                );
                return None;
            }
        }
        let port = free_port();
        let mut cmd = Command::new(&chromedriver);
        cmd.arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .process_group(0)
            .kill_on_drop(true);
        if std::env::var_os("TEST_LOG").is_none() {
            cmd.stderr(Stdio::null());
        }
        let driver = cmd.spawn().expect("start chromedriver");
        let webdriver = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        until(
            "chromedriver to be ready",
            Duration::from_secs(20),
            || async {
                let res = http.get(format!("{webdriver}/status")).send().await.ok()?;
                let status: Value = res.json().await.ok()?;
                status["value"]["ready"].as_bool().filter(|r| *r)
            },
        )
        .await;
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--window-size=1400,900",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--hide-scrollbars",
                    "--force-color-profile=srgb",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
            // Every network request the page makes, from the DevTools protocol.
            // …and the console, where Chromium reports what a Content-Security-Policy refused.
            "goog:loggingPrefs": { "performance": "ALL", "browser": "ALL" },
        });
        let caps = caps.as_object().unwrap().clone().into_iter().collect();
        // With both of rustls's providers compiled in, it cannot pick one by itself.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = ClientBuilder::rustls()
            .expect("rustls connector")
            .capabilities(caps)
            .connect(&webdriver)
            .await
            .expect("a chromedriver session");
        Some(Browser {
            client: Some(client),
            driver,
            _profile: profile,
            _one: one,
        })
    }

    pub fn c(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) in the page.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.c()
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// An attribute of the first element matching `selector`, or None (no element, no attribute).
    pub async fn attr(&self, selector: &str, name: &str) -> Option<String> {
        let v = self
            .js(
                "const n = document.querySelector(arguments[0]); \
                 return n ? n.getAttribute(arguments[1]) : null;",
                vec![json!(selector), json!(name)],
            )
            .await;
        v.as_str().map(str::to_owned)
    }

    /// The visible text of the first element matching `selector`, or None.
    pub async fn text(&self, selector: &str) -> Option<String> {
        let v = self
            .js(
                "const n = document.querySelector(arguments[0]); return n ? n.innerText : null;",
                vec![json!(selector)],
            )
            .await;
        v.as_str().map(str::to_owned)
    }

    pub async fn count(&self, selector: &str) -> u64 {
        self.js(
            "return document.querySelectorAll(arguments[0]).length;",
            vec![json!(selector)],
        )
        .await
        .as_u64()
        .unwrap()
    }

    /// Waits until the element matching `selector` has `name` = `want`.
    pub async fn until_attr(&self, selector: &str, name: &str, want: &str, timeout: Duration) {
        let what = format!("{selector} to have {name}={want:?}");
        until(&what, timeout, || async {
            (self.attr(selector, name).await.as_deref() == Some(want)).then_some(())
        })
        .await;
    }

    /// Waits until the row of `agent` shows `state` (within the board's bound, `LIVE`).
    pub async fn until_state(&self, agent: &str, state: &str) {
        self.until_attr(&row(agent), "data-state", state, LIVE)
            .await;
    }

    /// Waits until the connection indicator says `state`.
    pub async fn until_conn(&self, state: &str, timeout: Duration) {
        self.until_attr("#conn", "data-state", state, timeout).await;
    }

    /// Waits until exactly `n` elements match `selector`.
    pub async fn until_count(&self, what: &str, selector: &str, n: u64, timeout: Duration) {
        until(what, timeout, || async {
            (self.count(selector).await == n).then_some(())
        })
        .await;
    }

    /// Waits until the message box `shown` is no longer hidden and `text` in it says `needle`.
    pub async fn until_message(&self, what: &str, shown: &str, text: &str, needle: &str) {
        until(what, LIVE, || async {
            let open = self.attr(shown, "hidden").await.is_none();
            let said = self.text(text).await.unwrap_or_default();
            (open && said.contains(needle)).then_some(())
        })
        .await;
    }

    /// Clicks the element `locator` finds now (it must be there).
    pub async fn click(&self, locator: Locator<'_>) {
        let c = self.c();
        c.find(locator).await.unwrap().click().await.unwrap();
    }

    /// Clicks a row's action button (`end-break`, `end-wrap`), as a supervisor would.
    pub async fn click_action(&self, agent: &str, action: &str) {
        self.click(Locator::Css(&action_button(agent, action)))
            .await;
    }

    /// Opens the board, signs in as `acme`, waits for its `rows` rows (`what`) and the live
    /// stream, and sorts it by state: what needs a supervisor first.
    pub async fn open_sorted_by_state(
        &self,
        server: &Http,
        token: &str,
        what: &str,
        rows: u64,
        timeout: Duration,
    ) {
        self.c()
            .goto(&format!("{}/board", server.base))
            .await
            .unwrap();
        self.sign_in("acme", token).await;
        self.until_count(what, "#rows tr[data-agent-id]", rows, timeout)
            .await;
        self.until_conn("live", LIVE).await;
        self.click(Locator::Css("button.sort[data-sort=\"state\"]"))
            .await;
    }

    /// Signs in on the open sign-in form.
    pub async fn sign_in(&self, user_id: &str, token: &str) {
        let c = self.c();
        let user = c
            .wait()
            .for_element(Locator::Id("signin-user"))
            .await
            .unwrap();
        user.clear().await.unwrap();
        user.send_keys(user_id).await.unwrap();
        let secret = c.find(Locator::Id("signin-token")).await.unwrap();
        secret.clear().await.unwrap();
        secret.send_keys(token).await.unwrap();
        self.click(Locator::Id("signin-submit")).await;
    }

    /// Every URL the page loaded or called: the navigation, the resource timing entries, and the
    /// requests of Chromium's DevTools log (which also has those the page never finished).
    pub async fn requested_urls(&self, origin: &str) -> Vec<String> {
        let timing = self
            .js(
                "return performance.getEntriesByType('navigation')\
                 .concat(performance.getEntriesByType('resource')).map(e => e.name);",
                vec![],
            )
            .await;
        let mut urls: Vec<String> = timing
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap().to_owned())
            .collect();
        let log = self
            .c()
            .issue_cmd(ChromeLog("performance"))
            .await
            .expect("Chromium's performance log");
        for entry in log.as_array().expect("log entries") {
            let Some(message) = entry["message"].as_str() else {
                continue;
            };
            let message: Value = serde_json::from_str(message).unwrap();
            let (method, params) = (&message["message"]["method"], &message["message"]["params"]);
            // Requests of the board's documents (not of the blank tab Chromium opened with).
            let ours = params["documentURL"]
                .as_str()
                .is_some_and(|d| d.starts_with(origin));
            if method == "Network.requestWillBeSent" && ours {
                if let Some(url) = params["request"]["url"].as_str() {
                    urls.push(url.to_owned());
                }
            }
        }
        urls
    }

    /// What the page's Content-Security-Policy refused, from the console log (read once).
    pub async fn csp_violations(&self) -> Vec<String> {
        let log = self
            .c()
            .issue_cmd(ChromeLog("browser"))
            .await
            .expect("Chromium's console log");
        log.as_array()
            .expect("log entries")
            .iter()
            .filter_map(|e| e["message"].as_str())
            .filter(|m| m.contains("Content Security Policy"))
            .map(str::to_owned)
            .collect()
    }

    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
        let _ = self.driver.start_kill();
        let _ = self.driver.wait().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A failed test: chromedriver and the Chromium it started share its process group.
        if let Some(pid) = self.driver.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// chromedriver's `POST /session/{id}/se/log`: the entries of one log since the last read.
#[derive(Debug)]
struct ChromeLog(&'static str);

impl WebDriverCompatibleCommand for ChromeLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (reqwest::Method, Option<String>) {
        (
            reqwest::Method::POST,
            Some(json!({ "type": self.0 }).to_string()),
        )
    }
}

/// Every URL must be the server's (or the page's own `about:`/`data:` nothing).
pub fn assert_only_from(server: &Http, urls: &[String]) {
    let origin = format!("{}/", server.base);
    let foreign: Vec<&String> = urls.iter().filter(|u| !u.starts_with(&origin)).collect();
    assert!(
        foreign.is_empty(),
        "the board made requests to other hosts: {foreign:?}"
    );
    for needed in [
        "/board",
        "/board/app.js",
        "/board/app.css",
        "/v1/account",
        "/v1/roster",
    ] {
        assert!(
            urls.iter().any(|u| u
                .strip_prefix(origin.trim_end_matches('/'))
                .is_some_and(|path| path == needed || path.starts_with(&format!("{needed}?")))),
            "no request for {needed} seen in {urls:?}: the request lists are not what they seem"
        );
    }
}
