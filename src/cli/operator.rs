//! The CLI's adapter to the service: operator actions by public ids (`USER_ID`, `AGENT_ID`),
//! each refusal explained in words that name what was refused. The CLI is the actor. The
//! first-run demo uses it too.

use crate::domain::{
    Account, Act, Agent, AgentUpdate, Break, BreakReason, Call, CallOutcome, EndedCall, Event,
    EventQuery, NewAgent, NewReason, ReasonUpdate, ReportRow, Scope, Token, WrapMode, WrapUp,
    now_unix,
};
use crate::service::{
    CallRequest, EndedBy, ReportRequest, Service, ServiceError, TokenRequest, WrapRequest,
};

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("account {0:?} already exists")]
    AccountExists(String),
    #[error("no account {0:?}")]
    NoAccount(String),
    #[error("agent {1:?} already exists in account {0:?}")]
    AgentExists(String, String),
    #[error("no agent {1:?} in account {0:?}")]
    NoAgent(String, String),
    #[error("no token {1} in account {0:?}")]
    NoToken(String, i64),
    #[error("break reason {0:?} already exists")]
    ReasonExists(String),
    #[error("no break reason {0:?}")]
    NoReason(String),
    #[error("ssid already exists")]
    SsidExists,
    /// A refusal of a change to this agent: `agent "7" is already on break`.
    #[error("agent {0:?} {1}")]
    Agent(String, ServiceError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

type Result<T> = std::result::Result<T, OperatorError>;

/// Which events `history` lists: `from <= at < to`, past the event id `after` in the listing's
/// order (0: from the start), newest or oldest first.
#[derive(Debug, Clone, Copy)]
pub struct HistoryWindow {
    pub from: i64,
    pub to: i64,
    pub after: i64,
    pub limit: i64,
    pub newest_first: bool,
}

pub struct Operator<'a> {
    pub service: &'a Service,
}

/// Names the refusal: `NotFound`/`AlreadyExists` become `named`, state refusals name the agent.
fn about(agent: &Agent, err: ServiceError) -> OperatorError {
    match err {
        ServiceError::Missing(_)
        | ServiceError::OutOfRange(_)
        | ServiceError::BadSsid
        | ServiceError::BadText
        | ServiceError::SessionEnded
        | ServiceError::Down
        | ServiceError::Unavailable(_)
        | ServiceError::Storage(_) => err.into(),
        other => OperatorError::Agent(agent.agent_id.clone(), other),
    }
}

fn exists_as(err: ServiceError, named: impl FnOnce() -> OperatorError) -> OperatorError {
    match err {
        ServiceError::AlreadyExists => named(),
        other => other.into(),
    }
}

impl Operator<'_> {
    pub async fn create_account(&self, user_id: &str, name: &str) -> Result<Account> {
        let account = self.service.create_account(user_id, name).await;
        account.map_err(|e| exists_as(e, || OperatorError::AccountExists(user_id.trim().into())))
    }

    pub async fn account(&self, user_id: &str) -> Result<Account> {
        match self.service.account(user_id).await {
            Err(ServiceError::NotFound) => Err(OperatorError::NoAccount(user_id.to_owned())),
            other => Ok(other?),
        }
    }

    pub async fn set_suspended(&self, user_id: &str, suspended: bool) -> Result<Account> {
        let account = self.account(user_id).await?;
        Ok(self.service.set_suspended(&account, suspended).await?)
    }

    pub async fn set_wrap_policy(
        &self,
        user_id: &str,
        seconds: Option<i64>,
        mode: Option<WrapMode>,
    ) -> Result<Account> {
        let account = self.account(user_id).await?;
        Ok(self
            .service
            .set_wrap_policy(&account, seconds, mode)
            .await?)
    }

    /// Returns a new `admin` token that does not expire; only its hash is kept.
    pub async fn create_token(&self, user_id: &str) -> Result<String> {
        let request = TokenRequest {
            scope: Scope::Admin,
            label: String::new(),
            expires_in: None,
        };
        Ok(self.create_scoped_token(user_id, &request).await?.0)
    }

    /// Returns the new token (only its hash is kept) and what is listed of it.
    pub async fn create_scoped_token(
        &self,
        user_id: &str,
        request: &TokenRequest,
    ) -> Result<(String, Token)> {
        let account = self.account(user_id).await?;
        Ok(self.service.create_token(&account, request).await?)
    }

    pub async fn tokens(&self, user_id: &str) -> Result<Vec<Token>> {
        let account = self.account(user_id).await?;
        Ok(self.service.tokens(&account).await?)
    }

    pub async fn revoke_token(&self, user_id: &str, token_id: i64) -> Result<Token> {
        let account = self.account(user_id).await?;
        match self.service.revoke_token(&account, token_id).await {
            Err(ServiceError::NotFound) => {
                Err(OperatorError::NoToken(user_id.to_owned(), token_id))
            }
            other => Ok(other?),
        }
    }

    pub async fn create_agent(&self, user_id: &str, new: NewAgent) -> Result<(Account, Agent)> {
        let account = self.account(user_id).await?;
        let agent_id = new.agent_id.trim().to_owned();
        match self.service.create_agent(&account, new).await {
            Ok(agent) => Ok((account, agent)),
            Err(e) => Err(exists_as(e, || {
                OperatorError::AgentExists(user_id.to_owned(), agent_id)
            })),
        }
    }

    /// Sets the account's time zone (an IANA name, or `UTC`).
    pub async fn set_time_zone(&self, user_id: &str, zone: &str) -> Result<Account> {
        let account = self.account(user_id).await?;
        Ok(self.service.set_time_zone(&account, zone).await?)
    }

    /// A time-in-state report of the account (each named agent must be one of its own).
    pub async fn report(&self, user_id: &str, request: &ReportRequest) -> Result<Vec<ReportRow>> {
        let account = self.account(user_id).await?;
        for agent_id in &request.agent_ids {
            self.agent(user_id, agent_id).await?;
        }
        Ok(self.service.report(&account, request, now_unix()).await?)
    }

    pub async fn agent(&self, user_id: &str, agent_id: &str) -> Result<(Account, Agent)> {
        let account = self.account(user_id).await?;
        match self.service.agent(&account, agent_id).await {
            Ok(agent) => Ok((account, agent)),
            Err(ServiceError::NotFound) => Err(OperatorError::NoAgent(
                user_id.to_owned(),
                agent_id.to_owned(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn update_agent(
        &self,
        user_id: &str,
        agent_id: &str,
        update: AgentUpdate,
    ) -> Result<Agent> {
        let update =
            async |_: &Account, agent: &Agent| self.service.update_agent(agent, update).await;
        self.change((user_id, agent_id), update).await
    }

    pub async fn set_agent_disabled(
        &self,
        user_id: &str,
        agent_id: &str,
        disabled: bool,
    ) -> Result<Agent> {
        let set = async |_: &Account, agent: &Agent| {
            let act = Act::cli();
            self.service.set_agent_disabled(agent, disabled, act).await
        };
        self.change((user_id, agent_id), set).await
    }

    /// Runs a change of one agent; its refusal names the agent.
    async fn change<T>(
        &self,
        (user_id, agent_id): (&str, &str),
        change: impl AsyncFnOnce(&Account, &Agent) -> crate::service::Result<T>,
    ) -> Result<T> {
        let (account, agent) = self.agent(user_id, agent_id).await?;
        change(&account, &agent).await.map_err(|e| about(&agent, e))
    }

    /// Logs the agent in; returns the new ssid (only its hash is kept).
    pub async fn create_session(&self, user_id: &str, agent_id: &str) -> Result<String> {
        self.register_session(user_id, agent_id, None).await
    }

    /// Logs the agent in with this ssid (an existing login service's), or a new one of ours
    /// (None); returns it. One already registered is refused as `ssid already exists`.
    pub async fn register_session(
        &self,
        user_id: &str,
        agent_id: &str,
        ssid: Option<&str>,
    ) -> Result<String> {
        let (_, agent) = self.agent(user_id, agent_id).await?;
        match self.service.login_with(&agent, ssid, Act::cli()).await {
            Ok((ssid, _)) => Ok(ssid),
            Err(ServiceError::AlreadyExists) => Err(OperatorError::SsidExists),
            Err(e) => Err(about(&agent, e)),
        }
    }

    /// Logs every session of the agent out; returns how many were open.
    pub async fn logout(&self, user_id: &str, agent_id: &str) -> Result<u64> {
        let logout =
            async |_: &Account, agent: &Agent| self.service.logout_agent(agent, Act::cli()).await;
        self.change((user_id, agent_id), logout).await
    }

    pub async fn start_break(&self, user_id: &str, agent_id: &str, reason: &str) -> Result<Break> {
        let start = async |_: &Account, agent: &Agent| {
            self.service.start_break(agent, reason, Act::cli()).await
        };
        self.change((user_id, agent_id), start).await
    }

    pub async fn end_break(&self, user_id: &str, agent_id: &str) -> Result<Break> {
        let end =
            async |_: &Account, agent: &Agent| self.service.end_break(agent, Act::cli()).await;
        self.change((user_id, agent_id), end).await
    }

    pub async fn start_wrap_up(
        &self,
        user_id: &str,
        agent_id: &str,
        request: WrapRequest,
    ) -> Result<WrapUp> {
        let start = async |account: &Account, agent: &Agent| {
            let act = Act::cli();
            self.service
                .start_wrap_up(account, agent, request, act)
                .await
        };
        self.change((user_id, agent_id), start).await
    }

    /// Ends the agent's wrap-up; the operator may end a forced one.
    pub async fn end_wrap_up(&self, user_id: &str, agent_id: &str) -> Result<WrapUp> {
        let end = async |_: &Account, agent: &Agent| {
            let by = EndedBy::Supervisor;
            self.service.end_wrap_up(agent, by, Act::cli()).await
        };
        self.change((user_id, agent_id), end).await
    }

    pub async fn start_call(
        &self,
        user_id: &str,
        agent_id: &str,
        request: CallRequest,
    ) -> Result<Call> {
        let start = async |_: &Account, agent: &Agent| {
            self.service.start_call(agent, request, Act::cli()).await
        };
        self.change((user_id, agent_id), start).await
    }

    pub async fn end_call(
        &self,
        user_id: &str,
        agent_id: &str,
        outcome: CallOutcome,
    ) -> Result<EndedCall> {
        let end = async |account: &Account, agent: &Agent| {
            self.service
                .end_call(account, agent, outcome, Act::cli())
                .await
        };
        self.change((user_id, agent_id), end).await
    }

    pub async fn reasons(&self, user_id: &str) -> Result<Vec<BreakReason>> {
        let account = self.account(user_id).await?;
        Ok(self.service.reasons(&account).await?)
    }

    pub async fn create_reason(&self, user_id: &str, new: NewReason) -> Result<BreakReason> {
        let account = self.account(user_id).await?;
        let code = new.code.trim().to_owned();
        let created = self.service.create_reason(&account, new).await;
        created.map_err(|e| exists_as(e, || OperatorError::ReasonExists(code)))
    }

    pub async fn update_reason(
        &self,
        user_id: &str,
        code: &str,
        update: ReasonUpdate,
    ) -> Result<BreakReason> {
        let account = self.account(user_id).await?;
        match self.service.update_reason(&account, code, update).await {
            Err(ServiceError::NotFound) => Err(OperatorError::NoReason(code.to_owned())),
            other => Ok(other?),
        }
    }

    /// A page of the account's (or one agent's) history.
    pub async fn history(
        &self,
        user_id: &str,
        agent_id: Option<&str>,
        page: HistoryWindow,
    ) -> Result<Vec<Event>> {
        let account = self.account(user_id).await?;
        let agent_pk = match agent_id {
            Some(agent_id) => Some(self.agent(user_id, agent_id).await?.1.id),
            None => None,
        };
        let query = EventQuery {
            account_pk: account.id,
            agent_pk,
            from: page.from,
            to: page.to,
            after: page.after,
            limit: page.limit,
            newest_first: page.newest_first,
        };
        Ok(self.service.events(&query, now_unix()).await?)
    }
}
