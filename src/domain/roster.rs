//! What a supervisor sees of an agent at a glance.

use super::text_enum::text_enum;

text_enum! {
    /// An agent's state, the most telling first: disabled, then on break, then in wrap-up,
    /// then logged in (available), else offline.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum AgentState ("agent state") {
        Disabled = "disabled", OnBreak = "on_break", WrapUp = "wrap_up",
        Available = "available", Offline = "offline",
    }
}

impl AgentState {
    pub fn of(disabled: bool, on_break: bool, in_wrap_up: bool, logged_in: bool) -> AgentState {
        if disabled {
            AgentState::Disabled
        } else if on_break {
            AgentState::OnBreak
        } else if in_wrap_up {
            AgentState::WrapUp
        } else if logged_in {
            AgentState::Available
        } else {
            AgentState::Offline
        }
    }
}
