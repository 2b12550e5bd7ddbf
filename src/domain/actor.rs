//! Who caused a change, and when: the actor every history event records.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Who caused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The agent, through this login session.
    Session(i64),
    /// The account's API token of this id (telephony backend, supervisor tools).
    Token(i64),
    /// The operator CLI.
    Cli,
    /// The server itself (a timed wrap-up running out).
    System,
}

/// A change's who and when: the actor, and the server's clock when the request was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Act {
    pub actor: Actor,
    pub now: i64,
}

impl Act {
    /// The operator CLI, now.
    pub fn cli() -> Act {
        Act {
            actor: Actor::Cli,
            now: super::now_unix(),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Session(id) => write!(f, "session:{id}"),
            Actor::Token(id) => write!(f, "token:{id}"),
            Actor::Cli => f.write_str("cli"),
            Actor::System => f.write_str("system"),
        }
    }
}

impl FromStr for Actor {
    type Err = super::UnknownName;

    fn from_str(s: &str) -> Result<Actor, Self::Err> {
        let id = |rest: &str| rest.parse::<i64>().ok();
        let actor = match s.split_once(':') {
            None if s == "cli" => Some(Actor::Cli),
            None if s == "system" => Some(Actor::System),
            Some(("session", rest)) => id(rest).map(Actor::Session),
            Some(("token", rest)) => id(rest).map(Actor::Token),
            _ => None,
        };
        actor.ok_or_else(|| super::UnknownName {
            what: "actor",
            value: s.to_owned(),
        })
    }
}

/// As its text: `session:ID`, `token:ID`, `cli` or `system`.
impl Serialize for Actor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_read_back_as_written() {
        for actor in [
            Actor::Session(7),
            Actor::Token(12),
            Actor::Cli,
            Actor::System,
        ] {
            assert_eq!(actor.to_string().parse::<Actor>(), Ok(actor));
        }
        for bad in ["", "session:", "token:x", "session", "cli:1", "root"] {
            assert!(bad.parse::<Actor>().is_err(), "{bad}");
        }
    }
}
