//! The live view's unit tests.
use super::*;
use crate::domain::WrapMode;
use crate::live::Change;

fn state(agent_pk: i64) -> LiveAgent {
    LiveAgent {
        agent: Arc::new(Agent {
            id: agent_pk,
            account_pk: 1,
            agent_id: agent_pk.to_string(),
            name: String::new(),
            wrap_seconds: None,
            wrap_mode: None,
            disabled: false,
        }),
        open_break: None,
        wrap: None,
        mic_perm: None,
    }
}

fn account() -> Account {
    Account {
        id: 1,
        user_id: "u".into(),
        name: String::new(),
        suspended: false,
        wrap_seconds: 60,
        wrap_mode: WrapMode::Timed,
        time_zone: "UTC".into(),
    }
}

fn session(agent_pk: i64) -> Session {
    Session {
        id: agent_pk * 10,
        agent_pk,
        last_seen_at: 0,
        expires_at: 100,
        ended_at: None,
    }
}

fn agent_change(agent_pk: i64) -> Change {
    Change {
        account_pk: 1,
        agent_pk: Some(agent_pk),
        event: None,
        kind: None,
    }
}

#[test]
fn answers_nothing_until_the_feed_is_live() {
    let view = View::default();
    assert!(view.generation().is_none());
    view.restart();
    let read = view.generation().unwrap();
    view.install(read, Some((7, &session(7))), state(7), account());
    assert!(view.session(&7).is_some());
    view.stop();
    assert!(view.session(&7).is_none());
    assert!(view.generation().is_none());
}

#[test]
fn a_load_that_raced_a_change_is_not_kept() {
    let view = View::default();
    view.restart();
    let before = view.generation().unwrap();
    view.changed(&agent_change(7)); // committed while the load was reading
    view.install(before, Some((7, &session(7))), state(7), account());
    assert!(view.session(&7).is_none());
    assert!(view.agent(7).is_none());
    // Another agent's change does not spoil this one's load.
    let after = view.generation().unwrap();
    view.changed(&agent_change(8));
    view.install(after, None, state(7), account());
    assert!(view.agent(7).is_some());
}

#[test]
fn a_change_forgets_the_agent_and_its_sessions_and_an_account_change_all_its_agents() {
    let view = View::default();
    view.restart();
    let read = view.generation().unwrap();
    view.install(read, Some((7, &session(7))), state(7), account());
    view.install(read, Some((8, &session(8))), state(8), account());
    view.changed(&agent_change(7));
    assert!(view.session(&7).is_none());
    assert!(view.session(&8).is_some());
    view.changed(&Change {
        account_pk: 1,
        agent_pk: None,
        event: None,
        kind: None,
    });
    assert!(view.session(&8).is_none());
    // Reloaded, a session counts again.
    let read = view.generation().unwrap();
    view.install(read, Some((8, &session(8))), state(8), account());
    assert!(view.session(&8).is_some());
}

#[test]
fn a_presence_event_leaves_the_agent_in_the_view_and_a_break_event_does_not() {
    use crate::domain::EventKind;
    let view = View::default();
    view.restart();
    let read = view.generation().unwrap();
    view.install(read, Some((7, &session(7))), state(7), account());
    let event = |kind| Change {
        event: Some(1),
        kind: Some(kind),
        ..agent_change(7)
    };
    for kind in [
        EventKind::PresenceStale,
        EventKind::PresenceOffline,
        EventKind::PresenceOnline,
        EventKind::TagCreate,
    ] {
        view.changed(&event(kind));
        assert!(view.session(&7).is_some(), "{kind} forgot the agent");
    }
    // Nor an account's webhook disabled (an event of the account, no agent).
    view.changed(&Change {
        agent_pk: None,
        ..event(EventKind::WebhookDisabled)
    });
    assert!(view.session(&7).is_some());
    view.changed(&event(EventKind::BreakStart));
    assert!(view.session(&7).is_none());
}

#[test]
fn a_restart_refuses_loads_from_before_it() {
    let view = View::default();
    view.restart();
    let before = view.generation().unwrap();
    view.stop();
    view.restart();
    view.install(before, None, state(7), account());
    assert!(view.agent(7).is_none());
}

fn started(at: i64) -> AgentUpdate {
    AgentUpdate::BreakStarted(Break {
        reason_code: "lunch".into(),
        reason: "Lunch".into(),
        limit_seconds: None,
        started_at: at,
        ended_at: None,
    })
}

#[test]
fn an_update_keeps_the_agent_and_its_sessions_with_the_change_applied() {
    let view = View::default();
    view.restart();
    let read = view.generation().unwrap();
    view.install(read, Some((7, &session(7))), state(7), account());
    let before = view.generation();
    view.updated(7, before, &started(5));
    let (_, state, _) = view.session(&7).expect("the session still counts");
    assert_eq!(state.open_break.as_ref().unwrap().started_at, 5);
    view.updated(7, view.generation(), &AgentUpdate::BreakEnded);
    assert!(view.agent(7).unwrap().open_break.is_none());
    // A load that read before the update does not install over it.
    view.install(read, None, state_on_break(7), account());
    assert!(view.agent(7).unwrap().open_break.is_none());
}

#[test]
fn an_update_forgets_instead_when_the_agent_changed_since_the_write_began() {
    let view = View::default();
    view.restart();
    let read = view.generation().unwrap();
    view.install(read, Some((7, &session(7))), state(7), account());
    let before = view.generation();
    // Another write's change, forgotten (and reloaded) before this one's update.
    view.changed(&agent_change(7));
    let reread = view.generation().unwrap();
    view.install(reread, Some((7, &session(7))), state(7), account());
    view.updated(7, before, &started(5));
    assert!(view.agent(7).is_none());
    assert!(view.session(&7).is_none());
    // Nor does an update apply to a state the view did not hold, or while it is off.
    view.updated(8, view.generation(), &started(5));
    assert!(view.agent(8).is_none());
    let read = view.generation().unwrap();
    view.install(read, None, state(9), account());
    view.updated(9, None, &started(5));
    assert!(view.agent(9).is_none());
}

fn state_on_break(agent_pk: i64) -> LiveAgent {
    let mut s = state(agent_pk);
    let AgentUpdate::BreakStarted(b) = started(1) else {
        unreachable!()
    };
    s.open_break = Some(Box::new(b));
    s
}
