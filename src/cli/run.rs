//! Runs an operator command through the [`Operator`]; what it prints on success goes to stdout.

use super::operator::{HistoryWindow, Operator};
use super::report_table::report_table;
use super::{
    AccountCommand, AgentCommand, BreakCommand, CallCommand, Command, ReasonCommand,
    SessionCommand, TokenCommand, WrapCommand,
};
use crate::domain::{AgentUpdate, CallOutcome, NewAgent, NewReason, ReasonUpdate, to_csv};
use crate::service::{CallRequest, ReportRequest, TokenRequest, WrapRequest};

/// Runs an operator command; what it prints on success goes to stdout.
pub async fn run(admin: &Operator<'_>, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve | Command::Migrate => unreachable!("handled by main"),
        Command::Webhook(command) => super::webhooks::run(admin, command).await?,
        Command::Account(AccountCommand::Create {
            user_id,
            name,
            time_zone,
        }) => {
            let account = admin.create_account(&user_id, &name).await?;
            if let Some(zone) = time_zone {
                admin.set_time_zone(&user_id, &zone).await?;
            }
            println!("created account {:?}", account.user_id);
        }
        Command::Account(AccountCommand::TimeZone { user_id, zone }) => {
            let account = admin.set_time_zone(&user_id, &zone).await?;
            println!("account {user_id:?} time zone: {}", account.time_zone);
        }
        Command::Report {
            user_id,
            from,
            to,
            agents,
            bucket,
            csv,
        } => {
            let request = ReportRequest {
                from,
                to,
                bucket,
                agent_ids: agents,
            };
            let rows = admin.report(&user_id, &request).await?;
            if csv {
                print!("{}", to_csv(&rows));
            } else {
                print!("{}", report_table(&rows));
            }
        }
        Command::RollUp => {
            let now = crate::domain::now_unix();
            let mut days = 0;
            loop {
                let sealed = admin.service.roll_up(now).await?;
                days += sealed;
                if sealed == 0 {
                    break;
                }
            }
            println!("sealed {days} days of the reports' roll-up");
        }
        Command::Account(AccountCommand::Suspend { user_id }) => {
            admin.set_suspended(&user_id, true).await?;
            println!("suspended account {user_id:?}");
        }
        Command::Account(AccountCommand::Resume { user_id }) => {
            admin.set_suspended(&user_id, false).await?;
            println!("resumed account {user_id:?}");
        }
        Command::Token(TokenCommand::Create {
            user_id,
            scope,
            label,
            expires_in,
        }) => {
            let request = TokenRequest {
                scope,
                label,
                expires_in,
            };
            println!("{}", admin.create_scoped_token(&user_id, &request).await?.0);
        }
        Command::Token(TokenCommand::List { user_id, times }) => {
            println!("id\tscope\tcreated\texpires\tlast used\trevoked\tlabel");
            for t in admin.tokens(&user_id).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.scope,
                    times.show(t.created_at),
                    times.show_opt(t.expires_at),
                    times.show_opt(t.last_used_at),
                    times.show_opt(t.revoked_at),
                    t.label
                );
            }
        }
        Command::Token(TokenCommand::Revoke { user_id, token_id }) => {
            admin.revoke_token(&user_id, token_id).await?;
            println!("revoked token {token_id} of account {user_id:?}");
        }
        Command::Account(AccountCommand::WrapPolicy {
            user_id,
            seconds,
            mode,
        }) => {
            let account = admin.set_wrap_policy(&user_id, seconds, mode).await?;
            let policy = account.wrap_policy();
            println!(
                "account {user_id:?} wrap-up: {} s, {}",
                policy.seconds, policy.mode
            );
        }
        Command::Agent(AgentCommand::Create {
            user_id,
            agent_id,
            name,
            wrap_seconds,
            wrap_mode,
        }) => {
            let new = NewAgent {
                agent_id,
                name,
                wrap_seconds,
                wrap_mode,
            };
            let (account, agent) = admin.create_agent(&user_id, new).await?;
            println!(
                "created agent {:?} in account {user_id:?} (wrap-up {} s)",
                agent.agent_id,
                agent.wrap_policy(&account).seconds
            );
        }
        Command::Agent(AgentCommand::Update {
            user_id,
            agent_id,
            name,
            wrap_seconds,
            wrap_mode,
            account_wrap,
        }) => {
            let update = AgentUpdate {
                name,
                wrap_seconds: clear_or(account_wrap, wrap_seconds),
                wrap_mode: clear_or(account_wrap, wrap_mode),
            };
            admin.update_agent(&user_id, &agent_id, update).await?;
            println!("updated agent {agent_id:?}");
        }
        Command::Agent(AgentCommand::Disable { user_id, agent_id }) => {
            admin.set_agent_disabled(&user_id, &agent_id, true).await?;
            println!("disabled agent {agent_id:?}");
        }
        Command::Agent(AgentCommand::Enable { user_id, agent_id }) => {
            admin.set_agent_disabled(&user_id, &agent_id, false).await?;
            println!("enabled agent {agent_id:?}");
        }
        Command::Session(SessionCommand::Logout { user_id, agent_id }) => {
            let ended = admin.logout(&user_id, &agent_id).await?;
            println!("logged agent {agent_id:?} out of {ended} session(s)");
        }
        Command::Reason(ReasonCommand::List { user_id }) => {
            for r in admin.reasons(&user_id).await? {
                let limit = r
                    .limit_seconds
                    .map_or("no limit".to_owned(), |l| format!("limit {l} s"));
                let active = if r.active { "" } else { " (inactive)" };
                println!("{}\t{}\t{limit}{active}", r.code, r.label);
            }
        }
        Command::Reason(ReasonCommand::Create {
            user_id,
            code,
            label,
            limit_seconds,
        }) => {
            let new = NewReason {
                code,
                label,
                limit_seconds,
            };
            let r = admin.create_reason(&user_id, new).await?;
            println!("created break reason {:?}", r.code);
        }
        Command::Reason(ReasonCommand::Update {
            user_id,
            code,
            label,
            limit_seconds,
            no_limit,
            active,
        }) => {
            let update = ReasonUpdate {
                label,
                limit_seconds: clear_or(no_limit, limit_seconds),
                active,
            };
            let r = admin.update_reason(&user_id, &code, update).await?;
            println!("updated break reason {:?}", r.code);
        }
        Command::History {
            user_id,
            agent,
            from,
            to,
            oldest_first,
            after,
            limit,
            times,
        } => {
            let page = HistoryWindow {
                from: from.unwrap_or(0),
                to: to.unwrap_or(i64::MAX),
                after,
                limit,
                newest_first: !oldest_first,
            };
            let events = admin.history(&user_id, agent.as_deref(), page).await?;
            for e in events {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    e.id,
                    times.show(e.at),
                    e.agent_id.unwrap_or_default(),
                    e.kind,
                    e.actor,
                    e.details
                );
            }
        }
        Command::Session(SessionCommand::Create {
            user_id,
            agent_id,
            ssid,
        }) => {
            let ssid = ssid.as_deref();
            let created = admin.register_session(&user_id, &agent_id, ssid).await?;
            println!("{created}");
        }
        Command::Break(BreakCommand::Start {
            user_id,
            agent_id,
            reason,
        }) => {
            let started = admin.start_break(&user_id, &agent_id, &reason).await?;
            println!("agent {agent_id:?} is on break ({})", started.reason);
        }
        Command::Break(BreakCommand::End { user_id, agent_id }) => {
            let ended = admin.end_break(&user_id, &agent_id).await?;
            println!(
                "agent {agent_id:?} is back from break ({}, {} s)",
                ended.reason,
                ended.elapsed(0)
            );
        }
        Command::Call(CallCommand::Start {
            call,
            direction,
            force,
        }) => {
            let request = CallRequest {
                call_id: call.call_id,
                customer_number: call.number,
                direction: Some(direction),
                force,
            };
            let started = admin
                .start_call(&call.user_id, &call.agent_id, request)
                .await?;
            println!("agent {:?} is on call {:?}", call.agent_id, started.call_id);
        }
        Command::Call(CallCommand::End {
            user_id,
            agent_id,
            missed,
        }) => {
            let outcome = match missed {
                true => CallOutcome::Missed,
                false => CallOutcome::Completed,
            };
            let ended = admin.end_call(&user_id, &agent_id, outcome).await?;
            let then = match &ended.wrap_up {
                Some(w) => format!("in wrap-up ({})", w.mode),
                None => "available".to_owned(),
            };
            println!(
                "agent {agent_id:?} ended call {:?} ({}, {} s): {then}",
                ended.call.call_id,
                ended.outcome,
                ended.call.duration(0)
            );
        }
        Command::Wrap(WrapCommand::Start { call, seconds }) => {
            let request = WrapRequest {
                call_id: call.call_id,
                customer_number: call.number,
                seconds,
            };
            let wrap = admin
                .start_wrap_up(&call.user_id, &call.agent_id, request)
                .await?;
            let ends = wrap
                .ends_at
                .map_or("untimed".to_owned(), |t| format!("ends at {t}"));
            println!(
                "agent {:?} is in wrap-up for call {:?} ({ends})",
                call.agent_id, wrap.call_id
            );
        }
        Command::Wrap(WrapCommand::End { user_id, agent_id }) => {
            admin.end_wrap_up(&user_id, &agent_id).await?;
            println!("agent {agent_id:?} ended wrap-up");
        }
    }
    Ok(())
}

/// A patch of an optional setting: `Some(None)` when told to clear it, else the value given.
fn clear_or<T>(clear: bool, value: Option<T>) -> Option<Option<T>> {
    if clear { Some(None) } else { value.map(Some) }
}
