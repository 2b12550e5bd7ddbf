use super::*;

fn lunch(limit: Option<i64>) -> Change {
    Change::BreakStart {
        reason_code: "lunch".into(),
        limit,
    }
}

fn login(session: i64, expires_at: i64) -> Change {
    Change::Login {
        session,
        expires_at,
    }
}

#[test]
fn a_day_adds_up_with_the_roster_precedence() {
    let changes = vec![
        (100, login(1, 10_000)),
        (200, Change::CallStart),
        (300, Change::CallEnd),
        (300, Change::WrapStart { ends_at: Some(330) }),
        // A break during wrap-up: the break counts.
        (310, lunch(Some(50))),
        (400, Change::BreakEnd),
        (500, Change::Logout { session: None }),
    ];
    let tallies = walk(Open::default(), &changes, &[0, 1000]);
    let t = &tallies[0];
    assert_eq!(
        t.seconds,
        StateSeconds {
            available: 100 + 100,
            on_call: 100,
            wrap_up: 10,
            on_break: 90,
            logged_out: 100 + 500,
        }
    );
    assert_eq!(t.break_seconds["lunch"], 90);
    assert_eq!(t.over_limit_seconds, 40);
    assert_eq!(t.longest_break, 90);
    assert_eq!(
        (t.counts.breaks, t.counts.calls, t.counts.wrap_ups),
        (1, 1, 1)
    );
    assert_eq!(t.counts.over_limit_breaks, 1);
    assert_eq!(t.occupancy(), Some(0.3548));
}

#[test]
fn what_was_open_is_clipped_and_runs_out() {
    let open = Open {
        sessions: vec![(1, 150)],
        on_break: Some(OpenBreak {
            reason_code: "break".into(),
            limit: Some(60),
            started_at: -100,
        }),
        on_call: false,
        wrap: None,
    };
    let changes = vec![(50, Change::BreakEnd)];
    let tallies = walk(open, &changes, &[0, 100, 200]);
    assert_eq!(tallies[0].seconds.on_break, 50);
    assert_eq!(tallies[0].over_limit_seconds, 50, "over since -40");
    assert_eq!(tallies[0].counts.over_limit_breaks, 0, "crossed before");
    assert_eq!(tallies[0].seconds.available, 50);
    assert_eq!(tallies[1].seconds.available, 50, "expires at 150");
    assert_eq!(tallies[1].seconds.logged_out, 50);
    assert_eq!(tallies[1].occupancy(), Some(0.0));
}

#[test]
fn a_break_across_buckets_is_split_and_its_longest_stretch_per_bucket() {
    let changes = vec![(80, lunch(Some(30))), (150, Change::BreakEnd)];
    let tallies = walk(Open::default(), &changes, &[0, 100, 200]);
    assert_eq!(tallies[0].longest_break, 20);
    assert_eq!(tallies[1].longest_break, 50);
    assert_eq!(tallies[0].counts.breaks, 1);
    assert_eq!(tallies[1].counts.breaks, 0);
    assert_eq!(tallies[1].counts.over_limit_breaks, 1, "crossed at 110");
    assert_eq!(tallies[1].over_limit_seconds, 40);
    assert_eq!(tallies[0].occupancy(), None);
}

#[test]
fn a_disable_ends_everything_and_events_read_from_their_details() {
    let detail = |v: &str| serde_json::from_str::<serde_json::Value>(v).unwrap();
    assert_eq!(
        Change::read("login", &detail(r#"{"session":3,"expiresAt":900}"#)),
        Some(login(3, 900))
    );
    assert_eq!(
        Change::read("logout", &detail(r#"{"sessions":2}"#)),
        Some(Change::Logout { session: None })
    );
    assert_eq!(Change::read("mic.change", &detail("{}")), None);
    let changes = vec![
        (0, login(1, 1000)),
        (0, Change::CallStart),
        (10, Change::Disabled),
    ];
    let t = &walk(Open::default(), &changes, &[0, 100])[0];
    assert_eq!((t.seconds.on_call, t.seconds.logged_out), (10, 90));
}
