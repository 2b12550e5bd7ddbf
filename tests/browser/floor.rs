//! Busy floors on the board: 40 agents in every state (a screenshot), and 1,000 agents with 50
//! changes a second; their seeding.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use agentprofile_test_support::{
    Backend, Operator, ServerProcess, TestDb, WrapMode, WrapRequest, named, now_unix, operator_on,
};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::driver::{Browser, LIVE, assert_only_from, until};

/// Whether these bytes are a PNG image with a non-empty picture.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 33 || &bytes[..8] != MAGIC || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (width > 0 && height > 0).then_some((width, height))
}

fn screenshot_path() -> Option<PathBuf> {
    let path = std::env::var_os("BOARD_SCREENSHOT")?;
    let path = Path::new(&path);
    Some(if path.is_absolute() {
        path.to_owned()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
    })
}

/// A busy floor (40 agents: breaks of every reason, some past their limit, wrap-ups, offline and
/// disabled agents, microphones denied) as the board shows it: a PNG, always checked, written
/// to `BOARD_SCREENSHOT` when it is set (the README's `docs/board.png`), and a phone-sized one.
pub async fn screenshot_of_a_busy_floor() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let Some(browser) = Browser::start().await else {
        return;
    };
    let floor = seed_floor(&db).await;
    let server = ServerProcess::start(&db, &[]).await;
    let c = browser.c();
    c.set_window_size(1400, 1440).await.unwrap();
    // What needs a supervisor first: sorted by state (breaks past their limit on top).
    browser
        .open_sorted_by_state(&server, &floor.token, "40 roster rows", 40, LIVE)
        .await;
    browser
        .until_attr("#rows tr:first-child", "class", "st-on_break over", LIVE)
        .await;
    let over = browser.text("[data-count=\"over\"]").await.unwrap();
    assert_eq!(over, "3", "three breaks past their limit");
    assert!(browser.count("#rows tr.over").await == 3);
    assert_eq!(browser.count("#rows .mic-denied").await, 3);
    assert_eq!(browser.count("#rows tr[data-presence=\"stale\"]").await, 3);
    // Ticks in the picture are whole: wait for the next second to be drawn.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let wide = c.screenshot().await.unwrap();
    let (width, height) = png_size(&wide).expect("the screenshot is a PNG");
    assert!(width >= 1000 && height >= 600, "{width}x{height}");

    // A phone: cards, still every agent.
    c.set_window_size(390, 844).await.unwrap();
    until("the card layout", LIVE, || async {
        let display = browser
            .js(
                "return getComputedStyle(document.querySelector('#rows tr')).display;",
                vec![],
            )
            .await;
        (display == "grid").then_some(())
    })
    .await;
    let phone = c.screenshot().await.unwrap();
    png_size(&phone).expect("the phone screenshot is a PNG");

    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::write(tmp.join("board.png"), &wide).unwrap();
    std::fs::write(tmp.join("board-phone.png"), &phone).unwrap();
    if let Some(path) = screenshot_path() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(&path, &wide).unwrap();
        eprintln!("wrote the board's screenshot to {}", path.display());
    }
    let urls = browser.requested_urls(&server.base).await;
    assert_only_from(&server, &urls);
    browser.close().await;
}

/// The busy floor's account: its token.
struct Floor {
    token: String,
}

const FLOOR: [&str; 40] = [
    "Amara Okafor",
    "Ben Carter",
    "Chloé Dubois",
    "Dev Patel",
    "Elena Rossi",
    "Farid Haddad",
    "Grace Kim",
    "Hugo Martins",
    "Ines García",
    "Jonas Weber",
    "Keiko Tanaka",
    "Liam O'Brien",
    "Maya Cohen",
    "Nikos Papadakis",
    "Olivia Brown",
    "Pedro Alves",
    "Quinn Taylor",
    "Rania Aziz",
    "Sven Lindqvist",
    "Tara Singh",
    "Umar Farouk",
    "Vera Novak",
    "Wei Zhang",
    "Ximena Ruiz",
    "Yusuf Demir",
    "Zoe Walker",
    "Aisha Bello",
    "Bruno Costa",
    "Carla Mendes",
    "Daniel Levi",
    "Emma Schulz",
    "Felix Wagner",
    "Gita Rao",
    "Hana Sato",
    "Ivan Petrov",
    "Julia Nowak",
    "Kofi Mensah",
    "Lucia Ferri",
    "Mateo Silva",
    "Nora Hansen",
];

/// 40 agents: 12 on break (3 past their limit), 6 in wrap-up, 16 available, 5 offline, 1
/// disabled; backdated in SQL before the server starts, so the times look like a real shift.
async fn seed_floor(db: &TestDb) -> Floor {
    let service = operator_on(db).await;
    let admin = Operator { service: &service };
    admin
        .create_account("acme", "ACME support · floor 2")
        .await
        .unwrap();
    let token = admin.create_token("acme").await.unwrap();
    let id = |i: usize| format!("{}", 1001 + i);
    // (agent, microphone, seconds since its browser was last heard from) of the logged-in.
    let mut heard = Vec::new();
    for (i, name) in FLOOR.iter().enumerate() {
        let mut agent = named(&id(i), name);
        if i == 17 {
            agent.wrap_mode = Some(WrapMode::Forced);
        }
        if i == 19 {
            agent.wrap_mode = Some(WrapMode::Untimed);
        }
        admin.create_agent("acme", agent).await.unwrap();
        // 34 to 38 are offline, 39 disabled; the others are logged in.
        if i < 34 {
            admin.create_session("acme", &id(i)).await.unwrap();
            let mic = match i {
                4 | 13 | 22 => Some("denied"),
                10 | 27 => Some("prompt"),
                30 | 31 => None, // no ping yet: microphone unknown
                _ => Some("granted"),
            };
            // Stale: a background tab, heard from 2 to 4 min ago; offline though logged in: 7 min.
            let ago = match i {
                8 | 21 | 29 => 130 + 40 * (i as i64 % 3),
                24 => 7 * 60,
                _ => 2 + (i as i64 * 7) % 19,
            };
            heard.push((i, mic, ago));
        }
    }
    admin
        .set_agent_disabled("acme", &id(39), true)
        .await
        .unwrap();
    // Breaks: (agent, reason, seconds ago). Limits: break 15 min, lunch 60, personal 10.
    let breaks: [(usize, &str, i64); 12] = [
        (2, "personal", 13 * 60 + 41), // past its 10 min
        (6, "break", 17 * 60 + 5),     // past its 15 min
        (11, "lunch", 64 * 60 + 12),   // past its hour
        (0, "break", 4 * 60 + 12),
        (4, "lunch", 23 * 60 + 30),
        (8, "meeting", 35 * 60 + 2),
        (13, "training", 48 * 60 + 40),
        (15, "break", 90),
        (21, "personal", 6 * 60 + 18),
        (24, "lunch", 41 * 60 + 55),
        (28, "break", 9 * 60 + 3),
        (35, "lunch", 12 * 60 + 20), // an offline agent's open break
    ];
    // Wrap-ups: (agent, seconds long, seconds ago).
    let wraps: [(usize, i64, i64); 6] = [
        (3, 60, 22),
        (10, 120, 75),
        (17, 180, 40), // forced: only a supervisor may end it early
        (19, 0, 130),  // untimed
        (23, 300, 210),
        (26, 90, 12),
    ];
    for (i, reason, _) in breaks {
        admin.start_break("acme", &id(i), reason).await.unwrap();
    }
    for (n, (i, seconds, _)) in wraps.iter().enumerate() {
        let request = WrapRequest {
            call_id: format!("c-{}", 48210 + n * 7),
            customer_number: format!("+1555010{n}"),
            seconds: (*seconds > 0).then_some(*seconds),
        };
        admin.start_wrap_up("acme", &id(*i), request).await.unwrap();
    }
    drop(service);
    let mut conn = sqlx::SqliteConnection::connect(&db.url()).await.unwrap();
    for (i, _, ago) in breaks {
        let open_break = "UPDATE breaks SET started_at = started_at - ?1 WHERE ended_at IS NULL \
                          AND agent_pk = (SELECT id FROM agents WHERE agent_id = ?2)";
        update_agent(&mut conn, open_break, ago, &id(i)).await;
    }
    for (i, _, ago) in wraps {
        let open_wrap = "UPDATE wrap_ups SET started_at = started_at - ?1, ends_at = ends_at - ?1 \
             WHERE ended_at IS NULL AND agent_pk = (SELECT id FROM agents WHERE agent_id = ?2)";
        update_agent(&mut conn, open_wrap, ago, &id(i)).await;
    }
    let now = now_unix();
    for (i, mic, ago) in heard {
        let at = now - ago;
        sqlx::query(
            "UPDATE agents SET mic_perm = ?1, last_ping_at = CASE WHEN ?1 IS NULL THEN NULL ELSE ?2 END \
             WHERE agent_id = ?3",
        )
        .bind(mic)
        .bind(at)
        .bind(id(i))
        .execute(&mut conn)
        .await
        .unwrap();
        let session = "UPDATE agent_sessions SET last_seen_at = ?1 WHERE ended_at IS NULL \
                       AND agent_pk = (SELECT id FROM agents WHERE agent_id = ?2)";
        update_agent(&mut conn, session, at, &id(i)).await;
    }
    Floor { token }
}

/// Runs one of `seed_floor`'s SQLite updates: `?1` is a time (or seconds), `?2` the agent id.
async fn update_agent(conn: &mut sqlx::SqliteConnection, sql: &str, time: i64, agent_id: &str) {
    sqlx::query(sql)
        .bind(time)
        .bind(agent_id)
        .execute(conn)
        .await
        .unwrap();
}

/// 1,000 agents and 50 changes a second: the board keeps drawing frames, keeps its rows (updated
/// in place, never rebuilt) and ends up showing exactly what the API says.
pub async fn keeps_up_with_1000_agents_and_50_changes_a_second() {
    const AGENTS: usize = 1000;
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let Some(browser) = Browser::start().await else {
        return;
    };
    let service = operator_on(&db).await;
    let admin = Operator { service: &service };
    admin.create_account("acme", "").await.unwrap();
    let token = admin.create_token("acme").await.unwrap();
    let id = |i: usize| format!("a{i:04}");
    for i in 0..AGENTS {
        let name = format!("Agent {i}");
        admin
            .create_agent("acme", named(&id(i), &name))
            .await
            .unwrap();
    }
    drop(service);
    let server = ServerProcess::start(&db, &[]).await;
    // Sorted by state: each change moves its row.
    let (rows, timeout) = (AGENTS as u64, Duration::from_secs(15));
    browser
        .open_sorted_by_state(&server, &token, "1,000 rows", rows, timeout)
        .await;
    // Mark the rows, and time the frames and long tasks from here on.
    browser
        .js(
            "for (const tr of document.querySelectorAll('#rows tr')) tr.__kept = true;\
             window.__gaps = []; window.__long = [];\
             let last = performance.now();\
             const f = (t) => { __gaps.push(t - last); last = t; requestAnimationFrame(f); };\
             requestAnimationFrame(f);\
             new PerformanceObserver((l) => { for (const e of l.getEntries()) __long.push(e.duration); })\
               .observe({ type: 'longtask' });\
             return null;",
            vec![],
        )
        .await;

    // 50 changes a second for 4 s: breaks started on some agents, ended on others.
    let started = Instant::now();
    let mut on_break = vec![false; AGENTS];
    let mut pending = Vec::new();
    for n in 0..200usize {
        // 150 agents: the first 150 changes start their breaks, the last 50 end some again.
        let i = (n * 37 % 150) * 6;
        let (method, path, body) = if on_break[i] {
            (
                Method::DELETE,
                format!("/v1/agents/{}/break", id(i)),
                Value::Null,
            )
        } else {
            let reason = ["break", "lunch", "meeting"][n % 3];
            (
                Method::POST,
                format!("/v1/agents/{}/break", id(i)),
                json!({"reason": reason}),
            )
        };
        on_break[i] = !on_break[i];
        let (http, base, token) = (server.client.clone(), server.base.clone(), token.clone());
        pending.push(tokio::spawn(async move {
            let mut req = http
                .request(method.clone(), format!("{base}{path}"))
                .bearer_auth(token);
            if method == Method::POST {
                req = req.json(&body);
            }
            let status = req.send().await.unwrap().status().as_u16();
            assert!(status == 200 || status == 201, "{path}: HTTP {status}");
        }));
        let due = Duration::from_millis(20 * (n as u64 + 1));
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        // Each agent's changes stay in order: wait for the previous one of the same agent.
        if pending.len() >= 8 {
            pending.remove(0).await.unwrap();
        }
    }
    for p in pending {
        p.await.unwrap();
    }

    // What the API says, the board shows.
    let want: serde_json::Map<String, Value> = server
        .roster(&token)
        .await
        .iter()
        .map(|e| {
            (
                e["agentId"].as_str().unwrap().to_owned(),
                e["state"].clone(),
            )
        })
        .collect();
    assert_eq!(
        want.values().filter(|s| *s == "on_break").count(),
        on_break.iter().filter(|b| **b).count()
    );
    let want = Value::Object(want);
    until("the board to show the API's states", LIVE, || async {
        let shown = browser
            .js(
                "const m = {}; for (const tr of document.querySelectorAll('#rows tr')) \
                 m[tr.dataset.agentId] = tr.dataset.state; return m;",
                vec![],
            )
            .await;
        (shown == want).then_some(())
    })
    .await;
    let stats = browser
        .js(
            "const g = __gaps.slice(1).sort((a, b) => a - b);\
             const rows = [...document.querySelectorAll('#rows tr')];\
             const kept = rows.every((tr) => tr.__kept);\
             const rank = { on_break: 0, wrap_up: 1, available: 2, offline: 3, disabled: 4 };\
             const sorted = rows.every((tr, i) => i === 0 || (() => { const a = rows[i - 1].dataset, b = tr.dataset;\
               return rank[a.state] < rank[b.state] || (a.state === b.state && a.agentId < b.agentId); })());\
             return { frames: g.length, p50: g[g.length >> 1], p95: g[Math.floor(g.length * 0.95)],\
                      max: g[g.length - 1], longest: Math.max(0, ...__long), kept, sorted };",
            vec![],
        )
        .await;
    eprintln!("1,000 agents, 50 changes/s: frames {stats}");
    assert_eq!(
        stats["kept"], true,
        "rows were rebuilt, not updated in place"
    );
    let ms = |k: &str| stats[k].as_f64().unwrap();
    // Generous bounds for a shared CI machine; a board that re-renders everything misses them.
    assert!(ms("frames") > 60.0, "too few frames drawn in 4 s: {stats}");
    assert!(ms("p50") < 50.0, "frames too slow: {stats}");
    assert!(ms("p95") < 100.0, "frames too slow: {stats}");
    assert!(ms("longest") < 250.0, "the page was blocked: {stats}");
    let urls = browser.requested_urls(&server.base).await;
    assert_only_from(&server, &urls);
    browser.close().await;
}
