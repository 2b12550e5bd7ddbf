//! The connection settings, and the open-file limit they need.

use std::time::Duration;

use crate::config::Config;

/// The connection settings, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub keep_alive_timeout: Duration,
    pub max_connections: u32,
    pub http2_max_concurrent_streams: u32,
}

impl From<&Config> for Limits {
    fn from(config: &Config) -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(config.header_read_timeout_secs),
            keep_alive_timeout: Duration::from_secs(config.keep_alive_timeout_secs),
            max_connections: config.max_connections,
            http2_max_concurrent_streams: config.http2_max_concurrent_streams,
        }
    }
}

/// Raises this process's open-file soft limit to its hard limit (each connection is a file),
/// and logs it; warns when that is still too few for `max_connections`.
pub fn raise_open_file_limit(max_connections: u32) {
    let before = rlimit::Resource::NOFILE.get().map_or(0, |(soft, _)| soft);
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => {
            // Room beyond the connections for the database pool, the log and the listener.
            let needed = u64::from(max_connections) + 100;
            if limit < needed {
                tracing::warn!(
                    open_files = limit,
                    max_connections,
                    "the open-file limit is below MAX_CONNECTIONS: accepting fails before the limit (raise `ulimit -Hn`)"
                );
            } else {
                tracing::info!(open_files = limit, was = before, "open-file limit");
            }
        }
        Err(err) => tracing::warn!(error = %err, "cannot raise the open-file limit"),
    }
}
