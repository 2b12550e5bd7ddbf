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

/// A random history: every kind of change, at increasing times in `[0, 1000)`, some at the
/// same second, with limits, expiries and wrap-up ends that fall inside it.
fn random_history(rng: &mut rand::rngs::StdRng) -> Vec<(i64, Change)> {
    use rand::Rng;
    let (mut t, mut out) = (0, Vec::new());
    while t < 1000 {
        let change = match rng.random_range(0..10) {
            0 | 1 => login(rng.random_range(1..4), t + rng.random_range(1..400)),
            2 => Change::Logout {
                session: rng.random_bool(0.5).then(|| rng.random_range(1..4)),
            },
            3 | 4 => Change::BreakStart {
                reason_code: ["lunch", "break"][rng.random_range(0..2)].into(),
                limit: rng.random_bool(0.6).then(|| rng.random_range(0..120)),
            },
            5 => Change::BreakEnd,
            6 => Change::WrapStart {
                ends_at: rng.random_bool(0.7).then(|| t + rng.random_range(0..200)),
            },
            7 => [Change::WrapEnd, Change::CallEnd][rng.random_range(0..2)].clone(),
            8 => Change::CallStart,
            _ => Change::Disabled,
        };
        out.push((t, change));
        t += rng.random_range(0..60);
    }
    out
}

/// The roll-up's premise: a walk over `[a, c)` answers what walks over `[a, b)` and
/// `[b, c)` answer, composed with [`Tally::then`], for every split `b` (the second walk
/// starting from what was open at `b`, as the report's store reads it).
#[test]
fn adjacent_windows_compose_into_one_walk() {
    use rand::{Rng, SeedableRng};
    for seed in 0..60 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let changes = random_history(&mut rng);
        let (a, c) = (rng.random_range(0..300), rng.random_range(700..1100));
        let open_at = |t: i64| walk_on(Open::default(), &changes, &[-1, t]).1;
        let whole = walk(open_at(a), &changes, &[a, c]).remove(0);
        for b in a + 1..c {
            let first = walk(open_at(a), &changes, &[a, b]).remove(0);
            let second = walk(open_at(b), &changes, &[b, c]).remove(0);
            assert_eq!(first.then(&second), whole, "seed {seed}, [{a}, {b}, {c})");
        }
        // Three windows, composed either way round.
        let b1 = rng.random_range(a + 1..c - 1);
        let b2 = rng.random_range(b1 + 1..c);
        let parts = walk(open_at(a), &changes, &[a, b1, b2, c]);
        let left = parts[0].clone().then(&parts[1]).then(&parts[2]);
        let right = parts[0].clone().then(&parts[1].clone().then(&parts[2]));
        assert_eq!((&left, &right), (&whole, &whole), "seed {seed}");
    }
}
