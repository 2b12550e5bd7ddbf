//! The test's database: a fresh one per test, on SQLite or PostgreSQL, and SQL run on it behind
//! the server's back.

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Connection, FromRow};

use crate::skip;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where a test's database lives; dropping it removes the database.
pub enum TestDb {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self {
            let (url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime; a thread of its own may block.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&url).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut conn)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

fn postgres_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

impl TestDb {
    /// A fresh database, or None (PostgreSQL unreachable outside CI: skipped loudly).
    pub async fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => Some(TestDb::Sqlite(tempfile::tempdir().unwrap())),
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let mut conn = match sqlx::PgConnection::connect(&admin_url).await {
                    Ok(conn) => conn,
                    Err(err) => {
                        skip(
                            &format!("PostgreSQL is unreachable at TEST_DATABASE_URL ({err})"),
                            "Start PostgreSQL or set TEST_DATABASE_URL",
                        );
                        return None;
                    }
                };
                let name = format!("agentprofile_test_{}", &crate::new_ssid()[..16]);
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                Some(TestDb::Postgres { admin_url, name })
            }
        }
    }

    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite(dir) => format!("sqlite://{}", dir.path().join("test.db").display()),
            TestDb::Postgres { admin_url, name } => {
                let mut url = url::Url::parse(admin_url).expect("TEST_DATABASE_URL is a URL");
                url.set_path(name);
                url.to_string()
            }
        }
    }
}

/// `$body` with `$conn` a connection of the test's own to `$db`, whichever database it is on
/// (the body is compiled once per kind of connection).
macro_rules! with_connection {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db {
            TestDb::Sqlite(_) => {
                let mut $conn = sqlx::SqliteConnection::connect(&$db.url()).await.unwrap();
                $body
            }
            TestDb::Postgres { .. } => {
                let mut $conn = sqlx::PgConnection::connect(&$db.url()).await.unwrap();
                $body
            }
        }
    };
}

/// The first row of `sql` (with `$1` bound to `arg`, if any), read behind the server's back;
/// None for no row.
pub async fn sql_row<T>(db: &TestDb, sql: &str, arg: Option<&str>) -> Option<T>
where
    T: Send + Unpin + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow>,
{
    with_connection!(db, |conn| {
        let query = sqlx::query_as(sql);
        let query = if let Some(arg) = arg {
            query.bind(arg)
        } else {
            query
        };
        query.fetch_optional(&mut conn).await.unwrap()
    })
}

/// The first column of the first row of `sql`, read behind the server's back, as text
/// (`CAST(… AS TEXT)` in the query); None for no row or NULL.
pub async fn sql_text(db: &TestDb, sql: &str) -> Option<String> {
    let row: Option<(Option<String>,)> = sql_row(db, sql, None).await;
    row.and_then(|(value,)| value)
}

/// Runs SQL (one or more statements) on `db` behind the server's back.
pub async fn sql_exec(db: &TestDb, statements: &str) {
    with_connection!(db, |conn| {
        sqlx::raw_sql(statements).execute(&mut conn).await.unwrap();
    })
}
