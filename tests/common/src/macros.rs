//! Tests declared once and run on both databases.

/// Declares tests that each run on both databases: `async fn name(app: TestApp)` bodies
/// become `sqlite::name` and `postgres::name` (PostgreSQL skipped loudly where unreachable,
/// outside CI).
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::TestApp::spawn($crate::Backend::Sqlite).await.unwrap();
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::TestApp::spawn($crate::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

/// Tests that start their own server with a configuration of their own:
/// `async fn name(backend: Backend)`, run once per database.
#[macro_export]
macro_rules! on_both_databases_with_own_config {
    ($($name:ident),* $(,)?) => {
        mod sqlite_own_config {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres_own_config {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Postgres).await;
                }
            )*
        }
    };
}
